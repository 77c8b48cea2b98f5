using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Security;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Tools;

namespace HexCost.Demo;

/// <summary>
/// The "main job" demo: `dotnet run --project tests/HexCost.Demo [-- --verbose]`. Starts the emulator in-process, runs
/// demo.ps1 in real pwsh (the PowerShell dotnet tool, restored when missing) with the built module imported, prints each
/// step as it arrives, and checks what happened:
/// exit code 0 when everything went as the module promises, 1 when a check failed, 2 on bad arguments, 3 on a crash.
/// </summary>
internal static class Program
{
    private const string Usage = """
        Usage: dotnet run --project tests/HexCost.Demo [-- --verbose]
          --verbose, -v   also print the cmdlets' verbose lines
        """;

    // Hex documents RunProject 20/min and 60/h, every request 60/min, reads 30/min and 1800/h. At that pace the demo
    // would take minutes (HexCost spaces its polls from the read budget), so the demo uses per-second windows for
    // triggers, tight enough to watch HexCost pace them, and roomy request and read budgets.
    private static readonly Hashtable DemoLimits = new()
    {
        ["RunProject"] = new[] { "3/1s", "60/1m" },
        ["Request"] = "600/1m",
        ["Read"] = "600/1m",
    };

    private static EmulatorOptions EmulatorOptionsMatchingDemoLimits() => new()
    {
        PendingDuration = TimeSpan.FromMilliseconds(200),
        RunDuration = TimeSpan.FromSeconds(1),
        RunsPerMinute = 3,
        RunMinuteWindow = TimeSpan.FromSeconds(1),
        RunsPerHour = 60,
        RunHourWindow = TimeSpan.FromMinutes(1),
        RequestsPerWindow = 600,
        RequestWindow = TimeSpan.FromMinutes(1),
        ReadsPerMinute = 600,
        ReadMinuteWindow = TimeSpan.FromMinutes(1),
    };

    private const string StepPrefix = "HEXCOST-DEMO-STEP ";
    private const string ErrorPrefix = "HEXCOST-DEMO-ERROR ";

    /// <summary>What the child pwsh runs: import the module, run demo.ps1, and write each step as one serialized line (then
    /// wait for a line on standard input) and every other record as text (the step objects carry their own errors).</summary>
    private static string Wrapper(bool verbose) => $$"""
        $token = $env:HEXCOST_DEMO_TOKEN
        Remove-Item -Path Env:HEXCOST_DEMO_TOKEN
        Import-Module -Name $env:HEXCOST_DEMO_MANIFEST -ErrorAction Stop
        $limits = {{FormatHashtable(DemoLimits)}}
        & $env:HEXCOST_DEMO_SCRIPT -Token $token -BaseUri $env:HEXCOST_DEMO_BASE_URI -StatePath $env:HEXCOST_DEMO_STATE -RateLimit $limits -Verbose:${{(verbose ? "true" : "false")}} *>&1 |
            ForEach-Object {
                if ($_ -is [System.Management.Automation.VerboseRecord]) { "VERBOSE: $($_.Message)" }
                elseif ($_ -is [System.Management.Automation.WarningRecord]) { "WARNING: $($_.Message)" }
                elseif ($_ -is [System.Management.Automation.InformationRecord]) { "INFO: $($_.MessageData)" }
                elseif ($_ -is [System.Management.Automation.ErrorRecord]) { '{{ErrorPrefix}}' + $_.FullyQualifiedErrorId + ': ' + $_.Exception.Message }
                else {
                    [System.Console]::Out.WriteLine('{{StepPrefix}}' + [System.Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes([System.Management.Automation.PSSerializer]::Serialize($_, 4))))
                    [System.Console]::Out.Flush()
                    # The next step starts once the demo has read the emulator's counters for this one.
                    $null = [System.Console]::In.ReadLine()
                }
            }
        """;

    public static async Task<int> Main(string[] args)
    {
        var verbose = false;
        foreach (var arg in args)
        {
            switch (arg)
            {
                case "--verbose" or "-v": verbose = true; break;
                case "--help" or "-h": Console.WriteLine(Usage); return 0;
                default:
                    Console.Error.WriteLine($"Unknown option {arg}.");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        try
        {
            return await RunAsync(verbose);
        }
        catch (Exception e)
        {
            Console.Out.Flush();
            Console.Error.WriteLine();
            Console.Error.WriteLine("The demo crashed: " + e);
            return 3;
        }
    }

    private static async Task<int> RunAsync(bool verbose)
    {
        var clock = Stopwatch.StartNew();
        var root = FindRepoRoot();
        var manifest = Path.Combine(root, "HexCost.psd1");
        var script = Path.Combine(root, "tests", "HexCost.Demo", "demo.ps1");
        var pwsh = PwshTool.Find(root);
        var options = EmulatorOptionsMatchingDemoLimits();

        await using var emulator = await HexEmulator.StartAsync(options);
        var statePath = Path.Combine(Path.GetTempPath(), "hexcost-demo-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(statePath);

        Console.WriteLine("HexCost demo: the main job");
        Console.WriteLine("  Run the scheduled Hex projects within Hex's rate limits, and reuse a completed run while the data it reads is unchanged.");
        Console.WriteLine();
        Console.WriteLine($"  Module    {manifest}  (it imports module/HexCost, the folder the build assembles)");
        Console.WriteLine($"  Script    {Path.GetRelativePath(root, script)}  (in pwsh {PwshVersion(pwsh)}, the PowerShell dotnet tool: {pwsh})");
        Console.WriteLine($"  Emulator  {emulator.BaseUri}  (in-process; {options.ProjectCount} demo projects; a run is PENDING {options.PendingDuration.TotalSeconds:0.0} s, then RUNNING {options.RunDuration.TotalSeconds:0.0} s)");
        Console.WriteLine($"  State     {statePath}  (a new temporary folder: ledger and run cache)");
        Console.WriteLine();
        Console.WriteLine("  Rate limits are scaled for the demo. Hex allows 20 runs a minute and 60 an hour, 60 requests a minute and");
        Console.WriteLine("  30 reads a minute; at that pace this demo would take minutes. The script connects with");
        Console.WriteLine("    -RateLimit " + FormatHashtable(DemoLimits));
        Console.WriteLine($"  and the emulator enforces the same windows (RunProject {options.RunsPerMinute}/{options.RunMinuteWindow.TotalSeconds:0}s and {options.RunsPerHour}/{options.RunHourWindow.TotalMinutes:0}m,");
        Console.WriteLine($"  requests {options.RequestsPerWindow}/{options.RequestWindow.TotalMinutes:0}m, reads {options.ReadsPerMinute}/{options.ReadMinuteWindow.TotalMinutes:0}m), answering 429 beyond them.");

        var demo = new DemoRun(emulator);
        try
        {
            // The script runs in real pwsh; each step it writes comes back serialized (PSSerializer) on one line, so the
            // emulator's counters read here, as each step arrives, are exactly what that step did.
            var start = PwshTool.StartInfo(pwsh, "-NoProfile", "-NonInteractive", "-Command", Wrapper(verbose));
            start.Environment["HEXCOST_DEMO_TOKEN"] = emulator.Token; // never on a command line
            start.Environment["HEXCOST_DEMO_MANIFEST"] = manifest;
            start.Environment["HEXCOST_DEMO_SCRIPT"] = script;
            start.Environment["HEXCOST_DEMO_BASE_URI"] = emulator.BaseUri.ToString();
            start.Environment["HEXCOST_DEMO_STATE"] = statePath;
            start.RedirectStandardInput = true;
            using var child = Process.Start(start)!;
            var stderr = child.StandardError.ReadToEndAsync();
            while (await child.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith(StepPrefix, StringComparison.Ordinal))
                {
                    demo.OnStep((PSObject)PSSerializer.Deserialize(System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(line[StepPrefix.Length..]))));
                    await child.StandardInput.WriteLineAsync();
                    await child.StandardInput.FlushAsync();
                }
                else if (line.StartsWith(ErrorPrefix, StringComparison.Ordinal))
                    demo.Fail("An error outside any step: " + line[ErrorPrefix.Length..]);
                else if (line.Length > 0)
                    demo.Note(line);
            }
            await child.WaitForExitAsync();
            var errors = (await stderr).Trim();
            if (child.ExitCode != 0 || errors.Length > 0) demo.Fail($"pwsh exited with {child.ExitCode}{(errors.Length > 0 ? ": " + errors : "")}");
        }
        finally
        {
            try { Directory.Delete(statePath, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        demo.Finish(clock.Elapsed);
        return demo.Failures.Count == 0 ? 0 : 1;
    }

    /// <summary>Prints each step and checks it against what the module promises.</summary>
    private sealed class DemoRun
    {
        private readonly HexEmulator _emulator;
        private readonly Dictionary<string, string?> _titles = new(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<string, PSObject> _firstBatch = new(StringComparer.OrdinalIgnoreCase);
        private readonly List<string> _passed = [];
        private HashSet<string> _scheduled = new(StringComparer.OrdinalIgnoreCase);
        private int _runsBefore;
        private IReadOnlyDictionary<string, int> _requestsBefore;
        private int _number;

        public DemoRun(HexEmulator emulator)
        {
            _emulator = emulator;
            _runsBefore = emulator.Stats.RunsCreated;
            _requestsBefore = emulator.Stats.RequestsByOperation;
        }

        public List<string> Failures { get; } = [];

        private readonly List<string> _notes = [];

        public void Note(string line)
        {
            lock (_notes) _notes.Add(line);
        }

        private void PrintNotes()
        {
            string[] notes;
            lock (_notes)
            {
                notes = _notes.ToArray();
                _notes.Clear();
            }
            if (notes.Length == 0) return;
            foreach (var line in notes) Console.WriteLine("  " + line);
            Console.WriteLine();
        }

        public void Fail(string failure)
        {
            Failures.Add(failure);
            Console.WriteLine("  FAILED: " + failure);
        }

        private void Check(bool ok, string what)
        {
            if (ok) _passed.Add(what);
            else Fail(what);
        }

        public void OnStep(PSObject step)
        {
            try
            {
                Print(step);
            }
            catch (Exception e)
            {
                Fail($"Printing a step failed: {e}");
            }
        }

        private void Print(PSObject step)
        {
            var stats = _emulator.Stats;
            var runsAfter = stats.RunsCreated;
            var requestsAfter = stats.RequestsByOperation;
            var newRuns = runsAfter - _runsBefore;
            var requests = requestsAfter
                .Select(p => (Operation: p.Key, Count: p.Value - _requestsBefore.GetValueOrDefault(p.Key)))
                .Where(p => p.Count > 0).OrderByDescending(p => p.Count).ThenBy(p => p.Operation, StringComparer.Ordinal).ToList();

            var name = Prop<string>(step, "Step") ?? "";
            var items = Items(step, "Items").ToList();
            var errors = Items(step, "Errors").Select(DemoError.From).ToList();

            Console.WriteLine();
            Console.WriteLine($"== {++_number}. {Prop<string>(step, "Title")}");
            var lines = (Prop<string>(step, "Command") ?? "").Split('\n').Select(l => l.Trim()).ToArray();
            for (var i = 0; i < lines.Length; i++) Console.WriteLine((i == 0 ? "PS> " : "        ") + lines[i]);
            Console.WriteLine();
            PrintNotes();

            switch (name)
            {
                case "connect":
                    PrintList(items.FirstOrDefault(), "BaseUri", "OrgId", "UserEmail", "Role", "RateLimit", "StatePath");
                    Check(items.Count == 1 && errors.Count == 0, "Connect-Hex connected and wrote its session");
                    break;
                case "projects":
                    foreach (var p in items) _titles[Prop<string>(p, "ProjectId") ?? ""] = Prop<string>(p, "Title");
                    _scheduled = items.Where(p => Prop<int>(p, "ScheduleCount") > 0).Select(p => Prop<string>(p, "ProjectId") ?? "").ToHashSet(StringComparer.OrdinalIgnoreCase);
                    PrintProjects(items);
                    Console.WriteLine();
                    Console.WriteLine($"  {items.Count} projects (archived, trashed and components are left out unless asked for); {_scheduled.Count} have a schedule.");
                    Check(items.Count > 0 && _scheduled.Count > 0 && errors.Count == 0, $"Get-HexProject listed {items.Count} projects, {_scheduled.Count} scheduled");
                    break;
                default:
                    PrintRuns(items);
                    break;
            }

            if (errors.Count > 0)
            {
                Console.WriteLine();
                Console.WriteLine($"  Errors written ({errors.Count}):");
                foreach (var error in errors)
                {
                    var about = error.ProjectId != null ? $" [{Short(error.ProjectId)} {TitleOf(error.ProjectId)}]" : "";
                    Console.WriteLine($"    {error.FullyQualifiedErrorId}{about}");
                    Console.WriteLine($"      {error.Message}");
                }
            }

            var isBatch = name.StartsWith("batch", StringComparison.Ordinal);
            if (isBatch)
            {
                var cached = items.Count(r => Prop<bool>(r, "FromCache"));
                var notCompleted = items.Where(r => Prop<string>(r, "Status") != "COMPLETED").Select(r => TitleOf(Prop<string>(r, "ProjectId") ?? "")).ToList();
                Console.WriteLine();
                Console.WriteLine($"  {items.Count} runs: {items.Count - cached} started, {cached} served from cache"
                    + (notCompleted.Count > 0 ? $"; did not complete: {string.Join(", ", notCompleted)}" : "") + ".");
                if (name == "batch-v1")
                    Console.WriteLine("  ThrottledSeconds is the time HexCost held a trigger back to keep to RunProject 3/1s; Invoke-HexRun waits for at most 5 runs at once (-ThrottleLimit).");
                if (name == "batch-v1-again" && cached < items.Count)
                    Console.WriteLine("  A run that failed is never reused: its project runs again, so only the completed runs come from the cache.");
            }

            Console.WriteLine();
            var requestText = $"requests +{requests.Sum(r => r.Count)}"
                + (requests.Count > 0 ? " (" + string.Join(", ", requests.Select(r => $"{r.Operation} {r.Count}")) + ")" : "");
            Console.WriteLine(isBatch
                ? $"  Emulator: RunsCreated {_runsBefore} -> {runsAfter} (+{newRuns} new Hex runs); {requestText}; 429 answers so far: {stats.Throttled429}"
                : $"  Emulator: {requestText}");

            switch (name)
            {
                case "batch-v1": CheckFirstBatch(items, errors, newRuns); break;
                case "batch-v1-again": CheckCachedBatch(items, errors, newRuns); break;
                case "batch-v2": CheckNewVersionBatch(items, errors, newRuns); break;
            }

            _runsBefore = runsAfter;
            _requestsBefore = requestsAfter;
        }

        private void CheckFirstBatch(List<PSObject> runs, List<DemoError> errors, int newRuns)
        {
            foreach (var run in runs) _firstBatch[Prop<string>(run, "ProjectId") ?? ""] = run;
            var failed = runs.Count(r => Prop<string>(r, "Status") != "COMPLETED");
            Check(_firstBatch.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(_scheduled) && runs.Count == _scheduled.Count,
                $"v1: one run for each of the {_scheduled.Count} scheduled projects");
            Check(runs.All(r => !Prop<bool>(r, "FromCache")) && newRuns == runs.Count, $"v1: every run is new ({newRuns} Hex runs created)");
            Check(errors.Count == failed && errors.All(e => e.FullyQualifiedErrorId.StartsWith("HexRunFailed,", StringComparison.Ordinal)),
                $"v1: each of the {failed} runs that did not complete wrote a HexRunFailed error, and nothing else failed");
        }

        private void CheckCachedBatch(List<PSObject> runs, List<DemoError> errors, int newRuns)
        {
            var completed = _firstBatch.Values.Where(r => Prop<string>(r, "Status") == "COMPLETED").Select(r => Prop<string>(r, "ProjectId") ?? "").ToHashSet(StringComparer.OrdinalIgnoreCase);
            var rerun = _firstBatch.Count - completed.Count;
            var byProject = runs.ToDictionary(r => Prop<string>(r, "ProjectId") ?? "", StringComparer.OrdinalIgnoreCase);
            var cached = completed.Count(id => byProject.TryGetValue(id, out var r) && Prop<bool>(r, "FromCache")
                && Prop<string>(r, "RunId") == Prop<string>(_firstBatch[id], "RunId"));
            Check(runs.Count == _firstBatch.Count && cached == completed.Count,
                $"v1 again: all {completed.Count} completed runs served from cache (FromCache = True, the same RunId as before)");
            Check(newRuns == rerun && runs.Count(r => !Prop<bool>(r, "FromCache")) == rerun,
                rerun == 0 ? "v1 again: no new Hex runs" : $"v1 again: the only new Hex runs ({newRuns}) are of the {rerun} project(s) whose v1 run failed: failed runs are never cached");
            Check(errors.All(e => e.FullyQualifiedErrorId.StartsWith("HexRunFailed,", StringComparison.Ordinal)) && errors.Count <= rerun,
                "v1 again: no errors but those of the failing project(s)");
        }

        private void CheckNewVersionBatch(List<PSObject> runs, List<DemoError> errors, int newRuns)
        {
            var failed = runs.Count(r => Prop<string>(r, "Status") != "COMPLETED");
            Check(runs.Count == _scheduled.Count && runs.All(r => !Prop<bool>(r, "FromCache")) && newRuns == runs.Count,
                $"v2: the new source version ran every scheduled project again ({newRuns} Hex runs created)");
            Check(errors.Count == failed && errors.All(e => e.FullyQualifiedErrorId.StartsWith("HexRunFailed,", StringComparison.Ordinal)),
                "v2: no errors but HexRunFailed for runs that did not complete");
        }

        public void Finish(TimeSpan elapsed)
        {
            if (_notes.Count > 0)
            {
                Console.WriteLine();
                Console.WriteLine("== After the steps");
                lock (_notes)
                {
                    foreach (var line in _notes) Console.WriteLine("  " + line);
                    _notes.Clear();
                }
            }
            var stats = _emulator.Stats;
            Check(_number == 5, $"the script wrote all 5 steps (got {_number})");
            Check(stats.Throttled429 == 0, $"the emulator answered no request with 429: HexCost kept to the limits itself (got {stats.Throttled429})");

            Console.WriteLine();
            Console.WriteLine("== Checks");
            foreach (var ok in _passed) Console.WriteLine("  ok    " + ok);
            foreach (var failure in Failures) Console.WriteLine("  FAIL  " + failure);
            Console.WriteLine();
            Console.WriteLine($"Emulator totals: {stats.TotalRequests} requests, {stats.RunsCreated} runs created, {stats.Throttled429} answered 429.");
            Console.WriteLine(Failures.Count == 0
                ? $"Demo finished in {elapsed.TotalSeconds:0.0} s: all {_passed.Count} checks passed."
                : $"Demo finished in {elapsed.TotalSeconds:0.0} s: {Failures.Count} check(s) FAILED.");
        }

        private string TitleOf(string projectId) => _titles.TryGetValue(projectId, out var title) ? title ?? "" : "";

        private static void PrintProjects(List<PSObject> projects) => Table.Print(projects,
            new("ProjectId", p => Short(Prop<string>(p, "ProjectId"))),
            new("Title", p => Prop<string>(p, "Title"), Max: 28),
            new("Type", p => Prop<string>(p, "Type")),
            new("Owner", p => Prop<string>(p, "Owner"), Max: 28),
            new("Status", p => Prop<string>(p, "Status")),
            new("Schedules", p => Text(Prop<object>(p, "ScheduleCount")), Right: true),
            new("Cadences", p => Prop<string>(p, "Cadences")),
            new("Views30d", p => Text(Prop<object>(p, "AppViewsLast30Days")), Right: true),
            new("LastPublished", p => Prop<DateTime?>(p, "LastPublishedAt")?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "never"));

        private void PrintRuns(List<PSObject> runs) => Table.Print(runs,
            new("ProjectId", r => Short(Prop<string>(r, "ProjectId"))),
            new("Title", r => TitleOf(Prop<string>(r, "ProjectId") ?? ""), Max: 28),
            new("Status", r => Prop<string>(r, "Status")),
            new("FromCache", r => Text(Prop<object>(r, "FromCache"))),
            new("Attempts", r => Text(Prop<object>(r, "Attempts")), Right: true),
            new("ThrottledSeconds", r => Text(Prop<object>(r, "ThrottledSeconds")), Right: true),
            new("ElapsedSeconds", r => Text(Prop<object>(r, "ElapsedSeconds")), Right: true),
            new("RunId", r => Short(Prop<string>(r, "RunId"))),
            new("SourceVersion", r => Prop<string>(r, "SourceVersion")));

        private static void PrintList(PSObject? item, params string[] names)
        {
            if (item == null) return;
            var width = names.Max(n => n.Length);
            foreach (var name in names) Console.WriteLine($"  {name.PadRight(width)} : {Text(Prop<object>(item, name))}");
        }
    }

    /// <summary>A fixed-width table (Format-Table is not in an engine-only runspace).</summary>
    private static class Table
    {
        public sealed record Column(string Header, Func<PSObject, string?> Value, int Max = 40, bool Right = false);

        public static void Print(IReadOnlyList<PSObject> rows, params Column[] columns)
        {
            if (rows.Count == 0)
            {
                Console.WriteLine("  (no output)");
                return;
            }
            var cells = rows.Select(r => columns.Select(c => Clip(c.Value(r) ?? "", c.Max)).ToArray()).ToList();
            var widths = columns.Select((c, i) => Math.Max(c.Header.Length, cells.Max(row => row[i].Length))).ToArray();
            string Line(IEnumerable<string> values) =>
                "  " + string.Join("  ", values.Select((v, i) => columns[i].Right ? v.PadLeft(widths[i]) : v.PadRight(widths[i]))).TrimEnd();
            Console.WriteLine(Line(columns.Select(c => c.Header)));
            Console.WriteLine(Line(widths.Select(w => new string('-', w))));
            foreach (var row in cells) Console.WriteLine(Line(row));
        }

        private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 3)] + "...";
    }

    private static T? Prop<T>(PSObject obj, string name)
    {
        var value = obj.Properties[name]?.Value;
        if (value is PSObject wrapped) value = wrapped.BaseObject;
        return value is T typed ? typed : default;
    }

    private static IEnumerable<PSObject> Items(PSObject obj, string name) =>
        Prop<object>(obj, name) is IEnumerable list and not string ? list.Cast<object>().Select(PSObject.AsPSObject) : [];

    private static string Text(object? value) => value switch
    {
        null => "",
        double d => d.ToString("0.0", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Short(string? id) => id == null ? "" : id.Length > 8 ? id[..8] : id;

    /// <summary>An error a step wrote, as it arrives from the child pwsh (a deserialized ErrorRecord).</summary>
    private sealed record DemoError(string FullyQualifiedErrorId, string Message, string? ProjectId)
    {
        public static DemoError From(PSObject error)
        {
            var details = Prop<PSObject>(error, "ErrorDetails") ?? (error.Properties["ErrorDetails"]?.Value as PSObject);
            var message = (details != null ? Prop<string>(details, "Message") : null)
                ?? (error.Properties["Exception"]?.Value is PSObject exception ? Prop<string>(exception, "Message") : null) ?? "";
            var target = error.Properties["TargetObject"]?.Value;
            var projectId = target is PSObject wrapped ? wrapped.BaseObject as string ?? Prop<string>(wrapped, "ProjectId") : target as string;
            return new DemoError(Prop<string>(error, "FullyQualifiedErrorId") ?? "", message, projectId);
        }
    }

    private static string FormatHashtable(Hashtable table) => "@{ " + string.Join("; ", table.Keys.Cast<string>().OrderByDescending(k => k == "RunProject").ThenBy(k => k, StringComparer.Ordinal)
        .Select(k => k + " = " + (table[k] is string s ? $"'{s}'" : string.Join(",", ((IEnumerable)table[k]!).Cast<object>().Select(v => $"'{v}'"))))) + " }";

    private static string PwshVersion(string pwsh) =>
        System.Diagnostics.FileVersionInfo.GetVersionInfo(pwsh).ProductVersion?.Split(' ', '+')[0] ?? "?";

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "HexCost.psd1"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("HexCost.psd1 not found above " + AppContext.BaseDirectory);
    }
}
