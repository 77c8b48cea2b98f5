using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
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
    /// rules and writes HexCost.ScheduleFinding rows, most savings first. Reads go through the account's shared limiter.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexScheduleAudit")]
    [OutputType(typeof(ScheduleFinding))]
    public sealed class GetHexScheduleAuditCommand : HexSessionCmdlet
    {
        private ScheduleAuditor? _auditor;
        private bool _piped;

        /// <summary>Audit only these projects (binds from Get-HexProject output). Workspace rules (seats) are skipped then.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string[]? ProjectId { get; set; }

        /// <summary>The rules to apply (default: all).</summary>
        [Parameter]
        [ValidateSet(AuditRules.OverScheduled, AuditRules.RunBudgetOverrun, AuditRules.Abandoned, AuditRules.ScheduledButArchived, AuditRules.FailingSchedule,
            AuditRules.ScheduleCollision, AuditRules.DuplicateProject, AuditRules.IdleEditorSeat, AuditRules.DisabledSchedule, IgnoreCase = true)]
        public string[]? Rule { get; set; }

        /// <summary>Days of run history to read (default 28).</summary>
        [Parameter]
        [ValidateRange(1, 366)]
        public int Days { get; set; } = 28;

        /// <summary>How often the data behind projects changes: an interval ('1d', '6h', '1w') for all, or a hashtable of
        /// project id → interval (key Default for the rest). Default 1 day. Unquoted 1d or 1.5d (decimal numbers to PowerShell) are days.</summary>
        [Parameter]
        public object? DataRefreshInterval { get; set; }

        /// <summary>Runs a week (scheduled plus API) above which a project is over budget (default 20).</summary>
        [Parameter]
        [ValidateRange(0, 100000)]
        public double MaxRunsPerWeek { get; set; } = 20;

        /// <summary>Days without app views (projects) or logins (editors) that count as idle (default 30).</summary>
        [Parameter]
        [ValidateRange(1, 3650)]
        public int IdleDays { get; set; } = 30;

        /// <summary>Schedules that may fire in the same minute before it is a collision (default 5).</summary>
        [Parameter]
        [ValidateRange(1, 10000)]
        public int MaxConcurrentSchedules { get; set; } = 5;

        /// <summary>What an Editor seat costs a month (default 28).</summary>
        [Parameter]
        [ValidateRange(0, 100000)]
        public decimal EditorSeatPrice { get; set; } = 28m;

        protected override void BeginProcessing()
        {
            ScheduleAuditOptions options;
            try
            {
                options = new ScheduleAuditOptions
                {
                    LookBack = TimeSpan.FromDays(Days),
                    MaxRunsPerWeek = MaxRunsPerWeek,
                    IdleDays = IdleDays,
                    MaxConcurrentSchedules = MaxConcurrentSchedules,
                    EditorSeatPrice = EditorSeatPrice,
                    Rules = Rule == null ? null : new HashSet<string>(Rule.Select(r => AuditRules.All.First(a => string.Equals(a, r, StringComparison.OrdinalIgnoreCase))), StringComparer.Ordinal),
                };
                ApplyRefreshIntervals(options, DataRefreshInterval);
            }
            catch (FormatException error)
            {
                ThrowTerminatingError(HexErrors.InvalidDataRefreshInterval.Record(new ArgumentException(error.Message, nameof(DataRefreshInterval), error), DataRefreshInterval));
                return;
            }
            _auditor = new ScheduleAuditor(Account, options, EventSink);
        }

        protected override void ProcessRecord()
        {
            if (ProjectId == null) return;
            _piped = true;
            foreach (var id in ProjectId)
            {
                if (!TryAwait(Account.Client.GetProjectAsync(id, EventSink, StopToken), id, out var resource)) continue;
                TryAwait(_auditor!.AuditProjectAsync(resource, StopToken), id, out _);
            }
        }

        protected override void EndProcessing()
        {
            if (!_piped && !AuditWorkspace()) return;
            EventSink.Progress(new HexProgress(ProgressIds.Paging, "Auditing Hex schedules", "Comparing projects: collisions, duplicates" + (_piped ? "" : ", editor seats")));
            TryAwait(_auditor!.CompleteAsync(workspace: !_piped, StopToken), null, out _);
            EventSink.Progress(new HexProgress(ProgressIds.Paging, "Auditing Hex schedules", $"{_auditor.ProjectsAudited} projects, {_auditor.FindingCount} findings", completed: true));
            DrainEvents();
            foreach (var finding in _auditor.SortedFindings()) WriteTypedObject(finding, "HexCost.ScheduleFinding");
        }

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

        private static void ApplyRefreshIntervals(ScheduleAuditOptions options, object? value)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            switch (value)
            {
                case null:
                    return;
                case TimeSpan span when span > TimeSpan.Zero:
                    options.DefaultRefreshInterval = span;
                    return;
                case IDictionary table:
                    foreach (DictionaryEntry entry in table)
                    {
                        var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "";
                        var interval = ToInterval(entry.Value);
                        if (string.Equals(key, "Default", StringComparison.OrdinalIgnoreCase) || key == "*") options.DefaultRefreshInterval = interval;
                        else options.RefreshOverrides[key] = interval;
                    }
                    return;
                default:
                    options.DefaultRefreshInterval = ToInterval(value);
                    return;
            }
        }

        private static TimeSpan ToInterval(object? value)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            if (value is TimeSpan span && span > TimeSpan.Zero) return span;
            // Unquoted, 1.5d is PowerShell's decimal literal 1.5: the unit is gone by the time it binds, and it was days.
            if (value is decimal days) return ScheduleMath.ParseInterval(days.ToString(CultureInfo.InvariantCulture) + "d");
            return ScheduleMath.ParseInterval(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        }
    }
}
