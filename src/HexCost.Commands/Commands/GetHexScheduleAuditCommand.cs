using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using HexCost.Api;
using HexCost.Audit;
using HexCost.Commands.Infrastructure;
using HexCost.Infrastructure;
using HexCost.Model;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Finds the scheduled runs that waste money, and says how much each fix saves.</para>
    /// <para type="description">Streams every project (or the piped ones) with its schedules, analytics and recent runs, applies the audit
    /// rules and writes HexCost.ScheduleFinding rows, most savings first. Reads go through the account's shared limiter. A read only
    /// some rules need that fails (a project's runs or queried tables, the users) is one non-terminating error; the rest still runs.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexScheduleAudit")]
    [OutputType(typeof(ScheduleFinding))]
    public sealed class GetHexScheduleAuditCommand : HexSessionCmdlet
    {
        private ScheduleAuditor? _auditor;
        private bool _piped;
        private readonly HashSet<string> _pipedIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>Audit only these projects (binds from Get-HexProject output). Workspace rules (seats) are skipped then.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string[]? ProjectId { get; set; }

        /// <summary>The rules to apply (default: all); completed and validated from <see cref="AuditRules.All"/>.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ValidateAuditRule]
        [ArgumentCompleter(typeof(AuditRuleCompleter))]
        public string[]? Rule { get; set; }

        /// <summary>Days of run history to read (default 28).</summary>
        [Parameter]
        [ValidateRange(1, 366)]
        [WholeNumber]
        public int Days { get; set; } = 28;

        /// <summary>How often the data behind projects changes: an interval ('1d', '6h', '1w') for all, or a hashtable (or an
        /// object, as ConvertFrom-Json gives) of project id → interval (key Default for the rest). Default 1 day. Numbers are days:
        /// unquoted 1d or 1.5d (decimal numbers to PowerShell), 2 or 0.5.</summary>
        [Parameter]
        [ValidateNotNull]
        public object? DataRefreshInterval { get; set; }

        /// <summary>Runs a week (scheduled plus API) above which a project is over budget (default 20).</summary>
        [Parameter]
        [ValidateRange(0d, 100000d)]
        public double MaxRunsPerWeek { get; set; } = 20;

        /// <summary>Days without app views (projects) or logins (editors) that count as idle (default 30).</summary>
        [Parameter]
        [ValidateRange(1, 3650)]
        [WholeNumber]
        public int IdleDays { get; set; } = 30;

        /// <summary>Schedules that may fire in the same minute before it is a collision (default 5).</summary>
        [Parameter]
        [ValidateRange(1, 10000)]
        [WholeNumber]
        public int MaxConcurrentSchedules { get; set; } = 5;

        /// <summary>What an Editor seat costs a month (default 28).</summary>
        [Parameter]
        [ValidateRange(0d, 100000d)]
        public decimal EditorSeatPrice { get; set; } = 28m;

        protected override void BeginProcessing()
        {
            var options = new ScheduleAuditOptions
            {
                LookBack = TimeSpan.FromDays(Days),
                MaxRunsPerWeek = MaxRunsPerWeek,
                IdleDays = IdleDays,
                MaxConcurrentSchedules = MaxConcurrentSchedules,
                EditorSeatPrice = EditorSeatPrice,
                Rules = Rule == null ? null : new HashSet<AuditRule>(Rule.Select(r => AuditRules.Find(r)!)),
            };
            try
            {
                if (DataRefreshInterval != null) ApplyRefreshIntervals(options, DataRefreshInterval);
            }
            catch (FormatException error)
            {
                ThrowTerminatingError(HexErrors.InvalidDataRefreshInterval.Record(new ArgumentException("-DataRefreshInterval: " + error.Message, nameof(DataRefreshInterval), error), DataRefreshInterval));
                return;
            }
            _auditor = new ScheduleAuditor(Account, options, EventSink, failed => Post(() => WriteError(HexErrors.Record(failed, failed.ProjectId))));
        }

        protected override void ProcessRecord()
        {
            if (ProjectId == null) return;
            _piped = true;
            foreach (var given in ProjectId)
            {
                string id;
                try
                {
                    id = HexIds.ProjectId(given);
                }
                catch (HexException error)
                {
                    WriteError(HexErrors.Record(error, given));
                    continue;
                }
                if (!_pipedIds.Add(id)) continue;
                if (!TryAwait(Account.Client.GetProjectAsync(id, EventSink, StopToken), id, out var resource)) continue;
                TryAwait(_auditor!.AuditProjectAsync(resource, StopToken), id, out _);
            }
        }

        protected override void EndProcessing()
        {
            if (!_piped && !AuditWorkspace())
            {
                if (_auditor!.ProjectsAudited == 0) return;
                WriteWarning($"Listing the workspace's projects failed after {_auditor.ProjectsAudited} (see the error): the findings cover only those.");
            }
            EventSink.Progress(new HexProgress(ProgressIds.Paging, "Auditing Hex schedules", "Comparing projects: collisions, duplicates" + (_piped ? "" : ", editor seats")));
            TryAwait(_auditor!.CompleteAsync(workspace: !_piped, StopToken), null, out _);
            EventSink.Progress(new HexProgress(ProgressIds.Paging, "Auditing Hex schedules", $"{_auditor.ProjectsAudited} projects, {_auditor.FindingCount} findings", completed: true));
            DrainEvents();
            WarnOfUnusedRefreshIntervals();
            foreach (var finding in _auditor.SortedFindings()) WriteTypedObject(finding, "HexCost.ScheduleFinding");
        }

        /// <summary>Audits every page of the workspace; false when listing a page failed (the error is written).</summary>
        private bool AuditWorkspace()
        {
            string? after = null;
            var page = 0;
            do
            {
                page++;
                EventSink.Progress(new HexProgress(ProgressIds.Paging, "Auditing Hex schedules",
                    $"Page {page}: {_auditor!.ProjectsAudited} projects audited, {_auditor.FindingCount} findings so far"));
                if (!TryAwait(_auditor.AuditPageAsync(after, null, StopToken), null, out after)) return false;
            }
            while (!string.IsNullOrEmpty(after));
            return true;
        }

        private void WarnOfUnusedRefreshIntervals()
        {
            var unused = _auditor!.UnusedRefreshOverrides;
            if (unused.Count == 0) return;
            const int shown = 10;
            var list = string.Join(", ", unused.Take(shown)) + (unused.Count > shown ? $" and {unused.Count - shown} more" : "");
            WriteWarning($"-DataRefreshInterval names {(unused.Count == 1 ? "a project id" : unused.Count + " project ids")} this audit did not see: {list}. "
                         + "Their intervals were not used; check the ids with Get-HexProject.");
        }

        private static void ApplyRefreshIntervals(ScheduleAuditOptions options, object value)
        {
            switch (value)
            {
                case PSObject { BaseObject: PSCustomObject } fromJson:
                    foreach (var property in fromJson.Properties.OfType<PSNoteProperty>()) ApplyRefreshInterval(options, property.Name, property.Value);
                    return;
                case PSObject wrapped:
                    ApplyRefreshIntervals(options, wrapped.BaseObject);
                    return;
                case IDictionary table:
                    foreach (DictionaryEntry entry in table) ApplyRefreshInterval(options, Convert.ToString(entry.Key, CultureInfo.InvariantCulture), entry.Value);
                    return;
                default:
                    options.DefaultRefreshInterval = ToInterval(value, null);
                    return;
            }
        }

        private static void ApplyRefreshInterval(ScheduleAuditOptions options, string? key, object? value)
        {
            var trimmed = (key ?? "").Trim();
            if (string.Equals(trimmed, "Default", StringComparison.OrdinalIgnoreCase) || trimmed == "*")
            {
                options.DefaultRefreshInterval = ToInterval(value, "Default");
                return;
            }
            var id = HexIds.Normalize(key);
            if (id == null)
            {
                throw new FormatException($"the key {ScheduleMath.Quote(key)} is not a project id. Keys are project ids (UUIDs such as {HexIds.Example}, "
                                          + "listed by Get-HexProject) or Default for the rest, e.g. @{ Default = '1d'; '<project id>' = '6h' }.");
            }
            options.RefreshOverrides[id] = ToInterval(value, id);
        }

        /// <param name="key">The hashtable key it is the value of, or null for a single interval.</param>
        private static TimeSpan ToInterval(object? value, string? key)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            var of = key == null ? "" : $"the interval of {key}: ";
            try
            {
                switch (value)
                {
                    case null:
                        throw new FormatException("it is empty. Give an interval such as '1d' or '6h'.");
                    case TimeSpan span:
                        return ScheduleMath.CheckInterval(span, span.ToString("c", CultureInfo.InvariantCulture));
                    case string text:
                        return ScheduleMath.ParseInterval(text);
                    case byte _: case sbyte _: case short _: case ushort _: case int _: case uint _: case long _: case ulong _: case float _: case double _: case decimal _:
                        // Numbers are days: unquoted, 1.5d is PowerShell's decimal literal 1.5, the unit is gone by the time it binds.
                        return ScheduleMath.ParseInterval(Convert.ToString(value, CultureInfo.InvariantCulture) + "d");
                    default:
                        throw new FormatException($"it is a {value.GetType().Name}, not an interval. Give one interval such as '1d' or '6h'"
                                                  + (key == null ? ", or a hashtable of project ids to intervals." : "."));
                }
            }
            catch (FormatException error)
            {
                throw new FormatException(of + error.Message, error);
            }
        }
    }

    /// <summary>Validates -Rule against <see cref="AuditRules.All"/> as it binds; the error lists the rules.</summary>
    internal sealed class ValidateAuditRuleAttribute : ValidateEnumeratedArgumentsAttribute
    {
        protected override void ValidateElement(object element)
        {
            var name = element is PSObject wrapped ? wrapped.BaseObject : element;
            if (AuditRules.Find(name as string) != null) return;
            throw new ValidationMetadataException(
                $"{ScheduleMath.Quote(Convert.ToString(name, CultureInfo.InvariantCulture))} is not an audit rule. -Rule takes {AuditRules.Names} (Tab completes them).");
        }
    }

    /// <summary>Completes -Rule from <see cref="AuditRules.All"/>, with what each rule finds as the tooltip.</summary>
    public sealed class AuditRuleCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var typed = (wordToComplete ?? "").Trim().Trim('\'', '"');
            return AuditRules.All
                .Where(r => r.Name.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                .Select(r => new CompletionResult(r.Name, r.Name, CompletionResultType.ParameterValue, r.Name + ": " + r.Finds))
                .ToList();
        }
    }
}
