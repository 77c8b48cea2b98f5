using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Audit;
using HexCost.Commands.Infrastructure;
using HexCost.Credits;
using HexCost.Infrastructure;
using HexCost.Model;
using HexCost.Reports;
using HexCost.State;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes one self-contained HTML cost report to mail to finance: schedule audit, credit balances, spend policy, runs.</para>
    /// <para type="description">Collects the schedule audit (as Get-HexScheduleAudit), this cycle's credit balances against the grants
    /// (as Get-HexCreditBalance; where Hex refuses ListThreads, from imported usage only, and the page says so), the spend policy and the
    /// run ledger of the last -Days days, and writes them as one HTML file with inline CSS and SVG charts: no script, no external
    /// resource, no token. A section that cannot be collected is written as an error and explained in the page.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "HexCostReport", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(CostReportFile))]
    public sealed class ExportHexCostReportCommand : HexSessionCmdlet
    {
        private const string Activity = "Exporting HexCost report";

        /// <summary>The HTML file to write (replaced if it exists).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>The workspace's Hex plan, for the credit grants (default Team; the page says when it was assumed).</summary>
        [Parameter]
        [ValidateSet(Plans.Professional, Plans.Team, Plans.Enterprise, IgnoreCase = true)]
        public string Plan { get; set; } = Plans.Team;

        /// <summary>Days of the run ledger to chart (default 7).</summary>
        [Parameter]
        [ValidateRange(1, 366)]
        [WholeNumber]
        public int Days { get; set; } = 7;

        /// <summary>Write an object describing the report (Path, Bytes, Findings, Users).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var target = ResolveTarget();
            if (target == null) return;
            if (!ShouldProcess(target, "Write a HexCost cost report (schedule audit, credit balances, spend policy, runs)")) return;

            var account = Account;
            var plan = Plans.All.First(p => string.Equals(p, Plan, StringComparison.OrdinalIgnoreCase));
            var data = new CostReportData
            {
                GeneratedAt = account.Time.GetUtcNow(),
                OrgId = account.OrgId,
                BaseUri = account.Client.BaseUri.AbsoluteUri,
                GeneratedBy = account.UserEmail ?? account.UserId,
                Plan = plan,
                PlanAssumed = !MyInvocation.BoundParameters.ContainsKey(nameof(Plan)),
                ModuleVersion = MyInvocation.MyCommand.Module?.Version?.ToString() ?? typeof(ExportHexCostReportCommand).Assembly.GetName().Version?.ToString(3),
            };

            CollectAudit(data);
            CollectPolicy(data);
            CollectCredits(data, plan);
            CollectRuns(data);

            Progress("Writing " + target, 95);
            var html = CostReportHtml.Render(data);
            long bytes;
            try
            {
                bytes = Write(target, html);
            }
            catch (Exception error) when (error is IOException || error is UnauthorizedAccessException)
            {
                var where = string.Equals(Path, target, StringComparison.Ordinal) ? $"'{Path}'" : $"-Path '{Path}' ({target})";
                ThrowTerminatingError(HexErrors.ReportWriteFailed.Record(new IOException(
                    $"HexCost could not write the report to {where} ({error.Message}). Check that you may write files in that folder and that the disk is not full, or give another -Path.", error), Path));
                return;
            }
            EventSink.Progress(new HexProgress(ProgressIds.Paging, Activity, "Done", 100, completed: true));
            DrainEvents();
            WriteVerbose($"Wrote {target} ({bytes} bytes): {data.Findings?.Count ?? 0} findings, {data.Credits?.Users.Count ?? 0} users, {data.Runs?.Triggered ?? 0} runs triggered in {Days} days.");
            if (!PassThru) return;
            WriteTypedObject(new CostReportFile
            {
                Path = target,
                Bytes = bytes,
                Findings = data.Findings?.Count ?? 0,
                Users = data.Credits?.Users.Count ?? 0,
                RunsSavedPerWeek = CostReportData.RunsSavedPerWeek(data.Findings),
                CreditSource = data.Credits == null ? "Unavailable" : data.Credits.Summary.UsageSource,
                GeneratedAt = data.GeneratedAt.UtcDateTime,
            }, "HexCost.CostReport");
        }

        private string? ResolveTarget()
        {
            string target;
            try
            {
                target = FileSystemPaths.Resolve(this, Path, "-Path");
            }
            catch (ArgumentException error)
            {
                ThrowTerminatingError(HexErrors.ReportPathInvalid.Record(new ArgumentException(error.Message, nameof(Path), error), Path));
                return null;
            }
            if (Directory.Exists(target))
            {
                ThrowTerminatingError(HexErrors.ReportPathInvalid.Record(new ArgumentException($"'{target}' is a directory; give the path of the HTML file to write, e.g. {System.IO.Path.Combine(target, "hex-cost-report.html")}.", nameof(Path)), Path));
                return null;
            }
            var directory = System.IO.Path.GetDirectoryName(target);
            if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
            {
                // Named as given (a relative -Path as well), with the folder it resolved to.
                var file = File.Exists(directory);
                var problem = file ? $"'{directory}' is a file, not a folder" : $"the folder '{directory}' does not exist";
                ThrowTerminatingError(HexErrors.ReportPathInvalid.Record(new DirectoryNotFoundException($"-Path '{Path}': {problem}. "
                    + (file ? "Give a path in a folder" : "Create the folder first") + ", or give another -Path."), Path, file ? (ErrorCategory?)null : ErrorCategory.ObjectNotFound));
                return null;
            }
            return target;
        }

        private void CollectAudit(CostReportData data)
        {
            var options = new ScheduleAuditOptions();
            data.AuditLookBackDays = (int)options.LookBack.TotalDays;
            var auditor = new ScheduleAuditor(Account, options, EventSink);
            string? after = null;
            var page = 0;
            do
            {
                page++;
                Progress($"Auditing schedules: page {page}, {auditor.ProjectsAudited} projects so far", 5);
                if (!TryCollect(auditor.AuditPageAsync(after, resource => RememberTitle(resource, data.ProjectTitles), StopToken), "ScheduleAudit", out after, out var failure))
                {
                    data.AuditNote = failure;
                    return;
                }
            }
            while (!string.IsNullOrEmpty(after));
            Progress($"Auditing schedules: comparing {auditor.ProjectsAudited} projects (collisions, duplicates, editor seats)", 45);
            if (!TryCollect(auditor.CompleteAsync(workspace: true, StopToken), "ScheduleAudit", out _, out var failed))
            {
                data.AuditNote = failed;
                return;
            }
            data.ProjectsAudited = auditor.ProjectsAudited;
            data.Findings = auditor.SortedFindings().ToList();
        }

        /// <summary>Keeps a listed project's title for the run tables and for -ProjectId completion.</summary>
        private void RememberTitle(ProjectResource resource, IDictionary<string, string> titles)
        {
            Account.ProjectNames.Remember(resource.Id, resource.Title);
            if (!string.IsNullOrEmpty(resource.Title)) titles[resource.Id] = resource.Title!;
        }

        private void CollectPolicy(CostReportData data)
        {
            Progress("Reading the spend policy", 60);
            var store = new SpendPolicyStore(Account);
            try
            {
                data.Policy = Await(store.LoadAsync(StopToken));
            }
            catch (HexException error)
            {
                WriteError(HexErrors.SpendPolicyCorrupt.Record(error, store.PolicyLocation));
                data.PolicyNote = error.Message;
            }
        }

        private void CollectCredits(CostReportData data, string plan)
        {
            Progress("Computing credit balances", 65);
            if (data.Policy == null)
            {
                // The balances read the same policy file (pack size, limit): they would fail the same way.
                data.CreditsNote = "they need the spend policy, which could not be read (see section 3)";
                return;
            }
            var options = new CreditBalanceOptions { Plan = plan, Grants = GrantTable.Default };
            string? fallback = null;
            if (TryCollect(ComputeCreditsAsync(options, note => fallback = note), "CreditBalance", out var report, out var failure))
            {
                data.Credits = report;
                data.CreditsNote = fallback;
            }
            else
            {
                data.CreditsNote = failure;
            }
        }

        /// <summary>Balances from threads and imports; where Hex refuses ListThreads (403: the token's user is not a Manager or
        /// Admin), again from imported usage only, reporting the fallback through <paramref name="fellBack"/>.</summary>
        private async Task<CreditReport> ComputeCreditsAsync(CreditBalanceOptions options, Action<string> fellBack)
        {
            try
            {
                return await CreditBalanceService.ComputeAsync(Account, options, EventSink, StopToken).ConfigureAwait(false);
            }
            catch (HexException error) when (error.Kind == HexErrorKind.Forbidden && !options.UsageOnly)
            {
                options.UsageOnly = true;
                var report = await CreditBalanceService.ComputeAsync(Account, options, EventSink, StopToken).ConfigureAwait(false);
                var note = $"Hex refused ListThreads (403): reading AI usage from Hex needs the Manager role or higher, and this token's user is {Account.Role ?? "not a manager"}. "
                           + "These balances therefore use only usage imported with Import-HexCreditUsage (UsageOnly) and miss anything not imported; "
                           + "export the report with a Manager's or an Admin's token for complete figures.";
                fellBack(note);
                EventSink.Warning(note);
                return report;
            }
        }

        private void CollectRuns(CostReportData data)
        {
            Progress($"Reading the run ledger ({Days} days)", 85);
            try
            {
                var (records, skipped) = Await(Account.State.ReadHistoryWithDamageAsync(StopToken));
                data.Runs = RunLedgerSummary.FromLedger(records, data.GeneratedAt, Days);
                if (skipped > 0) data.RunsNote = $"{skipped} damaged ledger lines were skipped.";
            }
            catch (StateStoreException error)
            {
                WriteError(HexErrors.StateError.Record(error, Account.Store.Location, ErrorCategory.ReadError));
                data.RunsNote = error.Message;
            }
            foreach (var entry in Account.ProjectNames.Snapshot())
                if (!data.ProjectTitles.ContainsKey(entry.Key) && !string.IsNullOrEmpty(entry.Value)) data.ProjectTitles[entry.Key] = entry.Value!;
        }

        /// <summary>TryAwait, also keeping the reason of a failure for the page.</summary>
        private bool TryCollect<T>(Task<T> task, string section, out T result, out string? failure)
        {
            string? reason = null;
            var ok = TryAwait(Capture(task, message => reason = message), section, out result);
            failure = ok ? null : reason ?? "an unexpected error";
            return ok;
        }

        private static async Task<T> Capture<T>(Task<T> task, Action<string> onFailure)
        {
            try
            {
                return await task.ConfigureAwait(false);
            }
            catch (HexException error)
            {
                onFailure(error.Message);
                throw;
            }
        }

        private void Progress(string status, int percent)
        {
            EventSink.Progress(new HexProgress(ProgressIds.Paging, Activity, status, percent));
            DrainEvents();
        }

        /// <summary>Writes through a temporary file beside <paramref name="target"/>, so a reader never sees half a report.
        /// A failure's message names the target, never the temporary file.</summary>
        private static long Write(string target, string html)
        {
            var temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                File.WriteAllText(temp, html, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                if (File.Exists(target)) File.Replace(temp, target, null);
                else File.Move(temp, target);
                return new FileInfo(target).Length;
            }
            catch (Exception error) when (error is IOException || error is UnauthorizedAccessException)
            {
                throw new IOException(error.Message.Replace(temp, target), error);
            }
            finally
            {
                try
                {
                    if (File.Exists(temp)) File.Delete(temp);
                }
                catch (Exception error) when (error is IOException || error is UnauthorizedAccessException)
                {
                    // The report was written (or its failure is being reported); a temporary file left behind is harmless.
                }
            }
        }
    }
}
