using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Text.Json;
using System.Threading;
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
    /// <para type="description">Triggers RunProject for each project id (from the pipeline by value or by property name). With -Wait, piped projects are
    /// triggered as fast as the limits allow while earlier runs still run (at most -ThrottleLimit in flight) and each run is written when it ends.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "HexRun", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(HexRun))]
    public sealed class InvokeHexRunCommand : HexSessionCmdlet
    {
        /// <summary>Triggered or being triggered, outcome not written yet.</summary>
        private readonly List<Pending> _open = new List<Pending>();
        private readonly HashSet<string> _fromCommandLine = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        private int _started;
        private int _finished;

        /// <summary>The projects to run (their UUIDs). Binds from piped strings, and from the ProjectId or Id property of piped objects.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.ProjectIdCompleter))]
        public string[] ProjectId { get; set; } = Array.Empty<string>();

        /// <summary>Values for the published app's input parameters, by name: a hashtable (or any dictionary or object), or
        /// the JSON text HexCost writes in a run's InputParameters.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [InputParametersTransformation]
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
        [ValidateLedgerText]
        public string? SourceVersion { get; set; }

        /// <summary>Run even when a completed run with the same source version exists (skips the cache only).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Run even when the spend policy's run budget would refuse it; the run is recorded in the ledger as forced.</summary>
        [Parameter]
        public SwitchParameter IgnoreRunBudget { get; set; }

        /// <summary>At most one run of the project per key, ever: if the ledger already has a run of the project for this key (in
        /// flight or finished, from any process), it is reattached or returned instead of triggering.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateLedgerText]
        public string? IdempotencyKey { get; set; }

        /// <summary>The earlier run this trigger repeats; binds from the RunId of a piped run. A repeat is a new run: the piped
        /// run's SourceVersion and IdempotencyKey are not reused.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("RunId")]
        public string? RepeatRunId { get; set; }

        /// <summary>Runs in flight at once with -Wait (default 5).</summary>
        [Parameter]
        [ValidateRange(1, 25)]
        [WholeNumber]
        public int ThrottleLimit { get; set; } = 5;

        protected override void BeginProcessing()
        {
            // What the command line gave (a delay-bind script block included); the rest comes with each piped object.
            foreach (var name in MyInvocation.BoundParameters.Keys) _fromCommandLine.Add(name);
            if (!Wait)
            {
                foreach (var waitOnly in new[] { nameof(Timeout), nameof(NoCancelOnTimeout) }.Where(_fromCommandLine.Contains))
                {
                    ThrowTerminatingError(HexErrors.InvalidTimeout.Record(new PSArgumentException(
                        $"-{waitOnly} applies only while waiting: add -Wait, or leave -{waitOnly} out to start the runs without waiting. Nothing was sent to Hex."), waitOnly));
                }
                if (_fromCommandLine.Contains(nameof(ThrottleLimit)))
                    WriteWarning("-ThrottleLimit applies only with -Wait: without it each run is triggered in turn and not waited for.");
                return;
            }
            if (RunWaitOptions.TimeoutProblem(Timeout) is string problem)
            {
                ThrowTerminatingError(HexErrors.InvalidTimeout.Record(new PSArgumentException(problem + " Nothing was sent to Hex."), Timeout));
            }
        }

        protected override void ProcessRecord()
        {
            try
            {
                WriteFinished();
                if (!TryReadItem(out var request)) return;
                foreach (var given in ProjectId)
                {
                    string projectId;
                    try
                    {
                        projectId = HexIds.ProjectId(given);
                    }
                    catch (HexException error)
                    {
                        WriteHexError(error, given);
                        continue;
                    }
                    Start(projectId, request);
                }
            }
            catch (PipelineStoppedException)
            {
                WarnLeftRunning();
                throw;
            }
        }

        protected override void EndProcessing()
        {
            try
            {
                while (_open.Count > 0)
                {
                    ReportBatch();
                    AwaitAny(_open.Select(p => (Task)p.Task).ToArray());
                    WriteFinished();
                }
                if (_started > 1 && Wait)
                    EventSink.Progress(new HexProgress(ProgressIds.Runs, "Invoke-HexRun", $"{_finished} runs finished", completed: true));
                DrainEvents();
            }
            catch (PipelineStoppedException)
            {
                WarnLeftRunning();
                throw;
            }
        }

        /// <summary>This item's request, but for the project id. A piped run (it has a RunId) is repeated: a new run with its
        /// inputs; its SourceVersion and IdempotencyKey belong to that run, so only the command line's are used.</summary>
        private bool TryReadItem(out RunRequest request)
        {
            request = new RunRequest
            {
                SourceVersion = SourceVersion,
                Force = Force,
                IgnoreRunBudget = IgnoreRunBudget,
                UpdatePublishedResults = UpdatePublishedResults,
                NoSqlCache = NoSqlCache,
                DryRun = DryRun,
                IdempotencyKey = IdempotencyKey,
            };
            var repeats = RunService.Given(RepeatRunId);
            if (repeats != null && HexIds.Normalize(repeats) == null)
            {
                var error = new HexException(HexErrorKind.RunNotFound,
                    $"-RepeatRunId {HexIds.Show(repeats)} is not a Hex run id: ids are UUIDs such as {HexIds.Example}, as in the RunId of a run Get-HexRun or Invoke-HexRun wrote. HexCost sent nothing to Hex.");
                foreach (var given in ProjectId) WriteHexError(error, given);
                return false;
            }
            if (repeats != null)
            {
                var dropped = new List<string>();
                if (!_fromCommandLine.Contains(nameof(SourceVersion)) && RunService.Given(SourceVersion) != null)
                {
                    dropped.Add($"SourceVersion '{SourceVersion}'");
                    request.SourceVersion = null;
                }
                if (!_fromCommandLine.Contains(nameof(IdempotencyKey)) && RunService.Given(IdempotencyKey) != null)
                {
                    dropped.Add($"IdempotencyKey '{IdempotencyKey}'");
                    request.IdempotencyKey = null;
                }
                WriteVerbose($"Repeating run {HexIds.Show(repeats)}: a new run with its input parameters"
                    + (dropped.Count == 0 ? "." : $"; its {string.Join(" and ", dropped)} describe that run and are not reused (give -SourceVersion or -IdempotencyKey for the new run)."));
            }
            try
            {
                request.InputParameters = InputParameters == null ? null : InputParameterValues.Read(InputParameters);
                return true;
            }
            catch (HexException error)
            {
                foreach (var given in ProjectId) WriteHexError(error, given);
                return false;
            }
        }

        private void Start(string projectId, RunRequest template)
        {
            var version = RunService.Given(template.SourceVersion);
            var action = DryRun ? "Validate a run (dry run)" : version != null && !Force ? $"Run, unless a completed run for source version {version} exists" : "Run";
            if (!ShouldProcess($"Hex project {projectId}", action)) return;

            var request = new RunRequest
            {
                ProjectId = projectId,
                InputParameters = template.InputParameters,
                SourceVersion = template.SourceVersion,
                Force = template.Force,
                IgnoreRunBudget = template.IgnoreRunBudget,
                UpdatePublishedResults = template.UpdatePublishedResults,
                NoSqlCache = template.NoSqlCache,
                DryRun = template.DryRun,
                IdempotencyKey = template.IdempotencyKey,
            };
            var pending = new Pending(projectId);
            var wait = new RunWaitOptions { Wait = Wait, Timeout = Timeout, CancelOnTimeout = !NoCancelOnTimeout, Started = run => pending.Run = run };
            pending.Task = RunService.RunAsync(Account, request, wait, EventSink, StopToken);
            _open.Add(pending);
            _started++;

            if (!Wait)
            {
                Pump(pending.Task);
                _open.Remove(pending);
                WriteOutcome(pending);
                return;
            }

            while (_open.Count >= ThrottleLimit)
            {
                ReportBatch();
                AwaitAny(_open.Select(p => (Task)p.Task).ToArray());
                WriteFinished();
            }
            ReportBatch();
        }

        private void WriteFinished()
        {
            foreach (var done in _open.Where(p => p.Task.IsCompleted).ToList())
            {
                _open.Remove(done);
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
            catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
            {
                _open.Add(pending);
                throw new PipelineStoppedException();
            }
            WriteTypedObject(result.Run, "HexCost.Run");
            if (result.Error != null) WriteHexError(result.Error, result.Run);
        }

        /// <summary>Ctrl+C: the runs this command started and no longer waits for go on in Hex. The pipeline is stopping, so
        /// the warning goes to the host directly; each run is recorded (Get-HexRunReport's LeftRunning).</summary>
        private void WarnLeftRunning()
        {
            var lines = new List<string>();
            var running = _open.Where(p => p.Run != null && !RunStatuses.IsTerminal(p.Run.Status)).Select(p => p.Run!).ToList();
            if (running.Count > 0)
            {
                lines.Add($"Stopped: {Count(running.Count, "run")} HexCost started {(running.Count == 1 ? "is" : "are")} still in flight in Hex, and no one waits for {(running.Count == 1 ? "it" : "them")}:");
                foreach (var run in running)
                {
                    lines.Add($"  run {run.RunId} of project {run.ProjectId} ({run.Status ?? RunStatuses.Pending}); stop it with: Stop-HexRun -ProjectId {run.ProjectId} -RunId {run.RunId}");
                    try
                    {
                        RunService.RecordWaitStopped(Account, run);
                    }
                    catch (HexException)
                    {
                        // The ledger cannot be written: the warning still says what is left running.
                    }
                }
                lines.Add("Check on them with Get-HexRun -ProjectId <id> -RunId <id>; Get-HexRunReport counts them as LeftRunning.");
            }
            foreach (var sending in _open.Where(p => p.Run == null && !p.Task.IsCompleted && !DryRun))
                lines.Add($"Stopped while the trigger of project {sending.ProjectId} was being sent: Hex may have started a run; look with Get-HexRun -ProjectId {sending.ProjectId} -Trigger API -First 1.");
            _open.Clear();
            if (lines.Count == 0) return;
            try
            {
                foreach (var line in lines) Host.UI.WriteWarningLine(line);
            }
            catch (Exception ex) when (ex is PipelineStoppedException || ex is InvalidOperationException || ex is NotImplementedException)
            {
                // A host without a user interface: the ledger records still say it.
            }
        }

        private static string Count(int n, string what) => n.ToString(CultureInfo.InvariantCulture) + " " + what + (n == 1 ? "" : "s");

        private void ReportBatch()
        {
            if (!Wait) return;
            EventSink.Progress(new HexProgress(ProgressIds.Runs, "Invoke-HexRun",
                $"{_open.Count} in flight, {_finished} finished, {_started} started (throttle limit {ThrottleLimit})"));
        }

        private sealed class Pending
        {
            private HexRun? _run;

            public Pending(string projectId) => ProjectId = projectId;

            public string ProjectId { get; }
            public Task<RunResult> Task { get; set; } = null!;

            /// <summary>The run, once known (set from the core's thread when waiting starts).</summary>
            public HexRun? Run
            {
                get => Volatile.Read(ref _run);
                set => Volatile.Write(ref _run, value);
            }
        }
    }

    /// <summary>-InputParameters as the core takes them: plain dictionaries, lists and values, from a hashtable or any
    /// dictionary, a PSCustomObject (ConvertFrom-Json), or JSON text (a run's InputParameters, an Import-Csv cell), nested at
    /// most <see cref="InputCanonicalizer.MaxDepth"/> levels. Anything else is a HexInvalidInputParameters error.</summary>
    internal static class InputParameterValues
    {
        public static IDictionary? Read(Hashtable given)
        {
            var value = given is InputParametersGiven carried ? carried.Value : given;
            var bare = value is PSObject wrapped ? wrapped.BaseObject : value;
            if (bare is string json) return FromJson(json);
            if (bare is IDictionary || bare is PSCustomObject) return (IDictionary?)FromObject(value, "", 1);
            throw Invalid($"-InputParameters is a {bare.GetType().Name} ({HexIds.Show(Convert.ToString(bare, CultureInfo.InvariantCulture))}), not inputs by name. Give a hashtable, e.g. @{{ region = 'EU' }}, or JSON text, e.g. '{{\"region\":\"EU\"}}'.");
        }

        private static object? FromObject(object? value, string path, int depth)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject is PSCustomObject ? wrapped : wrapped.BaseObject;
            switch (value)
            {
                case PSObject custom:
                    Within(path, depth);
                    return Dictionary(custom.Properties.Select(p => new KeyValuePair<object, object?>(p.Name, p.Value)), path, depth);
                case IDictionary dictionary:
                    Within(path, depth);
                    return Dictionary(dictionary.Cast<DictionaryEntry>().Select(e => new KeyValuePair<object, object?>(e.Key, e.Value)), path, depth);
                case string _:
                    return value;
                case IEnumerable sequence:
                    Within(path, depth);
                    return sequence.Cast<object?>().Select(item => FromObject(item, path, depth + 1)).ToList();
                default:
                    return value;
            }
        }

        private static Dictionary<string, object?> Dictionary(IEnumerable<KeyValuePair<object, object?>> entries, string path, int depth)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                var key = Convert.ToString(entry.Key is PSObject k ? k.BaseObject : entry.Key, CultureInfo.InvariantCulture) ?? "";
                if (result.ContainsKey(key)) throw Invalid($"The input parameter '{path}{key}' is given twice.");
                result[key] = FromObject(entry.Value, path + key + ".", depth + 1);
            }
            return result;
        }

        private static void Within(string path, int depth)
        {
            if (depth > InputCanonicalizer.MaxDepth) throw Invalid(InputCanonicalizer.TooDeep(path));
        }

        private static IDictionary? FromJson(string json)
        {
            if (string.IsNullOrWhiteSpace(json)) return null;
            if (NestingOf(json) > InputCanonicalizer.MaxDepth) throw Invalid(InputCanonicalizer.TooDeep(""));
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = InputCanonicalizer.MaxDepth + 1 });
            }
            catch (JsonException ex)
            {
                throw Invalid($"-InputParameters is the text {HexIds.Show(json)}, which is not JSON ({ex.Message}). Give a hashtable, e.g. @{{ region = 'EU' }}, or JSON text as HexCost writes it in a run's InputParameters, e.g. '{{\"region\":\"EU\"}}'.");
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw Invalid($"-InputParameters is the JSON {HexIds.Show(json)}, a {document.RootElement.ValueKind.ToString().ToLowerInvariant()} and not an object of inputs by name, e.g. '{{\"region\":\"EU\"}}'.");
                var inputs = FromElement(document.RootElement, "");
                return ((IDictionary<string, object?>)inputs!).Count == 0 ? null : (IDictionary)inputs!;
            }
        }

        private static object? FromElement(JsonElement element, string path)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var result = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var property in element.EnumerateObject())
                    {
                        if (result.ContainsKey(property.Name)) throw Invalid($"The input parameter '{path}{property.Name}' is given twice.");
                        result[property.Name] = FromElement(property.Value, path + property.Name + ".");
                    }
                    return result;
                case JsonValueKind.Array:
                    return element.EnumerateArray().Select(item => FromElement(item, path)).ToList();
                case JsonValueKind.String:
                    return element.GetString();
                case JsonValueKind.Number:
                    if (element.TryGetInt64(out var whole)) return whole;
                    if (element.TryGetDouble(out var number) && !double.IsInfinity(number)) return number;
                    throw Invalid($"The input parameter '{path.TrimEnd('.')}' is the number {element.GetRawText()}, which is too large to send.");
                case JsonValueKind.True:
                    return true;
                case JsonValueKind.False:
                    return false;
                default:
                    return null;
            }
        }

        /// <summary>How deep JSON text nests (brackets outside strings), so text too deep is refused with the same limit as a hashtable.</summary>
        private static int NestingOf(string json)
        {
            int depth = 0, deepest = 0;
            var inString = false;
            for (var i = 0; i < json.Length; i++)
            {
                var c = json[i];
                if (inString)
                {
                    if (c == '\\') i++;
                    else if (c == '"') inString = false;
                }
                else if (c == '"') inString = true;
                else if (c == '{' || c == '[') deepest = Math.Max(deepest, ++depth);
                else if (c == '}' || c == ']') depth--;
            }
            return deepest;
        }

        private static HexException Invalid(string message) => new HexException(HexErrorKind.InvalidInputParameters, message + " Fix -InputParameters; nothing was sent to Hex.");
    }

    /// <summary>-InputParameters given as JSON text or as an object that is not a hashtable, carried to ProcessRecord (where
    /// one that cannot be read is that item's HexInvalidInputParameters error, not a binding failure).</summary>
    internal sealed class InputParametersGiven : Hashtable
    {
        public InputParametersGiven(object value) => Value = value;

        /// <summary>The JSON text, or the PSObject or dictionary as given.</summary>
        public object Value { get; }
    }

    /// <summary>Lets -InputParameters take what HexCost writes and PowerShell reads back: JSON text (a blank cell is none), a
    /// PSCustomObject (ConvertFrom-Json) or any dictionary, beside a hashtable.</summary>
    internal sealed class InputParametersTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            switch (value)
            {
                case null:
                    return null;
                case string text when string.IsNullOrWhiteSpace(text):
                    return null;
                case Hashtable _:
                    return value;
                default:
                    return new InputParametersGiven(inputData!);
            }
        }
    }

    /// <summary>-SourceVersion and -IdempotencyKey go into the ledger and a cache key: text that survives the round trip (no
    /// lone surrogate, which becomes U+FFFD) and is a version or key, not a file's content.</summary>
    internal sealed class ValidateLedgerTextAttribute : ValidateArgumentsAttribute
    {
        public const int MaxLength = 1024;

        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            var text = (arguments is PSObject wrapped ? wrapped.BaseObject : arguments) as string;
            if (text == null) return;
            if (InputCanonicalizer.LoneSurrogate(text) is string surrogate)
                throw new ValidationMetadataException($"The value holds {surrogate}, which the ledger cannot keep (it would read back as U+FFFD and match another value). Remove it.");
            if (text.Length > MaxLength)
                throw new ValidationMetadataException($"The value is {text.Length} characters long, more than the {MaxLength} a version or key may have: give a short identifier, e.g. (Get-FileHash data.csv).Hash, not the data itself.");
        }
    }
}
