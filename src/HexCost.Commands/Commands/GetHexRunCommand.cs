using System;
using System.Linq;
using System.Management.Automation;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Model;
using HexCost.Runs;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets the status of Hex runs of a project.</para>
    /// <para type="description">With -RunId, one run's status; without, the project's runs newest first (offset pagination), optionally filtered by -Status.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexRun", SupportsPaging = true)]
    [OutputType(typeof(HexRun))]
    public sealed class GetHexRunCommand : HexSessionCmdlet
    {
        private const int PageSize = 100;

        /// <summary>The project whose runs to get. Binds from a piped string, and from the ProjectId or Id property of piped objects.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string ProjectId { get; set; } = "";

        /// <summary>One run's id; blank is none (the project's runs).</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        public string? RunId { get; set; }

        /// <summary>Only runs with this status.</summary>
        [Parameter]
        [ValidateSet("PENDING", "RUNNING", "ERRORED", "COMPLETED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL")]
        public string? Status { get; set; }

        /// <summary>Only runs with this trigger: API, SCHEDULED, APP_REFRESH or ALL (default).</summary>
        [Parameter]
        [ValidateSet("API", "SCHEDULED", "APP_REFRESH", "ALL")]
        public string? Trigger { get; set; }

        protected override void ProcessRecord()
        {
            string projectId;
            string? runId = null;
            try
            {
                projectId = HexIds.ProjectId(ProjectId);
                if (RunService.Given(RunId) != null) runId = HexIds.RunId(RunId, projectId);
            }
            catch (HexException error)
            {
                WriteHexError(error, error.Kind == HexErrorKind.RunNotFound ? RunId : ProjectId);
                return;
            }

            if (runId != null)
            {
                if (TryAwait(Account.Client.GetRunStatusAsync(projectId, runId, EventSink, StopToken), runId, out var status))
                {
                    if (Status == null || string.Equals(status.Status, Status, StringComparison.OrdinalIgnoreCase)) Write(status, projectId);
                }
                return;
            }

            var skip = (int)Math.Min(PagingParameters.Skip, int.MaxValue);
            var remaining = PagingParameters.First;
            var offset = skip;
            while (remaining > 0)
            {
                var limit = (int)Math.Min(PageSize, remaining);
                if (!TryAwait(Account.Client.GetProjectRunsAsync(projectId, limit, offset, Status?.ToUpperInvariant(), Trigger?.ToUpperInvariant(), EventSink, StopToken), projectId, out var page)) return;
                var runs = (page.Runs ?? new System.Collections.Generic.List<RunStatusPayload>()).Where(r => r != null).ToList();
                foreach (var status in runs)
                {
                    Write(status, projectId);
                    remaining--;
                    if (remaining == 0) break;
                }
                offset += runs.Count;
                if (runs.Count == 0 || string.IsNullOrEmpty(page.NextPage)) break;
            }
            // Hex's run list has no total: PowerShell's way of saying so (accuracy 0 is "Unknown total count").
            if (PagingParameters.IncludeTotalCount) WriteObject(PagingParameters.NewTotalCount(0, 0.0));
        }

        private void Write(RunStatusPayload status, string projectId)
        {
            var run = new HexRun { ProjectId = status.ProjectId ?? projectId, RunId = status.RunId, TraceId = status.TraceId };
            RunService.Apply(run, status);
            run.RequestedAt = run.StartTime;
            WriteTypedObject(run, "HexCost.Run");
        }
    }

    /// <summary>
    /// <para type="synopsis">Cancels a Hex run, freeing its kernel.</para>
    /// <para type="description">A run that has already ended is not an error: a warning says how it ended.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "HexRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(HexRun))]
    public sealed class StopHexRunCommand : HexSessionCmdlet
    {
        /// <summary>The run's project.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string ProjectId { get; set; } = "";

        /// <summary>The run to cancel.</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string RunId { get; set; } = "";

        /// <summary>Write the run's state after cancelling.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            HexRun run;
            try
            {
                var projectId = HexIds.ProjectId(ProjectId);
                run = new HexRun { ProjectId = projectId, RunId = HexIds.RunId(RunId, projectId) };
            }
            catch (HexException error)
            {
                WriteHexError(error, error.Kind == HexErrorKind.RunNotFound ? RunId : ProjectId);
                return;
            }
            if (!ShouldProcess($"Hex run {run.RunId} of project {run.ProjectId}", "Cancel")) return;
            if (!TryAwait(RunService.CancelAsync(Account, run, EventSink, StopToken), run.RunId, out var outcome)) return;
            if (outcome == RunService.CancelOutcome.AlreadyEnded)
            {
                var ended = run.EndTime.HasValue ? $" at {run.EndTime.Value.ToString("u", System.Globalization.CultureInfo.InvariantCulture)}" : "";
                WriteWarning($"Run {run.RunId} of project {run.ProjectId} had already ended {run.Status}{ended}; there was nothing to stop.");
            }
            if (PassThru) WriteTypedObject(run, "HexCost.Run");
        }
    }
}
