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
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;

using static HexCost.Benchmarks.Tables;
using static HexCost.Benchmarks.Shell;

namespace HexCost.Benchmarks;

/// <summary>What <c>--audit</c> does: which workspace sizes, how the limits are handled, whether to trace the live heap.</summary>
internal sealed record AuditSettings
{
    public IReadOnlyList<int> Sizes { get; init; } = [1_000, 10_000];
    /// <summary>Hex's windows divided by this, in the emulator and the client alike; null = limits off in both.</summary>
    public double? Scale { get; init; } = 120;
    /// <summary>Also run a second child per size that forces a full GC at every page, for the live heap per page.</summary>
    public bool Trace { get; init; } = true;
    /// <summary>In the trace child, the parent attaches ClrMD twice (all findings in; audit over) for a type histogram of the heap.</summary>
    public bool Histogram { get; init; } = true;
    public int Seed { get; init; } = 42;
    public string? ResultsPath { get; init; }
}

/// <summary>One progress record of Get-HexScheduleAudit as the child saw it, with the managed heap at that moment.</summary>
internal sealed record PageSample(string Stage, int Page, int Audited, int Findings, double Ms, long Heap);

/// <summary>What the child measured of its own audit (serialised to the parent as one JSON line).</summary>
internal sealed record ChildResult
{
    public string Mode { get; init; } = "";
    public double AuditMs { get; init; }
    public double ImportConnectMs { get; init; }
    public long BaselineLiveHeap { get; init; }
    public long BaselineWorkingSet { get; init; }
    public long BaselinePeakWorkingSet { get; init; }
    public long PeakHeapSampled { get; init; }
    public long PeakHeapSizeAfterGc { get; init; }
    public long PeakWorkingSetSelf { get; init; }
    public long AllocatedBytes { get; init; }
    public int Gen0 { get; init; }
    public int Gen1 { get; init; }
    public int Gen2 { get; init; }
    public Dictionary<string, int> FindingsByRule { get; init; } = [];
    public int Findings { get; init; }
    public int Errors { get; init; }
    public string? FirstError { get; init; }
    public List<PageSample> Samples { get; init; } = [];
    /// <summary>Trace mode: the findings' size added up from their fields (see <see cref="FindingSizer"/>).</summary>
    public long? EstimatedFindingBytes { get; init; }
    /// <summary>Trace mode: live heap after the audit, its output counted and dropped, 2 s later (permits of longer limiter windows are still held).</summary>
    public long? LiveHeapAfter { get; init; }
}

/// <summary>
/// Adds up the size of the findings as they stream out, keeping none: per object a 16-byte header and 8 bytes per field
/// (rounded to 8, at least 24), plus each string field (22 + 2 per char, rounded to 8); strings shared between findings count
/// once per finding. Public so the child's script can call <see cref="Add"/>.
/// </summary>
public sealed class FindingSizer
{
    public long Bytes { get; private set; }
    public int Count { get; private set; }

    public void Add(object finding)
    {
        var fields = finding.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        long size = Math.Max(24, (16 + 8 * fields.Length + 7) / 8 * 8);
        foreach (var f in fields)
            if (f.GetValue(finding) is string text)
                size += (22 + 2L * text.Length + 7) / 8 * 8;
        Bytes += size;
        Count++;
    }
}

/// <summary>The figures of the audit section this run replaces, read back from its markdown (null parts when a row is missing).</summary>
internal sealed record PreviousRun(string Date, double[] HeldPerProject, double[] PeakWorkingSet, double[] WallSeconds)
{
    public static PreviousRun? Read(string? section)
    {
        if (section is null || Regex.Match(section, @"^- Date: (.+?) UTC", RegexOptions.Multiline) is not { Success: true } date) return null;
        var held = section.IndexOf("Held by the audit at the end", StringComparison.Ordinal);
        return new PreviousRun(date.Groups[1].Value,
            held < 0 ? [] : Row(section[held..], "per audited project (bytes)"),
            Row(section, "Peak working set of the child (MB)"),
            Row(section, "Wall time of Get-HexScheduleAudit (s)"));
    }

    /// <summary>The numbers of the first table row whose label ends with <paramref name="label"/>, without the ratio column.</summary>
    private static double[] Row(string text, string label)
    {
        var row = Regex.Match(text, @"^\|[^|\n]*" + Regex.Escape(label) + @"\s*\|(.*)$", RegexOptions.Multiline);
        if (!row.Success) return [];
        return row.Groups[1].Value.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(cell => !cell.EndsWith('x'))
            .Select(cell => double.Parse(cell, NumberStyles.Number, CultureInfo.InvariantCulture)).ToArray();
    }
}

/// <summary>The parent's view of one child run.</summary>
internal sealed record AuditRun(int Projects, ChildResult Child, double ProcessSeconds, long? PeakWorkingSetAfterExit, long PeakWorkingSetPolled,
    int TotalRequests, IReadOnlyDictionary<string, int> ByOperation, int Throttled429, IReadOnlyDictionary<string, HeapHistogram> Histograms);

/// <summary>Objects on a heap by type name: count and bytes.</summary>
internal sealed class HeapHistogram
{
    public Dictionary<string, (long Count, long Bytes)> Types { get; } = new(StringComparer.Ordinal);
    public string? Error { get; init; }

    public const string HelperSwitch = "--heap-histogram";

    /// <summary>
    /// Walks the heap of <paramref name="pid"/> from a helper process (this program with <c>--heap-histogram PID</c>). The
    /// attaching process must not be the target's parent: .NET's own waitpid for its children would swallow the ptrace stop
    /// that ClrMD waits for, and the attach would hang.
    /// </summary>
    public static HeapHistogram TakeFromHelper(int pid)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark cannot find its own executable.");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        start.ArgumentList.Add(HelperSwitch);
        start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        using var helper = Process.Start(start)!;
        var stdout = helper.StandardOutput.ReadToEndAsync();
        var stderr = helper.StandardError.ReadToEndAsync();
        if (!helper.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            helper.Kill();
            return new HeapHistogram { Error = "the heap walk took longer than 3 min" };
        }
        if (helper.ExitCode != 0) return new HeapHistogram { Error = $"the heap walk failed ({helper.ExitCode}): {stderr.Result.Trim()}" };
        var histogram = new HeapHistogram();
        foreach (var line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.TrimEnd('\r').Split('\t');
            if (parts.Length == 3)
                histogram.Types[parts[2]] = (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        return histogram;
    }

    /// <summary>The helper: prints "count TAB bytes TAB type" per type of <paramref name="pid"/>'s heap.</summary>
    public static int Helper(int pid)
    {
        var histogram = Take(pid);
        if (histogram.Error is not null)
        {
            Console.Error.WriteLine(histogram.Error);
            return 1;
        }
        var text = new StringBuilder();
        foreach (var (type, (count, bytes)) in histogram.Types)
            text.Append(count.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(bytes.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(type.Replace('\t', ' ').Replace('\n', ' ')).Append('\n');
        Console.Out.Write(text.ToString());
        return 0;
    }

    /// <summary>Attaches to <paramref name="pid"/> (suspending it), walks its GC heap and detaches.</summary>
    private static HeapHistogram Take(int pid)
    {
        try
        {
            using var target = Microsoft.Diagnostics.Runtime.DataTarget.AttachToProcess(pid, suspend: true);
            var clr = target.ClrVersions[0];
            // The DAC sits beside the target's libcoreclr (ClrMD does not download one on Linux).
            var dac = Path.Combine(Path.GetDirectoryName(clr.ModuleInfo.FileName) ?? "", RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "mscordaccore.dll" : "libmscordaccore.so");
            using var runtime = File.Exists(dac) ? clr.CreateRuntime(dac, ignoreMismatch: true) : clr.CreateRuntime(); // ClrMD reads the version as 0.0 on Linux
            var histogram = new HeapHistogram();
            foreach (var obj in runtime.Heap.EnumerateObjects())
            {
                if (!obj.IsValid || obj.IsFree) continue;
                var name = obj.Type?.Name ?? "?";
                var (count, bytes) = histogram.Types.GetValueOrDefault(name);
                histogram.Types[name] = (count + 1, bytes + (long)obj.Size);
            }
            return histogram;
        }
        catch (Exception ex)
        {
            return new HeapHistogram { Error = ex.GetType().Name + ": " + ex.Message };
        }
    }

    /// <summary>Per type: this minus <paramref name="other"/>.</summary>
    public Dictionary<string, (long Count, long Bytes)> Minus(HeapHistogram other) =>
        Types.Keys.Union(other.Types.Keys).ToDictionary(k => k, k =>
        {
            var (c1, b1) = Types.GetValueOrDefault(k);
            var (c2, b2) = other.Types.GetValueOrDefault(k);
            return (c1 - c2, b1 - b2);
        }, StringComparer.Ordinal);
}

/// <summary>
/// <c>--audit</c>: Get-HexScheduleAudit over generated workspaces (1,000 and 10,000 projects by default). The emulator runs in
/// this process; each audit runs in a fresh runspace of a fresh child process (this program with <c>--audit-child</c>), so the
/// child's peak memory is the client's alone. Per size a "measure" child runs the audit as a user would and samples its managed
/// heap; a "trace" child forces a full GC at every page, so its samples are the live heap per page.
/// </summary>
internal static class AuditBenchmark
{
    public const string Switch = "--audit";
    public const string ChildSwitch = "--audit-child";
    private const string TokenVariable = "HEXCOST_BENCH_TOKEN";
    private const string ResultPrefix = "AUDIT-RESULT ";
    private const string PausePrefix = "AUDIT-PAUSE ";
    internal const string SectionMarker = "<!-- audit-benchmark: the section below is rewritten by --audit -->";
    private static readonly Regex PageStatus = new(@"^Page (\d+): (\d+) projects audited, (\d+) findings so far$", RegexOptions.CultureInvariant);
    private static readonly Regex DoneStatus = new(@"^(\d+) projects, (\d+) findings$", RegexOptions.CultureInvariant);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public const string Usage = "Usage: dotnet run -c Release --project tests/HexCost.Benchmarks -- --audit [--sizes 1000,10000] [--scale 120 | --no-limits] [--no-trace] [--no-histogram] [--seed 42] [--out FILE]";

    // ---------------------------------------------------------------- parent

    public static async Task<int> RunAsync(string[] args, string root)
    {
        AuditSettings settings;
        try
        {
            settings = Parse(args);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var resultsPath = settings.ResultsPath ?? Path.Combine(root, "tests", "HexCost.Benchmarks", "results.md");
        var command = "dotnet run -c Release --project tests/HexCost.Benchmarks -- " + string.Join(" ", args);
        var started = DateTimeOffset.UtcNow;
        var limitsText = LimitsDescription(settings);

        Console.WriteLine($"HexCost audit benchmark: Get-HexScheduleAudit over {string.Join(" and ", settings.Sizes.Select(N))} generated projects (seed {settings.Seed}).");
        Console.WriteLine("Rate limits: " + limitsText);
        Console.WriteLine("Each audit runs in a fresh runspace of a fresh child process; the emulator runs in this process.");

        var runs = new List<(AuditRun Measure, AuditRun? Trace)>();
        var step = 0;
        var steps = settings.Sizes.Count * (settings.Trace ? 2 : 1);
        foreach (var size in settings.Sizes)
        {
            Console.WriteLine($"[{++step}/{steps}] {N(size)} projects: measure child ...");
            var measure = await RunChildAsync(settings, size, "measure");
            Console.WriteLine($"      done: audit {F(measure.Child.AuditMs / 1000, "0.0")} s, {measure.Child.Findings} findings, {measure.TotalRequests} requests, peak working set {F(Mb(PeakWorkingSet(measure)), "0.0")} MB, {measure.Child.Errors} errors.");
            AuditRun? trace = null;
            if (settings.Trace)
            {
                Console.WriteLine($"[{++step}/{steps}] {N(size)} projects: trace child (full GC at every page) ...");
                trace = await RunChildAsync(settings, size, settings.Histogram ? "trace-histogram" : "trace");
                Console.WriteLine($"      done: audit {F(trace.Child.AuditMs / 1000, "0.0")} s, live heap after the last page {F(Mb(LastPage(trace)?.Heap ?? 0), "0.0")} MB.");
            }
            runs.Add((measure, trace));
        }

        var (console, markdown) = Report(settings, runs, PreviousRun.Read(ExistingSection(resultsPath)));
        Console.WriteLine();
        Console.WriteLine(console);

        var section = new StringBuilder()
            .AppendLine(SectionMarker)
            .AppendLine("## Audit: Get-HexScheduleAudit memory and requests")
            .AppendLine()
            .AppendLine($"- Command: `{command}` (from the repository root)")
            .AppendLine($"- Date: {started:yyyy-MM-dd HH:mm} UTC, took {F((DateTimeOffset.UtcNow - started).TotalMinutes, "0.0")} min")
            .AppendLine($"- Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}, workstation GC, System.Management.Automation {typeof(PowerShell).Assembly.GetName().Version}")
            .AppendLine($"- Workspace: emulator with `ProjectCount` = {string.Join(" / ", settings.Sizes.Select(N))}, seed {settings.Seed}, run history generated before the child starts; rate limits: {limitsText}")
            .AppendLine("- Client: a fresh child process per size and mode opens one runspace, `Import-Module HexCost.psd1`, `Connect-Hex -RateLimit …`, then " +
                        "`Get-HexScheduleAudit | ForEach-Object { count by Rule }` (findings are counted as they stream out, not kept)")
            .AppendLine()
            .Append(markdown);
        WriteSection(resultsPath, section.ToString());
        Console.WriteLine($"Written to {resultsPath}");
        return runs.All(r => r.Measure.Child.Errors == 0) ? 0 : 1;
    }

    private static async Task<AuditRun> RunChildAsync(AuditSettings settings, int size, string mode)
    {
        var options = settings.Scale is { } scale ? new ScaledLimits(scale).Emulator(new Settings()) : new EmulatorOptions { RateLimitsEnabled = false };
        options.ProjectCount = size;
        options.Seed = settings.Seed;
        await using var emulator = await HexEmulator.StartAsync(options);
        _ = emulator.Workspace.Runs; // generates every project's run history now, so the emulator does not do it during the audit
        var state = Path.Combine(Path.GetTempPath(), "hexcost-bench", "audit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(state);
        try
        {
            var self = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark cannot find its own executable.");
            var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
                start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
            foreach (var a in new[] { ChildSwitch, mode, emulator.BaseUri.ToString(), state, ClientLimits(settings) }) start.ArgumentList.Add(a);
            start.Environment[TokenVariable] = emulator.Token;

            var clock = Stopwatch.StartNew();
            using var child = Process.Start(start)!;
            var histograms = new Dictionary<string, HeapHistogram>(StringComparer.Ordinal);
            var lines = new List<string>();
            var stdout = Task.Run(async () =>
            {
                // The trace-histogram child stops at "AUDIT-PAUSE stage" until it reads a line: its heap is walked meanwhile.
                while (await child.StandardOutput.ReadLineAsync() is { } text)
                {
                    if (text.StartsWith(PausePrefix, StringComparison.Ordinal))
                    {
                        histograms[text[PausePrefix.Length..]] = HeapHistogram.TakeFromHelper(child.Id);
                        await child.StandardInput.WriteLineAsync("go");
                        await child.StandardInput.FlushAsync();
                    }
                    else
                    {
                        lines.Add(text);
                    }
                }
                return string.Join("\n", lines);
            });
            var stderr = child.StandardError.ReadToEndAsync();
            long polled = 0;
            var deadline = TimeSpan.FromMinutes(30);
            while (!child.HasExited && clock.Elapsed < deadline)
            {
                try
                {
                    child.Refresh();
                    polled = Math.Max(polled, child.PeakWorkingSet64);
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // exited between the check and the read
                }
                await Task.WhenAny(child.WaitForExitAsync(), Task.Delay(50));
            }
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"The {mode} child for {size} projects took longer than {deadline.TotalMinutes} min.");
            }
            await child.WaitForExitAsync();
            var seconds = clock.Elapsed.TotalSeconds;
            long? afterExit;
            try
            {
                afterExit = child.PeakWorkingSet64;
                if (afterExit == 0) afterExit = null;
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or PlatformNotSupportedException)
            {
                afterExit = null; // Linux: the counters of an exited process are gone with its /proc entry
            }

            var line = (await stdout).Split('\n').Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
            if (child.ExitCode != 0 || line is null)
                throw new InvalidOperationException($"The {mode} child for {size} projects failed ({child.ExitCode}): {await stderr}{await stdout}");
            var result = JsonSerializer.Deserialize<ChildResult>(line[ResultPrefix.Length..], Json)!;
            var stats = emulator.Stats;
            return new AuditRun(size, result, seconds, afterExit, polled, stats.TotalRequests, stats.RequestsByOperation, stats.Throttled429, histograms);
        }
        finally
        {
            try { Directory.Delete(state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string ClientLimits(AuditSettings settings)
    {
        if (settings.Scale is { } scale)
        {
            var limits = new ScaledLimits(scale).ClientLimits();
            return string.Join(";", limits.Cast<DictionaryEntry>().OrderBy(e => (string)e.Key).Select(e => $"{e.Key}={string.Join(",", (string[])e.Value!)}"));
        }
        // Off: windows so wide that no request waits (Connect-Hex has no switch to turn its limiter off).
        // A permit is held one window (+ 20 ms) after its response, so the window is the shortest Connect-Hex takes (1 ms).
        return "Read=1000000/0.001s;Request=1000000/0.001s;RunProject=1000000/0.001s";
    }

    private static string LimitsDescription(AuditSettings settings)
    {
        var client = "Connect-Hex -RateLimit @{ " + string.Join("; ", ClientLimits(settings).Split(';').Select(p => p.Split('=')).Select(p => $"{p[0]} = {string.Join(",", p[1].Split(',').Select(v => "'" + v + "'"))}")) + " }";
        if (settings.Scale is { } scale)
        {
            var l = new ScaledLimits(scale);
            return $"SCALED 1/{F(scale, "0.##")} in emulator and client (minute = {ScaledLimits.Seconds(l.Minute)}, hour = {ScaledLimits.Seconds(l.Hour)}: " +
                   $"every request {ScaledLimits.RequestsPerMinute}/min, hex-api reads {ScaledLimits.ReadsPerMinute}/min and {ScaledLimits.ReadsPerHour}/h, scaled); client `{client}`";
        }
        return $"DISABLED: emulator RateLimitsEnabled = false; client `{client}` (no request waits)";
    }

    // ---------------------------------------------------------------- child

    /// <summary>The child: one runspace, Import-Module, Connect-Hex, then the audit, measured; prints one JSON line.</summary>
    public static int Child(string[] args, string manifest)
    {
        if (args.Length != 5) throw new ArgumentException("--audit-child MODE BASEURI STATEPATH LIMITS");
        var (mode, baseUri, state, limits) = (args[1], args[2], args[3], args[4]);
        var trace = mode.StartsWith("trace", StringComparison.Ordinal);
        var histogram = mode == "trace-histogram";
        void Pause(string stage)
        {
            if (!histogram) return;
            Console.WriteLine(PausePrefix + stage);
            Console.Out.Flush();
            Console.In.ReadLine();
        }
        var token = Environment.GetEnvironmentVariable(TokenVariable) ?? throw new InvalidOperationException(TokenVariable + " is not set.");
        var self = Process.GetCurrentProcess();

        var setup = Stopwatch.StartNew();
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        Invoke(runspace, """
            Import-Module $args[0] -ErrorAction Stop
            Connect-Hex -Token $args[1] -BaseUri $args[2] -StatePath $args[3] -RateLimit $args[4] -ErrorAction Stop
            """, manifest, Secure(token), baseUri, state, ParseLimits(limits));
        var importConnectMs = setup.Elapsed.TotalMilliseconds;

        var baselineHeap = FullGcLiveHeap();
        self.Refresh();
        var baselineWs = self.WorkingSet64;
        var baselinePeakWs = self.PeakWorkingSet64;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

        // Sampler: the managed heap (with garbage not yet collected) and the heap size after the latest GC, every 5 ms.
        long peakHeap = 0, peakHeapAfterGc = 0;
        using var stop = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            do
            {
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
                peakHeapAfterGc = Math.Max(peakHeapAfterGc, GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes);
            }
            while (!stop.Wait(5));
        }) { IsBackground = true, Name = "heap sampler" };

        var samples = new List<PageSample>();
        var clock = new Stopwatch();
        var progress = new PSDataCollection<ProgressRecord>();
        progress.DataAdded += (_, e) =>
        {
            // Runs on the pipeline thread while Get-HexScheduleAudit pumps its events: page N starts after page N-1 was audited.
            ProgressRecord record;
            try { record = progress[e.Index]; } catch (ArgumentOutOfRangeException) { return; }
            progress.Clear(); // the host keeps nothing, so what grows is the cmdlet's
            if (record.Activity != "Auditing Hex schedules") return;
            var status = record.StatusDescription ?? "";
            PageSample Sample(string stage, int page, int audited, int findings) =>
                new(stage, page, audited, findings, clock.Elapsed.TotalMilliseconds, trace ? FullGcLiveHeap() : GC.GetTotalMemory(false));
            if (PageStatus.Match(status) is { Success: true } p)
                samples.Add(Sample("page", Int(p.Groups[1]), Int(p.Groups[2]), Int(p.Groups[3])));
            else if (status.StartsWith("Comparing projects", StringComparison.Ordinal))
                samples.Add(Sample("compare", -1, samples.LastOrDefault()?.Audited ?? 0, samples.LastOrDefault()?.Findings ?? 0));
            else if (DoneStatus.Match(status) is { Success: true } d)
            {
                samples.Add(Sample("done", -1, Int(d.Groups[1]), Int(d.Groups[2])));
                Pause("done"); // every finding in, not yet sorted or written
            }
        };

        var sizer = trace ? new FindingSizer() : null;
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.Streams.Progress = progress;
        ps.AddScript("""
            param($sizer)
            $counts = @{}
            Get-HexScheduleAudit | ForEach-Object {
                $counts[$_.Rule] = 1 + [int]$counts[$_.Rule]
                if ($null -ne $sizer) { $sizer.Add($_.psobject.BaseObject) }
            }
            $counts
            """).AddArgument(sizer);
        sampler.Start();
        clock.Start();
        var output = ps.Invoke();
        clock.Stop();
        stop.Set();
        sampler.Join();

        self.Refresh();
        var peakWsSelf = self.PeakWorkingSet64;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var gcs = (GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2);
        var byRule = new Dictionary<string, int>(StringComparer.Ordinal);
        if (output.Count > 0 && output[^1].BaseObject is Hashtable table)
            foreach (DictionaryEntry entry in table) byRule[(string)entry.Key] = Convert.ToInt32(entry.Value, CultureInfo.InvariantCulture);
        var errors = ps.Streams.Error.ToList();

        long? liveAfter = null;
        if (trace)
        {
            output.Clear();
            // A short pause, so permits of the shorter limiter windows (held one window + 20 ms after each response) are released first.
            using (var idle = new ManualResetEventSlim()) idle.Wait(TimeSpan.FromSeconds(2));
            liveAfter = FullGcLiveHeap();
            Pause("after");
        }

        var result = new ChildResult
        {
            Mode = mode,
            AuditMs = clock.Elapsed.TotalMilliseconds,
            ImportConnectMs = importConnectMs,
            BaselineLiveHeap = baselineHeap,
            BaselineWorkingSet = baselineWs,
            BaselinePeakWorkingSet = baselinePeakWs,
            PeakHeapSampled = Math.Max(peakHeap, samples.Count > 0 ? samples.Max(s => s.Heap) : 0),
            PeakHeapSizeAfterGc = peakHeapAfterGc,
            PeakWorkingSetSelf = peakWsSelf,
            AllocatedBytes = allocated,
            Gen0 = gcs.Item1,
            Gen1 = gcs.Item2,
            Gen2 = gcs.Item3,
            FindingsByRule = byRule,
            Findings = byRule.Values.Sum(),
            Errors = errors.Count,
            FirstError = errors.FirstOrDefault()?.ToString(),
            Samples = samples,
            LiveHeapAfter = liveAfter,
            EstimatedFindingBytes = sizer?.Bytes,
        };
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result, Json));
        return 0;
    }

    private static long FullGcLiveHeap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    private static Hashtable ParseLimits(string text)
    {
        var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            table[kv[0]] = kv[1].Split(',');
        }
        return table;
    }

    // ---------------------------------------------------------------- report

    private static (string Console, string Markdown) Report(AuditSettings settings, List<(AuditRun Measure, AuditRun? Trace)> runs, PreviousRun? previous)
    {
        var header = new List<string> { "Metric" };
        header.AddRange(runs.Select(r => N(r.Measure.Projects) + " projects"));
        var twoSizes = runs.Count == 2;
        if (twoSizes) header.Add("ratio");
        var rows = new List<string[]> { header.ToArray() };

        void Row(string name, Func<AuditRun, double?> value, string format, bool ratio = true)
        {
            var cells = new List<string> { name };
            var values = runs.Select(r => value(r.Measure)).ToArray();
            cells.AddRange(values.Select(v => v is { } d ? F(d, format) : "n/a"));
            if (twoSizes) cells.Add(ratio && values[0] is { } a && values[1] is { } b && a != 0 ? F(b / a, "0.00") + "x" : "");
            rows.Add(cells.ToArray());
        }

        Row("Projects in the workspace", r => r.Projects, "#,0");
        Row("Projects audited (components are not listed)", r => r.Child.Samples.LastOrDefault(s => s.Stage == "done")?.Audited, "#,0");
        Row("Wall time of Get-HexScheduleAudit (s)", r => r.Child.AuditMs / 1000, "0.00");
        Row("  child process in all: start, import, connect, audit (s)", r => r.ProcessSeconds, "0.00");
        Row("Requests (emulator Stats.TotalRequests)", r => r.TotalRequests, "#,0");
        Row("  requests per project", r => (double)r.TotalRequests / r.Projects, "0.000");
        foreach (var op in new[] { "ListProjects", "GetProjectRuns", "GetQueriedTables", "ListUsers" })
            Row("  " + op, r => r.ByOperation.GetValueOrDefault(op), "#,0");
        Row("  other operations", r => r.TotalRequests - new[] { "ListProjects", "GetProjectRuns", "GetQueriedTables", "ListUsers" }.Sum(op => r.ByOperation.GetValueOrDefault(op)), "#,0");
        Row("429 responses", r => r.Throttled429, "#,0", ratio: false);
        if (settings.Scale is { } scale)
        {
            var minute = new ScaledLimits(scale).Minute.TotalSeconds;
            Row("Requests per scaled minute the client achieved", r => r.TotalRequests / (r.Child.AuditMs / 1000 / minute), "0.0", ratio: false);
            Row("  the same audit at Hex's real limits (estimate: wall time x scale) (min)", r => r.Child.AuditMs / 1000 * scale / 60, "0.0");
        }
        Row("Peak working set of the child (MB)", r => Mb(PeakWorkingSet(r)), "0.0");
        Row("  working set before the audit, after import + connect (MB)", r => Mb(r.Child.BaselineWorkingSet), "0.0");
        Row("  peak working set - working set before the audit (MB)", r => Mb(PeakWorkingSet(r) - r.Child.BaselineWorkingSet), "0.0");
        Row("Peak managed heap, sampled every 5 ms (MB)", r => Mb(r.Child.PeakHeapSampled), "0.0");
        Row("  peak heap size after a GC (GCMemoryInfo.HeapSizeBytes) (MB)", r => Mb(r.Child.PeakHeapSizeAfterGc), "0.0");
        Row("  live managed heap before the audit (MB)", r => Mb(r.Child.BaselineLiveHeap), "0.0");
        Row("  peak managed heap - live heap before the audit (MB)", r => Mb(r.Child.PeakHeapSampled - r.Child.BaselineLiveHeap), "0.0");
        Row("Allocated during the audit (MB)", r => Mb(r.Child.AllocatedBytes), "0.0");
        Row("  allocated per project (KB)", r => r.Child.AllocatedBytes / 1024.0 / r.Projects, "0.0");
        var gcRow = new List<string> { "GCs during the audit (gen0/gen1/gen2)" };
        gcRow.AddRange(runs.Select(r => $"{r.Measure.Child.Gen0}/{r.Measure.Child.Gen1}/{r.Measure.Child.Gen2}"));
        if (twoSizes) gcRow.Add("");
        rows.Add(gcRow.ToArray());
        Row("Findings", r => r.Child.Findings, "#,0");
        var rules = runs.SelectMany(r => r.Measure.Child.FindingsByRule.Keys).Distinct().OrderBy(k => k, StringComparer.Ordinal).ToArray();
        foreach (var rule in rules)
            Row("  " + rule, r => r.Child.FindingsByRule.GetValueOrDefault(rule), "#,0");
        Row("Errors written", r => r.Child.Errors, "0", ratio: false);

        // The trace children: live heap (after a forced full GC) at each page.
        var traceRows = new List<string[]>();
        if (runs.All(r => r.Trace is not null))
        {
            traceRows.Add(header.ToArray());
            void TraceRow(string name, Func<AuditRun, double?> value, string format, bool ratio = true)
            {
                var cells = new List<string> { name };
                var values = runs.Select(r => value(r.Trace!)).ToArray();
                cells.AddRange(values.Select(v => v is { } d ? F(d, format) : "n/a"));
                if (twoSizes) cells.Add(ratio && values[0] is { } a && values[1] is { } b && a != 0 ? F(b / a, "0.00") + "x" : "");
                traceRows.Add(cells.ToArray());
            }
            TraceRow("Live heap before the audit (MB)", r => Mb(r.Child.BaselineLiveHeap), "0.0");
            TraceRow("Live heap after page 1 (MB)", r => Mb(FirstPage(r)?.Heap ?? 0), "0.0");
            TraceRow("Live heap after the last page, before cross-project rules (MB)", r => Mb(Stage(r, "compare")?.Heap ?? 0), "0.0");
            TraceRow("Live heap with every finding, before sorting and output (MB)", r => Mb(Stage(r, "done")?.Heap ?? 0), "0.0");
            TraceRow("Live heap after the audit, its output dropped (MB)", r => r.Child.LiveHeapAfter is { } b ? Mb(b) : null, "0.0");
            TraceRow("Held by the audit at the end: with every finding - after (MB)", r => Held(r) is { } b ? Mb(b) : null, "0.00");
            TraceRow("  per audited project (bytes)", r => Held(r) is { } b && Audited(r) > 0 ? (double)b / Audited(r) : null, "0");
            TraceRow("Findings as written, added up from their fields and strings (MB; built one at a time as they are written)", r => r.Child.EstimatedFindingBytes is { } b ? Mb(b) : null, "0.00");
            TraceRow("  bytes per finding", r => r.Child.EstimatedFindingBytes is { } b && r.Child.Findings > 0 ? (double)b / r.Child.Findings : null, "0");
            TraceRow("  per audited project (bytes)", r => r.Child.EstimatedFindingBytes is { } b && Audited(r) > 0 ? (double)b / Audited(r) : null, "0");
            TraceRow("Live heap growth per audited project while pages stream (bytes, least-squares slope)", r => Slope(r.Child.Samples.Where(s => s.Stage == "page").ToList(), s => s.Audited, s => s.Heap), "0");
            TraceRow("  findings per audited project while pages stream (slope)", r => Slope(r.Child.Samples.Where(s => s.Stage == "page").ToList(), s => s.Audited, s => s.Findings), "0.000");
            TraceRow("Kept after the audit: after - before (MB; JIT, JSON and HTTP caches, session)", r => r.Child.LiveHeapAfter is { } b ? Mb(b - r.Child.BaselineLiveHeap) : null, "0.00");
        }

        var (heldRows, keptRows) = HistogramTables(runs);

        var notes = Notes(settings, runs, previous);
        var console = new StringBuilder().Append(TextTable(rows));
        if (traceRows.Count > 0) console.AppendLine().AppendLine("Live heap per page (trace children: a forced full GC at every page)").Append(TextTable(traceRows));
        if (heldRows is not null) console.AppendLine().AppendLine(HeldCaption).Append(TextTable(heldRows));
        if (keptRows is not null) console.AppendLine().AppendLine(KeptCaption).Append(TextTable(keptRows));
        console.AppendLine();
        foreach (var n in notes) console.AppendLine("- " + n);

        var md = new StringBuilder().Append(MarkdownTable(rows)).AppendLine();
        if (traceRows.Count > 0)
            md.AppendLine("### Live heap per page").AppendLine().AppendLine("Trace children (same audit, a forced full GC at every page, so the samples are live bytes):").AppendLine().Append(MarkdownTable(traceRows)).AppendLine();
        if (heldRows is not null) md.AppendLine("### What the audit holds, by type").AppendLine().AppendLine(HeldCaption).AppendLine().Append(MarkdownTable(heldRows)).AppendLine();
        if (keptRows is not null) md.AppendLine("### What stays after the audit, by type").AppendLine().AppendLine(KeptCaption).AppendLine().Append(MarkdownTable(keptRows)).AppendLine();
        md.AppendLine("### Findings").AppendLine();
        foreach (var n in notes) md.AppendLine("- " + n.Replace("*", "\\*"));
        return (console.ToString(), md.ToString());
    }

    private const string HeldCaption = "Held by the audit when its last finding is in, by type (ClrMD heap walk of the trace child: heap then minus heap once the audit is over and its output dropped; top types at the largest size)";
    private const string KeptCaption = "Left on the heap after the audit, growth from the smallest to the largest size, by type (heap after the audit, largest minus smallest size)";

    private static (List<string[]>? Held, List<string[]>? Kept) HistogramTables(List<(AuditRun Measure, AuditRun? Trace)> runs)
    {
        var traces = runs.Select(r => r.Trace).ToList();
        if (traces.Any(t => t is null || !t.Histograms.ContainsKey("done") || !t.Histograms.ContainsKey("after")
                            || t.Histograms["done"].Error is not null || t.Histograms["after"].Error is not null))
            return (null, null);
        var held = traces.Select(t => t!.Histograms["done"].Minus(t.Histograms["after"])).ToList();
        var header = new List<string> { "Type" };
        foreach (var t in traces) header.AddRange([N(t!.Projects) + ": objects", "KB", "bytes / audited project"]);
        var heldRows = new List<string[]> { header.ToArray() };
        var top = held[^1].Where(p => p.Value.Bytes > 0).OrderByDescending(p => p.Value.Bytes).Take(14).Select(p => p.Key).ToList();
        void AddRow(List<string[]> table, string label, Func<int, (long Count, long Bytes)> at)
        {
            var cells = new List<string> { label };
            for (var i = 0; i < traces.Count; i++)
            {
                var (count, bytes) = at(i);
                cells.AddRange([count.ToString("#,0", CultureInfo.InvariantCulture), F(bytes / 1024.0, "#,0.0"), F((double)bytes / Math.Max(1, Audited(traces[i]!)), "0.0")]);
            }
            table.Add(cells.ToArray());
        }
        foreach (var type in top)
            AddRow(heldRows, Short(type), i => held[i].GetValueOrDefault(type));
        AddRow(heldRows, "other types", i => (held[i].Where(p => !top.Contains(p.Key)).Sum(p => p.Value.Count), held[i].Where(p => !top.Contains(p.Key)).Sum(p => p.Value.Bytes)));
        AddRow(heldRows, "all", i => (held[i].Sum(p => p.Value.Count), held[i].Sum(p => p.Value.Bytes)));

        List<string[]>? keptRows = null;
        if (traces.Count >= 2)
        {
            var (small, big) = (traces[0]!, traces[^1]!);
            var growth = big.Histograms["after"].Minus(small.Histograms["after"]);
            var extra = Math.Max(1, Audited(big) - Audited(small));
            keptRows = [["Type", "objects more", "KB more", "bytes per extra audited project"]];
            foreach (var (type, (count, bytes)) in growth.Where(p => p.Value.Bytes > 0).OrderByDescending(p => p.Value.Bytes).Take(10))
                keptRows.Add([Short(type), count.ToString("#,0", CultureInfo.InvariantCulture), F(bytes / 1024.0, "#,0.0"), F((double)bytes / extra, "0.0")]);
            var total = growth.Sum(p => p.Value.Bytes);
            keptRows.Add(["all types (net)", growth.Sum(p => p.Value.Count).ToString("#,0", CultureInfo.InvariantCulture), F(total / 1024.0, "#,0.0"), F((double)total / extra, "0.0")]);
        }
        return (heldRows, keptRows);
    }

    /// <summary>A type name without namespaces: System.Collections.Generic.List&lt;System.String&gt; -> List&lt;String&gt;.</summary>
    private static string Short(string type) => Regex.Replace(type, @"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_])", "");

    private static List<string> Notes(AuditSettings settings, List<(AuditRun Measure, AuditRun? Trace)> runs, PreviousRun? previous)
    {
        var notes = new List<string>();
        var first = runs[0].Measure;
        notes.Add("Peak working set: " + string.Join("; ", runs.Select(r => $"{N(r.Measure.Projects)}: " +
            (r.Measure.PeakWorkingSetAfterExit is { } x
                ? $"Process.PeakWorkingSet64 read by the parent after exit {F(Mb(x), "0.0")} MB (on Linux this is the value cached by the parent's last Refresh while the child ran)"
                : "Process.PeakWorkingSet64 read by the parent after exit: not available (0: on Linux the counters go with the child's /proc entry)") +
            $", parent polling every 50 ms {F(Mb(r.Measure.PeakWorkingSetPolled), "0.0")} MB, the child's own VmHWM at the end {F(Mb(r.Measure.Child.PeakWorkingSetSelf), "0.0")} MB")) +
            ". The table uses the largest of these.");
        if (runs.Count == 2)
        {
            var (a, b) = (runs[0].Measure, runs[1].Measure);
            var growth = (double)b.Projects / a.Projects;
            var ws = PeakWorkingSet(b) / (double)PeakWorkingSet(a);
            var heap = b.Child.PeakHeapSampled / (double)a.Child.PeakHeapSampled;
            var afterGc = b.Child.PeakHeapSizeAfterGc / (double)a.Child.PeakHeapSizeAfterGc;
            var addA = a.Child.PeakHeapSampled - a.Child.BaselineLiveHeap;
            var addB = b.Child.PeakHeapSampled - b.Child.BaselineLiveHeap;
            var held = runs.All(r => r.Trace is not null) && Held(runs[0].Trace!) is { } ha && Held(runs[1].Trace!) is { } hb ? (ha, hb) : ((long, long)?)null;
            var auditRatio = held is { } h ? h.Item2 / (double)Math.Max(1, h.Item1) : addB / (double)Math.Max(1, addA);
            notes.Add($"Claim \"memory stays roughly flat while projects grow {F(growth, "0.#")}x\": peak working set {F(ws, "0.00")}x " +
                      $"({F(Mb(a.Child.BaselineWorkingSet), "0")} MB of it is the runtime, PowerShell and the module before the audit starts), peak managed heap {F(heap, "0.00")}x, " +
                      $"peak heap size after a GC {F(afterGc, "0.00")}x; the audit's own share (sampled peak - live before) {F(Mb(addA), "0.0")} MB -> {F(Mb(addB), "0.0")} MB = {F(addB / (double)Math.Max(1, addA), "0.00")}x" +
                      (held is { } hh ? $"; live heap the audit holds when its last finding is in {F(Mb(hh.Item1), "0.00")} MB -> {F(Mb(hh.Item2), "0.00")} MB = {F(auditRatio, "0.0")}x" : "") + ". " +
                      (auditRatio <= 2
                          ? "Verdict: flat - the audit's memory does not follow the project count."
                          : $"Verdict: NOT flat. The totals look nearly flat only because the fixed {F(Mb(a.Child.BaselineWorkingSet), "0")} MB dominate; the audit's own memory grows about linearly with the projects (see the live-heap table and below)."));
        }
        if (runs.All(r => r.Trace is not null) && runs.Count == 2)
        {
            var big = runs[1].Trace!;
            var audited = Audited(big);
            if (Held(big) is { } held && big.Child.EstimatedFindingBytes is { } findingBytes && audited > 0 && big.Child.Findings > 0)
            {
                notes.Add($"Where it goes ({N(big.Projects)} projects, trace child): when the last finding is in, the audit holds {F(Mb(held), "0.00")} MB of live heap " +
                          $"= {F((double)held / audited, "0")} bytes per audited project, and all of it is freed after the output. " +
                          $"The {N(big.Child.Findings)} findings ({F((double)big.Child.Findings / audited, "0.000")} per project) are not held as ScheduleFinding objects: written out they add up to " +
                          $"{F((double)findingBytes / big.Child.Findings, "0")} bytes each (Evidence and the other strings counted in full), {F((double)findingBytes / audited, "0")} bytes per project, " +
                          "but the audit keeps per finding only its sort keys and the values its text is made of, and builds each one as it is written. " +
                          "Per project with an enabled schedule it keeps an AuditedProject and per enabled schedule a ScheduleEntry (its fire cron and time zone) for the rules across projects.");
            }
        }
        if (previous is not null && runs.Count == 2 && runs.All(r => r.Trace is not null) && previous.HeldPerProject.Length == 2
            && Held(runs[0].Trace!) is { } smallHeld && Held(runs[1].Trace!) is { } bigHeld)
        {
            var now = new[] { (double)smallHeld / Math.Max(1, Audited(runs[0].Trace!)), (double)bigHeld / Math.Max(1, Audited(runs[1].Trace!)) };
            notes.Add($"Against the previous run in this file ({previous.Date}): held per audited project {N(runs[0].Measure.Projects)}: {F(previous.HeldPerProject[0], "0")} -> {F(now[0], "0")} bytes " +
                      $"({F(now[0] / previous.HeldPerProject[0], "0.00")}x), {N(runs[1].Measure.Projects)}: {F(previous.HeldPerProject[1], "0")} -> {F(now[1], "0")} bytes ({F(now[1] / previous.HeldPerProject[1], "0.00")}x)" +
                      (previous.PeakWorkingSet.Length == 2 && previous.WallSeconds.Length == 2
                          ? $"; peak working set {string.Join(", ", runs.Select((r, i) => $"{F(previous.PeakWorkingSet[i], "0.0")} -> {F(Mb(PeakWorkingSet(r.Measure)), "0.0")} MB"))}" +
                            $"; wall time {string.Join(", ", runs.Select((r, i) => $"{F(previous.WallSeconds[i], "0.00")} -> {F(r.Measure.Child.AuditMs / 1000, "0.00")} s"))} " +
                            "(wall time follows the client's pacing and the machine's load more than the audit's memory)"
                          : "") + ".");
        }
        if (settings.Scale is { } scale)
        {
            var minute = new ScaledLimits(scale).Minute.TotalSeconds;
            var rates = runs.Select(r => r.Measure.TotalRequests / (r.Measure.Child.AuditMs / 1000 / minute)).ToList();
            notes.Add("Pacing: ListProjects and GetProjectRuns (like GetRunStatus) count only against the request limit (RequestKind.Other in HexApiClient), as Hex documents; " +
                      "GetQueriedTables and ListUsers count against Read (hex-api) too. " +
                      $"The client achieved {string.Join(" and ", rates.Select(r => F(r, "0.0")))} requests per scaled minute against the {ScaledLimits.RequestsPerMinute}/min request limit " +
                      $"({string.Join(" and ", rates.Select(r => F(r / ScaledLimits.RequestsPerMinute * 100, "0")))} %), with {string.Join(" and ", runs.Select(r => N(r.Measure.Throttled429)))} x 429: " +
                      "a permit is held from before its request until one window (+ 20 ms) after the response, so the latency of each request is added to the window.");
        }
        if (runs.Count >= 2 && runs.All(r => r.Trace is { } t && t.Histograms.TryGetValue("done", out var d) && d.Error is null && t.Histograms.TryGetValue("after", out var a) && a.Error is null))
        {
            var big = runs[^1].Trace!;
            var held = big.Histograms["done"].Minus(big.Histograms["after"]);
            var audited = Math.Max(1, Audited(big));
            double PerProject(Func<string, bool> match) => held.Where(p => match(p.Key)).Sum(p => (double)p.Value.Bytes) / audited;
            static bool IsFinding(string t) => t.StartsWith("HexCost.Model.ScheduleFinding", StringComparison.Ordinal) || t.Contains("ScheduleAuditor+PendingFinding", StringComparison.Ordinal)
                                               || (t.StartsWith("HexCost.Audit.ScheduleAuditor+", StringComparison.Ordinal) && t.EndsWith("Finding", StringComparison.Ordinal));
            static bool IsSummary(string t) => !IsFinding(t) && t.Contains("ScheduleAuditor+", StringComparison.Ordinal);
            var findings = PerProject(IsFinding);
            var summaries = PerProject(IsSummary);
            var strings = PerProject(t => t == "System.String");
            var all = PerProject(_ => true);
            var scheduled = held.GetValueOrDefault("HexCost.Audit.ScheduleAuditor+AuditedProject").Count;
            notes.Add($"Heap walk ({N(big.Projects)} projects, {N(audited)} audited, {N(big.Child.Findings)} findings, {N((int)scheduled)} projects with a finding or an enabled schedule): " +
                      $"the audit holds {F(all, "0")} bytes per audited project at the end - the pending findings (one small object per finding and their list) {F(findings, "0")}, " +
                      $"the ScheduleAuditor's summaries (AuditedProject, the ScheduleEntry array) {F(summaries, "0")}, " +
                      $"strings {F(strings, "0")} (project ids and titles; owners, cadences, crons and time zones are shared), other types {F(all - findings - summaries - strings, "0")} net.");
        }
        if (runs.Count >= 2 && runs.All(r => r.Trace is { } t && t.Histograms.TryGetValue("after", out var a) && a.Error is null))
        {
            var (small, big) = (runs[0].Trace!, runs[^1].Trace!);
            const string pending = "HexCost.Limits.HexRateLimiter+PendingRelease";
            var growth = big.Histograms["after"].Minus(small.Histograms["after"]);
            static bool IsPermit(string t) => t.Contains("HexRateLimiter+", StringComparison.Ordinal) || t is "System.Threading.TimerQueueTimer" or "System.Threading.TimerCallback"
                or "System.Threading.RateLimiting.ConcurrencyLimiter+ConcurrencyLease" or "System.TimeProvider+SystemTimeProviderTimer";
            var (n1, n2) = (small.Histograms["after"].Types.GetValueOrDefault(pending).Count, big.Histograms["after"].Types.GetValueOrDefault(pending).Count);
            var permitBytes = growth.Where(p => IsPermit(p.Key)).Sum(p => p.Value.Bytes);
            if (n2 > n1)
                notes.Add($"After the audit the heap still holds the limiter's permits waiting for release: {N((int)n1)} -> {N((int)n2)} (a PendingRelease, timer, lease and closure each, " +
                          $"about {F((double)permitBytes / (n2 - n1), "0")} bytes), one per request of the last window (each permit is held one window + 20 ms after its response). " +
                          "That is bounded by the largest window's limit (Read: 1800 per hour), not by the workspace; the rest of the growth left after the audit is PowerShell's type-name tables " +
                          "(ConditionalWeakTable entry arrays that grew with the findings written) and pooled buffers.");
        }
        foreach (var t in runs.Select(r => r.Trace).Where(t => t is not null))
            foreach (var (stage, h) in t!.Histograms.Where(p => p.Value.Error is not null))
                notes.Add($"{N(t.Projects)}: heap histogram at '{stage}' failed: {h.Error}");
        notes.Add("Requests per project: ListProjects pages of 100, GetProjectRuns for each active project with an enabled schedule (one page of 100 covers 28 days), " +
                  "GetQueriedTables only for same-title groups (constant here: generated titles differ from the 99th project on), one ListUsers.");
        if (first.Throttled429 > 0 || runs.Any(r => r.Measure.Throttled429 > 0))
            notes.Add("Some requests were answered 429: the client's pacing did not match the emulator's windows.");
        foreach (var r in runs.Where(r => r.Measure.Child.FirstError is not null))
            notes.Add($"{N(r.Measure.Projects)}: first error: {r.Measure.Child.FirstError}");
        return notes;
    }

    private static PageSample? FirstPage(AuditRun r) => r.Child.Samples.FirstOrDefault(s => s.Stage == "page" && s.Page == 2);
    private static PageSample? LastPage(AuditRun r) => Stage(r, "compare");
    private static PageSample? Stage(AuditRun r, string stage) => r.Child.Samples.LastOrDefault(s => s.Stage == stage);
    private static int Audited(AuditRun r) => Stage(r, "done")?.Audited ?? 0;

    /// <summary>What the audit holds when every finding is in: the live heap then, less the live heap once it is all gone.</summary>
    private static long? Held(AuditRun r) => Stage(r, "done") is { } done && r.Child.LiveHeapAfter is { } after ? done.Heap - after : null;

    private static double? Slope(List<PageSample> points, Func<PageSample, double> x, Func<PageSample, double> y)
    {
        if (points.Count < 3) return null;
        var pts = points.Skip(1).ToList(); // the first sample is before any project was audited
        var mx = pts.Average(x);
        var my = pts.Average(y);
        var sxx = pts.Sum(p => (x(p) - mx) * (x(p) - mx));
        return sxx == 0 ? null : pts.Sum(p => (x(p) - mx) * (y(p) - my)) / sxx;
    }

    private static long PeakWorkingSet(AuditRun r) => Math.Max(r.PeakWorkingSetAfterExit ?? 0, Math.Max(r.PeakWorkingSetPolled, r.Child.PeakWorkingSetSelf));

    /// <summary>Replaces the audit section of <paramref name="path"/> (from <see cref="SectionMarker"/> to the end) or appends it.</summary>
    private static void WriteSection(string path, string section)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# HexCost benchmark results\n";
        var at = existing.IndexOf(SectionMarker, StringComparison.Ordinal);
        var head = (at >= 0 ? existing[..at] : existing).TrimEnd() + Environment.NewLine + Environment.NewLine;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, head + section);
    }

    /// <summary>The audit section of an existing results file (from the marker to the end), for the pacing benchmark to keep.</summary>
    internal static string? ExistingSection(string path)
    {
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path);
        var at = text.IndexOf(SectionMarker, StringComparison.Ordinal);
        return at >= 0 ? text[at..] : null;
    }

    private static AuditSettings Parse(string[] args)
    {
        var s = new AuditSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == Switch) continue;
            if (name == "--no-limits") { s = s with { Scale = null }; continue; }
            if (name == "--no-trace") { s = s with { Trace = false }; continue; }
            if (name == "--no-histogram") { s = s with { Histogram = false }; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value.");
            var value = args[++i];
            s = name switch
            {
                "--sizes" => s with { Sizes = value.Split(',').Select(v => Positive(name, v)).ToArray() },
                "--scale" => s with { Scale = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : throw new FormatException($"--scale takes a positive number, not '{value}'.") },
                "--seed" => s with { Seed = Positive(name, value) },
                "--out" => s with { ResultsPath = value },
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }
        return s;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new FormatException($"{name} takes positive whole numbers, not '{value}'.");

    private static int Int(Group g) => int.Parse(g.Value, NumberStyles.None, CultureInfo.InvariantCulture);
    private static double Mb(long bytes) => bytes / (1024.0 * 1024.0);
    private static string N(int n) => n.ToString("#,0", CultureInfo.InvariantCulture);
    private static string F(double d, string format) => d.ToString(format, CultureInfo.InvariantCulture);

}
