using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Infrastructure;
using HexCost.Model;
using HexCost.Runs;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Runs a published Hex project, within Hex's rate limits, reusing a completed run when the source data has not changed.</para>
    /// <para type="description">Triggers RunProject for each project id (from the pipeline by property name). With -Wait, piped projects are
    /// triggered as fast as the limits allow while earlier runs still run (at most -ThrottleLimit in flight) and each run is written when it ends.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "HexRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(HexRun))]
    public sealed class InvokeHexRunCommand : HexSessionCmdlet
    {
        private readonly List<Pending> _inFlight = new List<Pending>();
        private int _started;
        private int _finished;

        /// <summary>The project to run (its UUID). Binds from the ProjectId or Id property of piped objects.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string ProjectId { get; set; } = "";

        /// <summary>Values for the published app's input parameters, by name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public Hashtable? InputParameters { get; set; }

        /// <summary>Wait for each run to end and write its final state.</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>How long to wait for a run with -Wait (default 30 minutes); the run is cancelled when it expires.</summary>
        [Parameter]
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);

        /// <summary>Leave the run running when -Timeout expires.</summary>
        [Parameter]
        public SwitchParameter NoCancelOnTimeout { get; set; }

        /// <summary>Write the run's results into the published app.</summary>
        [Parameter]
        public SwitchParameter UpdatePublishedResults { get; set; }

        /// <summary>Run SQL without Hex's SQL cache (and refresh it).</summary>
        [Parameter]
        public SwitchParameter NoSqlCache { get; set; }

        /// <summary>Ask Hex to validate the call without running anything.</summary>
        [Parameter]
        public SwitchParameter DryRun { get; set; }

        /// <summary>The version of the data the project reads (a file time, a table's last-modified, a commit).
        /// A completed run with the same project, inputs and source version is returned instead of starting another.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? SourceVersion { get; set; }

        /// <summary>Run even when a completed run with the same source version exists.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>At most one run per key, ever: if the ledger already has a run for this key (in flight or finished, from any
        /// process), it is reattached or returned instead of triggering; a trigger a crashed process left unanswered is
        /// looked for in Hex and adopted. E.g. "$id-$(Get-Date -Format yyyyMMddHH)" for at most one run an hour.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? IdempotencyKey { get; set; }

        /// <summary>Runs in flight at once with -Wait (default 5).</summary>
        [Parameter]
        [ValidateRange(1, 25)]
        public int ThrottleLimit { get; set; } = 5;

        protected override void BeginProcessing()
        {
            if (Timeout <= TimeSpan.Zero)
            {
                ThrowTerminatingError(HexErrors.InvalidTimeout.Record(new ArgumentOutOfRangeException(nameof(Timeout), Timeout,
                    "-Timeout must be longer than zero, e.g. -Timeout (New-TimeSpan -Minutes 30)."), Timeout));
            }
        }

        protected override void ProcessRecord()
        {
            WriteFinished();
            if (!Guid.TryParse(ProjectId, out _))
            {
                WriteHexError(new HexException(HexErrorKind.ProjectNotFound,
                    $"'{ProjectId}' is not a Hex project id (a UUID such as 5a8591dd-4039-49df-9202-96385ba3eff8). Find ids with Get-HexProject.")
                { ProjectId = ProjectId }, ProjectId);
                return;
            }
            var action = DryRun ? "Validate a run (dry run)" : SourceVersion != null && !Force ? $"Run, unless a completed run for source version {SourceVersion} exists" : "Run";
            if (!ShouldProcess($"Hex project {ProjectId}", action)) return;

            var account = Account;
            var request = new RunRequest
            {
                ProjectId = ProjectId,
                InputParameters = InputParameters == null ? null : Unwrap(InputParameters),
                SourceVersion = SourceVersion,
                Force = Force,
                UpdatePublishedResults = UpdatePublishedResults,
                NoSqlCache = NoSqlCache,
                DryRun = DryRun,
                IdempotencyKey = IdempotencyKey,
            };
            var wait = new RunWaitOptions { Wait = Wait, Timeout = Timeout, CancelOnTimeout = !NoCancelOnTimeout };
            var task = RunService.RunAsync(account, request, wait, EventSink, StopToken);
            var pending = new Pending(ProjectId, task);
            _started++;

            if (!Wait)
            {
                Pump(task);
                WriteOutcome(pending);
                return;
            }

            _inFlight.Add(pending);
            while (_inFlight.Count >= ThrottleLimit)
            {
                ReportBatch();
                AwaitAny(_inFlight.Select(p => (Task)p.Task).ToArray());
                WriteFinished();
            }
            ReportBatch();
        }

        protected override void EndProcessing()
        {
            while (_inFlight.Count > 0)
            {
                ReportBatch();
                AwaitAny(_inFlight.Select(p => (Task)p.Task).ToArray());
                WriteFinished();
            }
            if (_started > 1 && Wait)
                EventSink.Progress(new HexProgress(ProgressIds.Runs, "Invoke-HexRun", $"{_finished} runs finished", completed: true));
            DrainEvents();
        }

        private void WriteFinished()
        {
            foreach (var done in _inFlight.Where(p => p.Task.IsCompleted).ToList())
            {
                _inFlight.Remove(done);
                WriteOutcome(done);
            }
        }

        private void WriteOutcome(Pending pending)
        {
            _finished++;
            DrainEvents();
            RunResult result;
            try
            {
                result = pending.Task.GetAwaiter().GetResult();
            }
            catch (HexException error)
            {
                WriteHexError(error, pending.ProjectId);
                return;
            }
            catch (System.Net.Http.HttpRequestException error)
            {
                WriteError(HexErrors.Transport(error, pending.ProjectId));
                return;
            }
            catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            WriteTypedObject(result.Run, "HexCost.Run");
            if (result.Error != null) WriteHexError(result.Error, result.Run);
        }

        private void ReportBatch()
        {
            if (!Wait) return;
            EventSink.Progress(new HexProgress(ProgressIds.Runs, "Invoke-HexRun",
                $"{_inFlight.Count} in flight, {_finished} finished, {_started} started (throttle limit {ThrottleLimit})"));
        }

        /// <summary>Hashtables from PowerShell may hold PSObject-wrapped values; the core wants plain ones.</summary>
        private static IDictionary Unwrap(IDictionary source)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in source)
            {
                result[Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? ""] = UnwrapValue(entry.Value);
            }
            return result;
        }

        private static object? UnwrapValue(object? value)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            switch (value)
            {
                case IDictionary dictionary: return Unwrap(dictionary);
                case string _: return value;
                case IEnumerable sequence: return sequence.Cast<object?>().Select(UnwrapValue).ToList();
                default: return value;
            }
        }

        private sealed class Pending
        {
            public Pending(string projectId, Task<RunResult> task)
            {
                ProjectId = projectId;
                Task = task;
            }

            public string ProjectId { get; }
            public Task<RunResult> Task { get; }
        }
    }
}
