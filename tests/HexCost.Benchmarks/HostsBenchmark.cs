using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Tools;

using static HexCost.Benchmarks.Tables;

namespace HexCost.Benchmarks;

/// <summary>
/// Several hosts on one state: real pwsh processes, each triggering its share of the runs under RunProject limits the
/// emulator enforces per token (Hex's 20/min + 60/h scaled to 20/M + 60/H). Three setups, one after the other on one
/// machine: the baseline, one pwsh triggering every run on the file store; 4 processes on one state folder (the file store
/// on one host); 4 hosts on one redis-server, each with a home folder of its own. Each batch starts from warm processes
/// and empty windows. Then the cost of one permit (TakePermit + AnswerPermit, tests/HexCost.StoreHost bench) on either
/// store, with 1 and 4 processes. Ratios are against the baseline (one process on the file store) of the same run.
/// dotnet run -c Release --project tests/HexCost.Benchmarks -- --hosts [--runs 120] [--minute 1] [--hour 20] [--bench-seconds 3] [--out FILE]
/// </summary>
internal static class HostsBenchmark
{
    public const string Switch = "--hosts";
    internal const string SectionMarker = "<!-- hosts-benchmark: the section below (up to the next benchmark's section) is rewritten by --hosts -->";
    public const string Usage = "Usage: dotnet run -c Release --project tests/HexCost.Benchmarks -- --hosts [--runs 120] [--minute 1] [--hour 20] [--bench-seconds 3] [--out FILE]";

    private const int Hosts = 4;
    private const int ThrottlePerHost = 5;

    private sealed record BatchResult(string Name, int Processes, int Runs, int Created, int Throttled429, TimeSpan Makespan, TimeSpan Bound,
        int Requests, int RunProjectRequests, long StoreRoundTrips, TimeSpan Wall, string Bursts, int Errors);

    private sealed record PermitResult(string Store, int Processes, long Count, double Seconds, long RoundTrips)
    {
        public double PerSecond => Count / Seconds;
        /// <summary>Mean time one process spends on one permit (take + answer).</summary>
        public double MsPerPermit => Processes * Seconds * 1000 / Count;
    }

    public static async Task<int> RunAsync(string[] args, string root)
    {
        var runs = 120;
        var minute = TimeSpan.FromSeconds(1);
        var hour = TimeSpan.FromSeconds(20);
        var benchSeconds = 3;
        string? outPath = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case Switch: break;
                    case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--minute": minute = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                    case "--hour": hour = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                    case "--bench-seconds": benchSeconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--out": outPath = args[++i]; break;
                    default: throw new FormatException("Unknown option " + args[i]);
                }
            }
            if (runs % Hosts != 0) throw new FormatException($"--runs must be a multiple of {Hosts}.");
        }
        catch (Exception ex) when (ex is FormatException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var manifest = Path.Combine(root, "HexCost.psd1");
        var resultsPath = outPath ?? Path.Combine(root, "tests", "HexCost.Benchmarks", "results.md");
        var started = DateTimeOffset.UtcNow;
        var command = "dotnet run -c Release --project tests/HexCost.Benchmarks -- " + string.Join(" ", args);
        var pwsh = PwshTool.Find(root);
        var windows = new[] { (Limit: 20, Window: minute), (Limit: 60, Window: hour) };
        var bound = Bound(runs, windows);
        Console.WriteLine($"[hosts] {runs} runs under RunProject 20/{S(minute)} + 60/{S(hour)}: the least they take is {bound.TotalSeconds:0.000} s (first to last trigger).");

        var batches = new List<BatchResult>();
        using (var redis = new BenchRedis())
        {
            batches.Add(await BatchAsync("1 process, file store (baseline)", 1, null, runs, windows, manifest, pwsh, redis));
            batches.Add(await BatchAsync($"{Hosts} processes on one state folder (file store, one host)", Hosts, null, runs, windows, manifest, pwsh, redis));
            batches.Add(await BatchAsync($"{Hosts} hosts on one redis-server", Hosts, redis.Uri, runs, windows, manifest, pwsh, redis));

            Console.WriteLine("[hosts] permit cost...");
            var permits = new List<PermitResult>();
            foreach (var processes in new[] { 1, Hosts })
            {
                var folder = Path.Combine(Path.GetTempPath(), "hexcost-bench", Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(folder);
                try
                {
                    permits.Add(await PermitBenchAsync(root, "file store", _ => folder, processes, benchSeconds, null));
                }
                finally
                {
                    Delete(folder);
                }
                var workspace = "bench-" + Guid.NewGuid().ToString("N");
                permits.Add(await PermitBenchAsync(root, "Redis", _ => redis.Uri + "?workspace=" + workspace, processes, benchSeconds, redis));
                Console.WriteLine($"[hosts]   {processes} process(es): file {permits[^2].MsPerPermit:0.000} ms, Redis {permits[^1].MsPerPermit:0.000} ms a permit");
            }

            var markdown = Report(batches, permits, windows, bound);
            Console.WriteLine(markdown);
            var section = new StringBuilder()
                .AppendLine(SectionMarker)
                .AppendLine("## Hosts: one state shared by processes and hosts (file store, Redis)")
                .AppendLine()
                .AppendLine($"- Command: `{command}` (from the repository root)")
                .AppendLine($"- Date: {started:yyyy-MM-dd HH:mm} UTC, took {(DateTimeOffset.UtcNow - started).TotalMinutes.ToString("0.0", CultureInfo.InvariantCulture)} min")
                .AppendLine($"- Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}; {redis.Version}, loopback, append-only file flushed on every write")
                .AppendLine($"- Limits: RunProject 20/{S(minute)} + 60/{S(hour)} (Hex's 20/min + 60/h scaled), enforced by the emulator per token (fixed windows from the first request) and given to `Connect-Hex -RateLimit`; requests and reads generous. Runs {runs} over {runs} new projects, each with its own idempotency key.")
                .AppendLine($"- Each process is a real pwsh (`Import-Module`, `Connect-Hex`, one warm-up trigger), then, once every window is empty, all start together: `$items | Invoke-HexRun -ThrottleLimit {ThrottlePerHost}` over their share ({ThrottlePerHost * Hosts} for the one process, so the same number in flight). Makespan: the emulator's first to last run creation of the batch; bound: the least the windows allow (permit k at max over the windows of permit k - limit + window).")
                .AppendLine($"- Permits: `tests/HexCost.StoreHost bench` processes started together, each taking and answering permits (one window never full) for {benchSeconds} s; ms a permit = processes x seconds / permits; Redis round trips counted by the server (INFO commandstats).")
                .AppendLine()
                .Append(markdown);
            WriteSection(resultsPath, section.ToString());
            Console.WriteLine($"Written to {resultsPath}");
        }
        return batches.All(b => b.Created == b.Runs && b.Throttled429 == 0 && b.Errors == 0) ? 0 : 1;
    }

    /// <summary>The earliest the last of <paramref name="runs"/> permits can go after the first under sliding windows.</summary>
    private static TimeSpan Bound(int runs, IReadOnlyList<(int Limit, TimeSpan Window)> windows)
    {
        var at = new TimeSpan[runs];
        for (var k = 0; k < runs; k++) at[k] = windows.Select(w => k >= w.Limit ? at[k - w.Limit] + w.Window : TimeSpan.Zero).Max();
        return at[runs - 1];
    }

    private static async Task<BatchResult> BatchAsync(string name, int processes, string? redisUri, int runs, (int Limit, TimeSpan Window)[] windows,
        string manifest, string pwsh, BenchRedis redis)
    {
        Console.WriteLine($"[hosts] {name}: starting {processes} pwsh...");
        await using var emulator = await HexEmulator.StartAsync(new EmulatorOptions
        {
            PendingDuration = TimeSpan.FromMilliseconds(20),
            RunDuration = TimeSpan.FromMilliseconds(150),
            MaxKernels = 1000,
            RateLimitsEnabled = true,
            RunsPerMinute = windows[0].Limit,
            RunMinuteWindow = windows[0].Window,
            RunsPerHour = windows[1].Limit,
            RunHourWindow = windows[1].Window,
            RequestsPerWindow = 6000,
            RequestWindow = TimeSpan.FromSeconds(1),
            ReadsPerMinute = 3000,
            ReadMinuteWindow = TimeSpan.FromSeconds(1),
            ReadsPerHour = 100_000,
            ReadHourWindow = windows[1].Window,
        });
        var work = Path.Combine(Path.GetTempPath(), "hexcost-bench", "hosts-" + Guid.NewGuid().ToString("N"));
        var sync = Path.Combine(work, "sync");
        Directory.CreateDirectory(sync);
        var projects = Enumerable.Range(0, runs).Select(i => emulator.Workspace.AddProject($"Hosts {i:000}").Id).ToList();
        var warm = emulator.Workspace.AddProject("Warm-up").Id;
        var limits = "@{ RunProject = " + string.Join(",", windows.Select(w => $"'{w.Limit}/{S(w.Window)}'")) + "; Read = '3000/1s'; Request = '6000/1s' }";
        var started = new List<Process>();
        var outputs = new List<Task<string>>();
        try
        {
            var share = runs / processes;
            for (var p = 0; p < processes; p++)
            {
                var hostName = "host" + p;
                var items = string.Join(",", projects.Skip(p * share).Take(share).Select(id => $"[pscustomobject]@{{ ProjectId = '{id}'; IdempotencyKey = 'bench-{id}' }}"));
                var store = redisUri != null ? $"-StateStore '{redisUri}'" : $"-StatePath '{Path.Combine(work, "state")}'";
                var script = $$"""
                    $ErrorActionPreference = 'Stop'
                    $ProgressPreference = 'SilentlyContinue'
                    Import-Module '{{manifest}}'
                    Connect-Hex -Token (ConvertTo-SecureString -String '{{emulator.Token}}' -AsPlainText -Force) -BaseUri '{{emulator.BaseUri}}' {{store}} -RateLimit {{limits}}
                    Invoke-HexRun -ProjectId '{{warm}}' -IdempotencyKey 'warm-{{hostName}}' | Out-Null
                    $items = @({{items}})
                    [System.IO.File]::WriteAllText('{{Path.Combine(sync, hostName + ".warm")}}', '')
                    while (-not [System.IO.File]::Exists('{{Path.Combine(sync, "go")}}')) { [System.Threading.Thread]::Sleep(1) }
                    $errors = @()
                    $runs = @($items | Invoke-HexRun -ThrottleLimit {{ThrottlePerHost * (Hosts / processes)}} -ErrorAction SilentlyContinue -ErrorVariable +errors)
                    "runs $($runs.Count) errors $($errors.Count)"
                    foreach ($e in $errors) { "error $($e.FullyQualifiedErrorId): $e" }
                    """;
                var file = Path.Combine(work, hostName + ".ps1");
                File.WriteAllText(file, script);
                var start = PwshTool.StartInfo(pwsh, "-NoProfile", "-NonInteractive", "-File", file);
                start.Environment.Remove("HEXCOST_STATE_STORE");
                var home = Path.Combine(work, "home-" + hostName);
                Directory.CreateDirectory(home);
                start.Environment["HEXCOST_HOME"] = home;
                var process = Process.Start(start)!;
                started.Add(process);
                outputs.Add(Task.Run(async () => await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync()));
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (Enumerable.Range(0, processes).Any(p => !File.Exists(Path.Combine(sync, $"host{p}.warm"))))
            {
                if (DateTime.UtcNow > deadline || started.Any(p => p.HasExited))
                    throw new InvalidOperationException("a host did not get ready: " + string.Join("\n", outputs.Where(o => o.IsCompleted).Select(o => o.Result)));
                await Task.Delay(20);
            }
            // Every warm-up permit (held a window plus slack after its answer) and the emulator's windows have expired.
            await Task.Delay(windows.Max(w => w.Window) + TimeSpan.FromSeconds(0.5));
            emulator.Stats.Reset();
            var roundTrips = redisUri != null ? await redis.ScriptCallsAsync() : 0;
            var clock = Stopwatch.StartNew();
            File.WriteAllText(Path.Combine(sync, "go"), "");
            foreach (var process in started)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                await process.WaitForExitAsync(cts.Token);
            }
            var wall = clock.Elapsed;
            if (redisUri != null) roundTrips = await redis.ScriptCallsAsync() - roundTrips;
            var texts = await Task.WhenAll(outputs);
            var errors = texts.SelectMany(t => t.Split('\n')).Count(l => l.StartsWith("error ", StringComparison.Ordinal));
            foreach (var line in texts.SelectMany(t => t.Split('\n')).Where(l => l.StartsWith("error ", StringComparison.Ordinal)).Take(5)) Console.WriteLine("[hosts]   " + line.Trim());
            var times = emulator.Stats.RunCreationTimes.OrderBy(t => t).ToList();
            var makespan = times.Count > 0 ? times[^1] - times[0] : TimeSpan.Zero;
            var bursts = string.Join(", ", times.Select((t, i) => (t, i)).GroupBy(x => x.i / windows[0].Limit)
                .Select(g => $"{(g.First().t - times[0]).TotalSeconds:0.000}-{(g.Last().t - times[0]).TotalSeconds:0.000}"));
            var result = new BatchResult(name, processes, runs, emulator.Stats.RunsCreated, emulator.Stats.Throttled429, makespan, Bound(runs, windows),
                emulator.Stats.TotalRequests, emulator.Stats.RequestsFor("RunProject"), roundTrips, wall, bursts, errors);
            Console.WriteLine($"[hosts]   {result.Created} runs, {result.Throttled429} x 429, makespan {makespan.TotalSeconds:0.000} s (bound {result.Bound.TotalSeconds:0.000} s), {result.Requests} requests; bursts {bursts}");
            return result;
        }
        finally
        {
            foreach (var process in started)
            {
                try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.Dispose();
            }
            Delete(work);
        }
    }

    private static async Task<PermitResult> PermitBenchAsync(string root, string store, Func<int, string> location, int processes, int seconds, BenchRedis? redis)
    {
        long calls = 0;
        var (count, longest) = await PermitBench.RunAsync(root, location, processes, seconds,
            async () => calls = redis != null ? await redis.ScriptCallsAsync() : 0);
        var roundTrips = redis != null ? await redis.ScriptCallsAsync() - calls : 0;
        return new PermitResult(store, processes, count, longest, roundTrips);
    }


    private static string Report(List<BatchResult> batches, List<PermitResult> permits, (int Limit, TimeSpan Window)[] windows, TimeSpan bound)
    {
        var baseline = batches[0];
        string Ratio(double value, double basis) => basis > 0 ? (value / basis).ToString("0.00", CultureInfo.InvariantCulture) + "x" : "n/a";
        var rows = new List<string[]>
        {
            new[] { "Setup" }.Concat(batches.Select(b => b.Name)).ToArray(),
            Row("Runs created (must be " + baseline.Runs + ")", b => b.Created.ToString(CultureInfo.InvariantCulture)),
            Row("429 responses", b => b.Throttled429.ToString(CultureInfo.InvariantCulture)),
            Row("Errors", b => b.Errors.ToString(CultureInfo.InvariantCulture)),
            Row("Makespan: first to last run creation (s)", b => F(b.Makespan.TotalSeconds, "0.000")),
            Row("  bound from the windows (s)", b => F(b.Bound.TotalSeconds, "0.000")),
            Row("  ratio makespan / bound (target <= 1.05)", b => F(b.Makespan.TotalSeconds / b.Bound.TotalSeconds, "0.000")),
            Row("  ratio to the baseline", b => Ratio(b.Makespan.TotalSeconds, baseline.Makespan.TotalSeconds)),
            Row("Go -> every process ended (s)", b => F(b.Wall.TotalSeconds, "0.000")),
            Row("Requests to Hex per run", b => F((double)b.Requests / b.Runs, "0.00")),
            Row("  RunProject requests per run", b => F((double)b.RunProjectRequests / b.Runs, "0.00")),
            Row("  ratio to the baseline", b => Ratio((double)b.Requests / b.Runs, (double)baseline.Requests / baseline.Runs)),
            Row("Redis round trips (scripts) per run", b => b.StoreRoundTrips > 0 ? F((double)b.StoreRoundTrips / b.Runs, "0.0") : "n/a"),
        };
        string[] Row(string name, Func<BatchResult, string> cell) => new[] { name }.Concat(batches.Select(cell)).ToArray();

        var basis = permits.First(p => p.Store == "file store" && p.Processes == 1);
        var permitRows = new List<string[]>
        {
            new[] { "Permit (TakePermit + AnswerPermit)", "permits", "permits/s", "ms a permit", "ratio to 1 process, file store", "round trips a permit" },
        };
        foreach (var p in permits)
        {
            permitRows.Add(new[]
            {
                $"{p.Store}, {p.Processes} process{(p.Processes == 1 ? "" : "es")}", p.Count.ToString("N0", CultureInfo.InvariantCulture), F(p.PerSecond, "0"),
                F(p.MsPerPermit, "0.000"), Ratio(p.MsPerPermit, basis.MsPerPermit),
                p.RoundTrips > 0 ? F((double)p.RoundTrips / p.Count, "0.00") : "n/a (file lock + read + write)",
            });
        }

        var md = new StringBuilder().Append(MarkdownTable(rows)).AppendLine();
        foreach (var b in batches) md.AppendLine($"- {b.Name}: run creations by groups of {windows[0].Limit} (s after the first): {b.Bursts}");
        md.AppendLine($"- Bound for {baseline.Runs} runs under 20/{S(windows[0].Window)} + 60/{S(windows[1].Window)}: {bound.TotalSeconds:0.000} s.");
        md.AppendLine().Append(MarkdownTable(permitRows));
        return md.ToString();
    }

    private static string S(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    private static string F(double d, string format) => d.ToString(format, CultureInfo.InvariantCulture);

    private static void Delete(string path)
    {
        try { Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Replaces the hosts section of <paramref name="path"/> (from its marker up to the next section's marker or the
    /// end), or puts it before the state and audit sections.</summary>
    private static void WriteSection(string path, string section)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# HexCost benchmark results\n";
        var at = existing.IndexOf(SectionMarker, StringComparison.Ordinal);
        string head, tail;
        if (at >= 0)
        {
            head = existing[..at];
            var next = NextMarker(existing, at + SectionMarker.Length);
            tail = next >= 0 ? existing[next..] : "";
        }
        else
        {
            var next = NextMarker(existing, 0);
            head = next >= 0 ? existing[..next] : existing;
            tail = next >= 0 ? existing[next..] : "";
        }
        var text = head.TrimEnd() + Environment.NewLine + Environment.NewLine + section.TrimEnd() + Environment.NewLine;
        if (tail.Length > 0) text += Environment.NewLine + tail;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text);
    }

    private static int NextMarker(string text, int from)
    {
        var found = new[] { StateBenchmark.SectionMarker, AuditBenchmark.SectionMarker }.Select(m => text.IndexOf(m, from, StringComparison.Ordinal)).Where(i => i >= 0).ToList();
        return found.Count > 0 ? found.Min() : -1;
    }

    /// <summary>The hosts section of an existing results file (from its marker up to the next section), for the pacing
    /// benchmark to keep.</summary>
    internal static string? ExistingSection(string path)
    {
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path);
        var at = text.IndexOf(SectionMarker, StringComparison.Ordinal);
        if (at < 0) return null;
        var next = NextMarker(text, at + SectionMarker.Length);
        return (next >= 0 ? text[at..next] : text[at..]).TrimEnd() + Environment.NewLine;
    }

    /// <summary>A redis-server (Debian's package) on a free loopback port with its append-only file flushed on every write,
    /// in a temporary folder; killed and its folder removed on Dispose.</summary>
    private sealed class BenchRedis : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "hexcost-bench", "redis-" + Guid.NewGuid().ToString("N"));
        private readonly Process _process;

        public BenchRedis()
        {
            Directory.CreateDirectory(_dir);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "--bind", "127.0.0.1", "--port", Port.ToString(CultureInfo.InvariantCulture), "--dir", _dir, "--appendonly", "yes",
                         "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", "" })
                start.ArgumentList.Add(arg);
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server).");
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("Ready to accept connections") == true) ready.TrySetResult(); };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            if (!ready.Task.Wait(TimeSpan.FromSeconds(30))) throw new InvalidOperationException("redis-server did not get ready.");
            Version = "redis-server " + Cli("INFO", "server").Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("redis_version:", StringComparison.Ordinal))?["redis_version:".Length..];
        }

        public int Port { get; }
        public string Uri => "redis://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);
        public string Version { get; }

        /// <summary>Scripts the server has run so far (EVAL + EVALSHA calls): one per store operation of HexCost.</summary>
        public Task<long> ScriptCallsAsync() => Task.Run(() =>
            Cli("INFO", "commandstats").Split('\n').Where(l => l.StartsWith("cmdstat_eval", StringComparison.Ordinal))
                .Sum(l => long.Parse(l.Split(':')[1].Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture)));

        private string Cli(params string[] command)
        {
            var start = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var arg in new[] { "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture) }.Concat(command)) start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            var text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return text;
        }

        public void Dispose()
        {
            try { if (!_process.HasExited) _process.Kill(); _process.WaitForExit(); } catch (InvalidOperationException) { }
            _process.Dispose();
            Delete(_dir);
        }
    }
}
