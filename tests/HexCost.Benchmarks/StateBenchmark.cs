using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using HexCost.Emulator;

using static HexCost.Benchmarks.Shell;
using static HexCost.Benchmarks.Tables;

namespace HexCost.Benchmarks;

/// <summary>
/// The state engine on the file store: Connect-Hex against workspaces whose ledger holds 10k, 100k and 1M records (written
/// in the ledger's format by an earlier HexCost, migrated once by the first connect, then connected to again and again),
/// one cache hit and one new trigger on each, and the store's permit throughput (TakePermit + AnswerPermit) with 1 and 4
/// processes (tests/HexCost.StoreHost's bench script). Ratios are against the smallest size / one process of the same run.
/// dotnet run -c Release --project tests/HexCost.Benchmarks -- --state [--sizes 10000,100000,1000000] [--connects 7] [--bench-seconds 3] [--out FILE]
/// </summary>
internal static class StateBenchmark
{
    public const string Switch = "--state";
    internal const string SectionMarker = "<!-- state-benchmark: the section below (up to the audit section) is rewritten by --state -->";
    public const string Usage = "Usage: dotnet run -c Release --project tests/HexCost.Benchmarks -- --state [--sizes 10000,100000,1000000] [--connects 7] [--bench-seconds 3] [--out FILE]";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record SizeResult(int Records, long LedgerBytes, double MigrateMs, string MigrateNote, long StateBytes,
        List<double> ConnectMs, List<double> HitMs, List<double> TriggerMs, List<double> CmdletConnectMs);

    private sealed record PermitResult(int Processes, long Count, double Seconds)
    {
        public double PerSecond => Count / Seconds;
    }

    public static async Task<int> RunAsync(string[] args, string root)
    {
        var sizes = new[] { 10_000, 100_000, 1_000_000 };
        var connects = 7;
        var benchSeconds = 3;
        string? outPath = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case Switch: break;
                case "--sizes": sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--connects": connects = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--bench-seconds": benchSeconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out": outPath = args[++i]; break;
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        var manifest = Path.Combine(root, "HexCost.psd1");
        var resultsPath = outPath ?? Path.Combine(root, "tests", "HexCost.Benchmarks", "results.md");
        var started = DateTimeOffset.UtcNow;
        var command = "dotnet run -c Release --project tests/HexCost.Benchmarks -- " + string.Join(" ", args);

        var results = new List<SizeResult>();
        await using (var emulator = await HexEmulator.StartAsync(new EmulatorOptions
        {
            RateLimitsEnabled = false,
            PendingDuration = TimeSpan.FromMilliseconds(10),
            RunDuration = TimeSpan.FromMilliseconds(50),
        }))
        {
            using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
            runspace.Open();
            Invoke(runspace, "Import-Module $args[0] -ErrorAction Stop", manifest);
            var projects = Enumerable.Range(0, 20).Select(i => emulator.Workspace.AddProject("State bench " + i)).ToList();
            var legacyKey = (string)InvokeValue(runspace, "[HexCost.Runs.InputCanonicalizer]::CacheKey($args[0], '{}', 'legacy', $false, $false)", projects[0].Id)!;

            // Warm-up: JIT and the first connect's one-time costs, on a small state of its own.
            var warm = NewRoot();
            for (var i = 0; i < 3; i++) Cycle(runspace, emulator, warm, projects[1].Id, projects[0].Id, warmUp: true);
            Delete(warm);

            foreach (var size in sizes)
            {
                Console.WriteLine($"[state] {size:N0} records: writing the ledger...");
                var stateRoot = NewRoot();
                var dir = Path.Combine(stateRoot, "workspaces", emulator.Workspace.OrgId);
                Directory.CreateDirectory(dir);
                var ledger = Path.Combine(dir, "ledger.jsonl");
                WriteLedger(ledger, size, projects.Select(p => p.Id).ToList(), legacyKey);
                var ledgerBytes = new FileInfo(ledger).Length;

                Console.WriteLine("[state]   first connect (migrates)...");
                var clock = Stopwatch.StartNew();
                var verbose = InvokeVerbose(runspace, "Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -Verbose -ErrorAction Stop | Out-Null",
                    Secure(emulator.Token), emulator.BaseUri, stateRoot);
                var migrateMs = clock.Elapsed.TotalMilliseconds;
                Invoke(runspace, "Disconnect-Hex");
                var note = verbose.FirstOrDefault(v => v.StartsWith("Migrated", StringComparison.Ordinal)) ?? "(no migration line)";

                var connect = new List<double>();
                var hit = new List<double>();
                var trigger = new List<double>();
                var cmdlet = new List<double>();
                for (var i = 0; i < connects; i++)
                {
                    var (c, h, t, m) = Cycle(runspace, emulator, stateRoot, projects[1 + i % 19].Id, projects[0].Id);
                    connect.Add(c);
                    hit.Add(h);
                    trigger.Add(t);
                    cmdlet.Add(m);
                }
                var stateBytes = Directory.GetFiles(Path.Combine(dir, "state"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                results.Add(new SizeResult(size, ledgerBytes, migrateMs, note, stateBytes, connect, hit, trigger, cmdlet));
                Console.WriteLine($"[state]   migration {migrateMs:0} ms, connect median {Median(connect):0.0} ms, hit {Median(hit):0.0} ms, trigger {Median(trigger):0.0} ms");
                Delete(stateRoot);
            }
        }

        Console.WriteLine("[state] permit throughput...");
        var permits = new List<PermitResult>();
        foreach (var processes in new[] { 1, 4 })
        {
            var folder = NewRoot();
            permits.Add(await PermitBenchAsync(root, folder, processes, benchSeconds));
            Delete(folder);
            Console.WriteLine($"[state]   {processes} process(es): {permits[^1].PerSecond:0} permits/s");
        }

        var markdown = Report(results, permits, connects);
        Console.WriteLine(markdown);
        var section = new StringBuilder()
            .AppendLine(SectionMarker)
            .AppendLine("## State engine: connect with long ledgers, permit throughput")
            .AppendLine()
            .AppendLine($"- Command: `{command}` (from the repository root)")
            .AppendLine($"- Date: {started:yyyy-MM-dd HH:mm} UTC, took {(DateTimeOffset.UtcNow - started).TotalMinutes:0.0} min")
            .AppendLine($"- Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}, System.Management.Automation {typeof(PowerShell).Assembly.GetName().Version}")
            .AppendLine("- Ledgers: written in the ledger's format as HexCost before the state engine left them (no state/ folder): per run a Trigger (Created) and a Complete, " +
                        "every 5th run with a cache key (a source version), a CacheHit record after every 4th run; runs 90 s apart back from now, over 20 projects. " +
                        "The first Connect-Hex migrates the ledger (indexes it once); then each cycle, in one warm runspace, timed inside it: the core's connect " +
                        "(`HexAccountRegistry.ConnectAsync`: /users/me, open the store, start the owner lease), a cache hit on the run of source version `legacy` in the middle " +
                        "of the history (read from the store's index, CacheHit recorded), a new trigger of another project (budget, RunProject, Trigger record committed), " +
                        "release; then `Connect-Hex`/`Disconnect-Hex` timed from outside. Medians of " + connects + " cycles; emulator in-process, no limits.")
            .AppendLine("- Permits: `tests/HexCost.StoreHost bench` processes on one fresh state folder, started together, each taking and answering permits " +
                        "(TakePermit + AnswerPermit, one window never full) for " + benchSeconds + " s; throughput is the sum over processes.")
            .AppendLine()
            .Append(markdown);
        WriteSection(resultsPath, section.ToString());
        Console.WriteLine($"Written to {resultsPath}");
        return 0;
    }

    /// <summary>The core's connect, cache hit and trigger (HexAccountRegistry.ConnectAsync and RunService.RunAsync, timed inside
    /// the runspace), then the cmdlet's Connect-Hex (timed from here: it includes the cmdlet's event pump, which looks at
    /// a finished task only every 100 ms).</summary>
    private const string CoreCycle = """
        param($Token, $BaseUri, $Root, $HitProject, $TriggerProject)
        $ErrorActionPreference = 'Stop'
        $o = [HexCost.Session.ConnectOptions]::new(); $o.BaseUri = [Uri]$BaseUri; $o.Token = $Token; $o.StatePath = $Root
        $ct = [System.Threading.CancellationToken]::None
        $sink = [HexCost.Infrastructure.NullEventSink]::Instance
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $account = [HexCost.Session.HexAccountRegistry]::ConnectAsync($o, $sink, $ct).GetAwaiter().GetResult()
        $connect = $clock.Elapsed.TotalMilliseconds
        $hitRequest = [HexCost.Runs.RunRequest]::new(); $hitRequest.ProjectId = $HitProject; $hitRequest.SourceVersion = 'legacy'
        $clock.Restart()
        $hit = [HexCost.Runs.RunService]::RunAsync($account, $hitRequest, [HexCost.Runs.RunWaitOptions]::new(), $sink, $ct).GetAwaiter().GetResult()
        $hitMs = $clock.Elapsed.TotalMilliseconds
        $triggerRequest = [HexCost.Runs.RunRequest]::new(); $triggerRequest.ProjectId = $TriggerProject
        $clock.Restart()
        $null = [HexCost.Runs.RunService]::RunAsync($account, $triggerRequest, [HexCost.Runs.RunWaitOptions]::new(), $sink, $ct).GetAwaiter().GetResult()
        $triggerMs = $clock.Elapsed.TotalMilliseconds
        [HexCost.Session.HexAccountRegistry]::Release($account)
        $connect, $hitMs, $triggerMs, $hit.Run.FromCache
        """;

    private static (double Connect, double Hit, double Trigger, double CmdletConnect) Cycle(Runspace runspace, HexEmulator emulator, string stateRoot,
        string triggerProject, string legacyProject, bool warmUp = false)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(CoreCycle).AddArgument(emulator.Token).AddArgument(emulator.BaseUri.ToString()).AddArgument(stateRoot).AddArgument(legacyProject).AddArgument(triggerProject);
        var output = ps.Invoke();
        if (ps.Streams.Error.Count > 0) throw new InvalidOperationException($"PowerShell failed: {ps.Streams.Error[0]}");
        var values = output.Select(o => o.BaseObject).ToList();
        // The warm-up state has no legacy run: its first "hit" triggers, the next ones hit.
        if (values[3] is not true && !warmUp) throw new InvalidOperationException("The legacy run was not a cache hit.");

        var clock = Stopwatch.StartNew();
        Invoke(runspace, "Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -ErrorAction Stop | Out-Null", Secure(emulator.Token), emulator.BaseUri, stateRoot);
        var cmdlet = clock.Elapsed.TotalMilliseconds;
        Invoke(runspace, "Disconnect-Hex");
        return ((double)values[0], (double)values[1], (double)values[2], cmdlet);
    }

    /// <summary>A ledger of <paramref name="records"/> records, as HexCost before the state engine wrote one.</summary>
    private static void WriteLedger(string path, int records, List<string> projects, string legacyKey)
    {
        var now = DateTimeOffset.UtcNow;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false));
        var written = 0;
        // 2.2 records a run on average (a CacheHit after 4 of every 20 runs): the last run is the newest.
        var runs = (int)Math.Ceiling(records / 2.2);
        for (var run = 0; written < records; run++)
        {
            var at = now - TimeSpan.FromSeconds(90) * (runs - run);
            var project = projects[run % projects.Count];
            var runId = Guid.NewGuid().ToString();
            var legacy = run == runs / 2;
            if (legacy) project = projects[0];
            var cacheKey = legacy ? legacyKey : run % 5 == 0 ? "bench-" + run.ToString(CultureInfo.InvariantCulture) : null;
            var sourceVersion = legacy ? "legacy" : cacheKey != null ? "v" + run.ToString(CultureInfo.InvariantCulture) : null;
            void Write(object record)
            {
                if (written >= records) return;
                writer.Write(JsonSerializer.Serialize(record, Json));
                writer.Write('\n');
                written++;
            }
            Write(new
            {
                v = 1, id = Guid.NewGuid().ToString("N"), type = "Trigger", at, projectId = project, runId, outcome = "Created", cacheKey, sourceVersion,
                inputParameters = "{}", runUrl = "https://app.hex.tech/app/projects/" + project + "/runs/" + runId, attempts = 1, user = "bench@example.com", processId = 4242,
            });
            Write(new
            {
                v = 1, id = Guid.NewGuid().ToString("N"), type = "Complete", at = at + TimeSpan.FromSeconds(30), projectId = project, runId, status = "COMPLETED", cacheKey, sourceVersion,
                inputParameters = "{}", startTime = at, endTime = at + TimeSpan.FromSeconds(30), elapsedSeconds = 30.0, user = "bench@example.com", processId = 4242,
            });
            if (run % 4 == 3 && cacheKey == null)
            {
                Write(new { v = 1, id = Guid.NewGuid().ToString("N"), type = "CacheHit", at = at + TimeSpan.FromSeconds(60), projectId = project, runId, user = "bench@example.com", processId = 4242 });
            }
        }
    }

    private static async Task<PermitResult> PermitBenchAsync(string root, string folder, int processes, int seconds)
    {
        var (count, longest) = await PermitBench.RunAsync(root, _ => folder, processes, seconds);
        return new PermitResult(processes, count, longest);
    }


    private static string Report(List<SizeResult> results, List<PermitResult> permits, int connects)
    {
        var baseline = results[0];
        string Ratio(double value, double basis) => (value / basis).ToString("0.00", CultureInfo.InvariantCulture) + "x";
        var header = new[] { "Ledger records" }.Concat(results.Select(r => r.Records.ToString("N0", CultureInfo.InvariantCulture))).ToArray();
        var rows = new List<string[]>
        {
            header,
            Row("Ledger size (MB)", r => F(r.LedgerBytes / 1048576d, "0.0")),
            Row("One-time migration: first Connect-Hex (ms)", r => F(r.MigrateMs, "0")),
            Row("  ratio to " + N(baseline.Records), r => Ratio(r.MigrateMs, baseline.MigrateMs)),
            Row("Index and budget after migration, state/ (MB)", r => F(r.StateBytes / 1048576d, "0.0")),
            Row($"Connect (HexAccountRegistry.ConnectAsync), median of {connects} (ms)", r => F(Median(r.ConnectMs), "0.0")),
            Row("  min - max (ms)", r => F(r.ConnectMs.Min(), "0.0") + " - " + F(r.ConnectMs.Max(), "0.0")),
            Row("  ratio to " + N(baseline.Records), r => Ratio(Median(r.ConnectMs), Median(baseline.ConnectMs))),
            Row("Connect-Hex, the cmdlet, median (ms)", r => F(Median(r.CmdletConnectMs), "0.0")),
            Row("  ratio to " + N(baseline.Records), r => Ratio(Median(r.CmdletConnectMs), Median(baseline.CmdletConnectMs))),
            Row("Cache hit from the index (RunService.RunAsync), median (ms)", r => F(Median(r.HitMs), "0.0")),
            Row("  ratio to " + N(baseline.Records), r => Ratio(Median(r.HitMs), Median(baseline.HitMs))),
            Row("New trigger, budget + RunProject + record (RunService.RunAsync), median (ms)", r => F(Median(r.TriggerMs), "0.0")),
            Row("  ratio to " + N(baseline.Records), r => Ratio(Median(r.TriggerMs), Median(baseline.TriggerMs))),
        };
        string[] Row(string name, Func<SizeResult, string> cell) => new[] { name }.Concat(results.Select(cell)).ToArray();

        var one = permits.First(p => p.Processes == 1);
        var permitRows = new List<string[]> { new[] { "Permit throughput (TakePermit + AnswerPermit)", "permits/s", "ratio to 1 process" } };
        foreach (var p in permits)
            permitRows.Add(new[] { $"{p.Processes} process{(p.Processes == 1 ? "" : "es")} ({p.Count:N0} in {p.Seconds:0.0} s)", F(p.PerSecond, "0"), Ratio(p.PerSecond, one.PerSecond) });

        var md = new StringBuilder().Append(MarkdownTable(rows)).AppendLine();
        foreach (var r in results) md.AppendLine($"- {N(r.Records)}: {r.MigrateNote}");
        md.AppendLine().Append(MarkdownTable(permitRows));
        return md.ToString();
    }

    private static string N(int n) => n >= 1_000_000 ? (n / 1_000_000d).ToString("0.#", CultureInfo.InvariantCulture) + "M" : (n / 1000d).ToString("0.#", CultureInfo.InvariantCulture) + "k";

    private static string F(double d, string format) => d.ToString(format, CultureInfo.InvariantCulture);

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static object? InvokeValue(Runspace runspace, string script, params object[] args)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var arg in args) ps.AddArgument(arg);
        var output = ps.Invoke();
        if (ps.Streams.Error.Count > 0) throw new InvalidOperationException($"PowerShell failed: {ps.Streams.Error[0]}");
        return output.Count == 0 ? null : output[0].BaseObject;
    }

    private static List<string> InvokeVerbose(Runspace runspace, string script, params object[] args)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var arg in args) ps.AddArgument(arg);
        ps.Invoke();
        if (ps.Streams.Error.Count > 0) throw new InvalidOperationException($"PowerShell failed: {ps.Streams.Error[0]}");
        return ps.Streams.Verbose.Select(v => v.Message).ToList();
    }

    private static string NewRoot()
    {
        var path = Path.Combine(Path.GetTempPath(), "hexcost-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    private static void Delete(string path)
    {
        try { Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Replaces the state section of <paramref name="path"/> (from its marker up to the audit section or the end),
    /// or puts it before the audit section.</summary>
    private static void WriteSection(string path, string section)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# HexCost benchmark results\n";
        var audit = existing.IndexOf(AuditBenchmark.SectionMarker, StringComparison.Ordinal);
        var tail = audit >= 0 ? existing[audit..] : "";
        var head = audit >= 0 ? existing[..audit] : existing;
        var at = head.IndexOf(SectionMarker, StringComparison.Ordinal);
        if (at >= 0) head = head[..at];
        var text = head.TrimEnd() + Environment.NewLine + Environment.NewLine + section.TrimEnd() + Environment.NewLine;
        if (tail.Length > 0) text += Environment.NewLine + tail;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text);
    }

    /// <summary>The state section of an existing results file (from its marker up to the audit section), for the pacing
    /// benchmark to keep.</summary>
    internal static string? ExistingSection(string path)
    {
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path);
        var at = text.IndexOf(SectionMarker, StringComparison.Ordinal);
        if (at < 0) return null;
        var audit = text.IndexOf(AuditBenchmark.SectionMarker, at, StringComparison.Ordinal);
        return (audit >= 0 ? text[at..audit] : text[at..]).TrimEnd() + Environment.NewLine;
    }
}
