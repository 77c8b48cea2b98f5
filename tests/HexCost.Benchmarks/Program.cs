using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;

using static HexCost.Benchmarks.Tables;

namespace HexCost.Benchmarks;

/// <summary>
/// HexCost against a naive peer client on the emulator, with Hex's limits scaled down, plus Import-Module time.
/// Usage: dotnet run -c Release --project tests/HexCost.Benchmarks [-- --runs 120 --scale 60 --projects 12
/// --throttle 25 --pending-ms 20 --run-ms 200 --import-samples 7 --out path/results.md]
/// With <c>--audit</c> it measures Get-HexScheduleAudit instead (see <see cref="AuditBenchmark"/>):
/// dotnet run -c Release --project tests/HexCost.Benchmarks -- --audit [--sizes 1000,10000] [--scale 120 | --no-limits] [--no-trace] [--no-histogram] [--out FILE]
/// With <c>--state</c> it measures the state engine instead (see <see cref="StateBenchmark"/>): connect with 10k/100k/1M-record
/// ledgers and the store's permit throughput: dotnet run -c Release --project tests/HexCost.Benchmarks -- --state
/// With <c>--hosts</c> it measures processes and hosts sharing one state, the file store against Redis (see
/// <see cref="HostsBenchmark"/>): dotnet run -c Release --project tests/HexCost.Benchmarks -- --hosts
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--import") return RunImportOnly(args);
        if (args.Length == 2 && args[0] == HeapHistogram.HelperSwitch) return HeapHistogram.Helper(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
        if (args.Length > 0 && args[0] == AuditBenchmark.ChildSwitch) return AuditBenchmark.Child(args, Path.Combine(FindRepoRoot(), "HexCost.psd1"));
        if (args.Contains(AuditBenchmark.Switch)) return await AuditBenchmark.RunAsync(args, FindRepoRoot());
        if (args.Contains(StateBenchmark.Switch)) return await StateBenchmark.RunAsync(args, FindRepoRoot());
        if (args.Contains(HostsBenchmark.Switch)) return await HostsBenchmark.RunAsync(args, FindRepoRoot());

        Settings settings;
        try
        {
            settings = Parse(args);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine("Usage: dotnet run -c Release --project tests/HexCost.Benchmarks [-- --runs 120 --scale 60 --projects 12 --throttle 25 --pending-ms 20 --run-ms 200 --import-samples 7 --out FILE]");
            Console.Error.WriteLine("   or: " + AuditBenchmark.Usage["Usage: ".Length..]);
            return 2;
        }

        var root = FindRepoRoot();
        var manifest = Path.Combine(root, "HexCost.psd1");
        var resultsPath = settings.ResultsPath ?? Path.Combine(root, "tests", "HexCost.Benchmarks", "results.md");
        var limits = new ScaledLimits(settings.Scale);
        var (minimum, formula) = limits.TheoreticalMinimum(settings);
        var deadline = TimeSpan.FromTicks(minimum.Ticks * 4) + TimeSpan.FromSeconds(60);
        var command = "dotnet run -c Release --project tests/HexCost.Benchmarks" + (args.Length > 0 ? " -- " + string.Join(" ", args) : "");
        var started = DateTimeOffset.UtcNow;

        Console.WriteLine($"HexCost benchmark: {settings.Runs} runs over {settings.Projects} projects, limits scaled 1/{F(settings.Scale, "0.##")} " +
                          $"(minute = {ScaledLimits.Seconds(limits.Minute)}, hour = {ScaledLimits.Seconds(limits.Hour)}), runs {Ms(settings.Pending)} pending + {Ms(settings.RunDuration)} running.");
        Console.WriteLine($"Expected: HexCost ~{F(minimum.TotalSeconds, "0")} s, naive longer; about {F((minimum.TotalSeconds * 2.1 + 20) / 60, "0.0")} min in all.");

        Console.WriteLine($"[1/3] Import-Module time ({settings.ImportSamples} samples each)...");
        var import = ImportTimer.Measure(root, settings.ImportSamples);

        Console.WriteLine("[2/3] HexCost: Connect-Hex -RateLimit " + limits.ClientLimitsText() + "; $projects | Invoke-HexRun -Wait -ThrottleLimit " + settings.ThrottleLimit + " ...");
        var hex = await HexCostScenario.RunAsync(settings, limits, manifest, deadline);
        Console.WriteLine($"      done: {Seconds(hex.Makespan)} s, {hex.Throttled429} x 429.");

        Console.WriteLine($"[3/3] Naive baseline: batches of {NaiveScenario.BatchSize}, sleep {ScaledLimits.Seconds(limits.Minute)} between, poll every {ScaledLimits.Seconds(NaiveScenario.PollInterval(limits))} ...");
        var naive = await NaiveScenario.RunAsync(settings, limits, deadline);
        Console.WriteLine($"      done: {Seconds(naive.Makespan)} s, {naive.Throttled429} x 429.");

        var report = Report(settings, limits, minimum, formula, hex, naive, import);
        Console.WriteLine();
        Console.WriteLine(report.Console);

        var markdown = new StringBuilder()
            .AppendLine("# HexCost benchmark results")
            .AppendLine()
            .AppendLine($"- Command: `{command}` (from the repository root)")
            .AppendLine($"- Date: {started:yyyy-MM-dd HH:mm} UTC, took {F((DateTimeOffset.UtcNow - started).TotalMinutes, "0.0")} min")
            .AppendLine($"- Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}, System.Management.Automation {typeof(System.Management.Automation.PowerShell).Assembly.GetName().Version}")
            .AppendLine($"- Settings: {settings.Runs} runs over {settings.Projects} projects; scale 1/{F(settings.Scale, "0.##")} (minute = {ScaledLimits.Seconds(limits.Minute)}, hour = {ScaledLimits.Seconds(limits.Hour)}); " +
                        $"run = {Ms(settings.Pending)} pending + {Ms(settings.RunDuration)} running; emulator windows fixed from the first request, Retry-After sent")
            .AppendLine($"- HexCost: `Connect-Hex -RateLimit {limits.ClientLimitsText()}`, then `$projects | Invoke-HexRun -Wait -ThrottleLimit {settings.ThrottleLimit}` in a fresh runspace")
            .AppendLine($"- Naive: HttpClient; batches of {NaiveScenario.BatchSize} triggers then sleep {ScaledLimits.Seconds(limits.Minute)}; on 429/503 sleep Retry-After, else {ScaledLimits.Seconds(NaiveScenario.FixedRetry(limits))}; poll each run every {ScaledLimits.Seconds(NaiveScenario.PollInterval(limits))}")
            .AppendLine()
            .Append(report.Markdown);
        if (HostsBenchmark.ExistingSection(resultsPath) is { } hosts) // the --hosts section is kept
            markdown.AppendLine().Append(hosts);
        if (StateBenchmark.ExistingSection(resultsPath) is { } state) // the --state section is kept
            markdown.AppendLine().Append(state);
        if (AuditBenchmark.ExistingSection(resultsPath) is { } audit) // the --audit section is kept
            markdown.AppendLine().Append(audit);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(resultsPath))!);
        File.WriteAllText(resultsPath, markdown.ToString());
        Console.WriteLine($"Written to {resultsPath}");
        return 0;
    }

    private static (string Console, string Markdown) Report(Settings settings, ScaledLimits limits, TimeSpan minimum, string formula,
        Outcome hex, Outcome naive, ImportResult import)
    {
        string Ratio(Outcome o) => o.Makespan is { } m ? F(m.TotalSeconds / minimum.TotalSeconds, "0.000") : "n/a";
        var rows = new List<string[]>
        {
            new[] { "Metric", "HexCost", "Naive" },
            new[] { "Makespan: first trigger -> last run seen ended (s)", Seconds(hex.Makespan), Seconds(naive.Makespan) },
            new[] { "  last trigger accepted (s)", Seconds(hex.LastTrigger), Seconds(naive.LastTrigger) },
            new[] { "  last run ended, emulator clock (s)", Seconds(hex.ServerMakespan), Seconds(naive.ServerMakespan) },
            new[] { "  lag: last run ended -> client saw it (s)", Seconds(hex.Makespan - hex.ServerMakespan), Seconds(naive.Makespan - naive.ServerMakespan) },
            new[] { "Theoretical minimum (s)", Seconds(minimum), Seconds(minimum) },
            new[] { "Ratio makespan / minimum", Ratio(hex), Ratio(naive) },
            new[] { "429 responses", I(hex.Throttled429), I(naive.Throttled429) },
            new[] { "503 responses (kernel limit)", I(hex.Kernel503), I(naive.Kernel503) },
            new[] { $"Runs created (must be {settings.Runs})", I(hex.RunsCreated), I(naive.RunsCreated) },
            new[] { "Runs seen COMPLETED by the client", I(hex.Completed), I(naive.Completed) },
            new[] { "Total requests", I(hex.TotalRequests), I(naive.TotalRequests) },
            new[] { "  RunProject requests", I(hex.TriggerRequests), I(naive.TriggerRequests) },
            new[] { "  GetRunStatus requests", I(hex.StatusRequests), I(naive.StatusRequests) },
            new[] { "Errors", I(hex.Errors), I(naive.Errors) },
        };

        var verdict = Verdict(hex, minimum, settings.Runs);
        var notes = new List<string> { formula, "HexCost target: ratio <= 1.05 and 0 x 429 -> " + verdict };
        foreach (var o in new[] { hex, naive })
        {
            notes.Add($"{o.Name} trigger bursts (count @ from-to s after the first): " +
                      string.Join(", ", o.Bursts(limits.Minute).Select(b => $"{b.Count} @ {F(b.From.TotalSeconds, "0.000")}-{F(b.To.TotalSeconds, "0.000")}")));
            if (o.Setup != null) notes.Add($"{o.Name} setup: {o.Setup}");
            if (o.Note != null) notes.Add($"{o.Name}: {o.Note}");
        }

        var importRows = ImportRows(import);

        var console = new StringBuilder().Append(TextTable(rows));
        foreach (var n in notes) console.AppendLine(n);
        console.AppendLine().Append(TextTable(importRows));

        var md = new StringBuilder().AppendLine("## Throughput: " + settings.Runs + " runs").AppendLine().Append(MarkdownTable(rows)).AppendLine();
        foreach (var n in notes) md.AppendLine("- " + n.Replace("*", "\\*"));
        md.AppendLine().AppendLine("## Import-Module time").AppendLine().Append(MarkdownTable(importRows)).AppendLine().AppendLine(ImportCaption);
        return (console.ToString(), md.ToString());
    }

    private const string ImportCaption =
        "Real pwsh (the PowerShell dotnet tool the repository restores). Process: a whole `pwsh -NoProfile -NonInteractive -Command " +
        "\"Import-Module <manifest>\"`, HexCost and the empty script module interleaved. In-process: Import-Module timed inside such a " +
        "process; the format file's share is HexCost minus the same manifest without FormatsToProcess.";

    private static List<string[]> ImportRows(ImportResult import) => new()
    {
        new[] { "Import-Module in pwsh (median of " + import.Samples + ")", "ms" },
        new[] { "whole process, Import-Module module/HexCost (as installed)", F(import.HexCostProcessMs, "0") },
        new[] { "whole process, Import-Module of an empty script module", F(import.EmptyProcessMs, "0") },
        new[] { "ratio HexCost / empty (whole process)", F(import.ProcessRatio, "0.00") + "x" },
        new[] { "in-process Import-Module module/HexCost", F(import.HexCostImportMs, "0.0") },
        new[] { "  of which the format file (HexCost.Format.ps1xml)", F(import.HexCostImportMs - import.NoFormatsImportMs, "0.0") },
        new[] { "  of which manifest, loader and cmdlets, beyond an empty module", F(import.NoFormatsImportMs - import.EmptyImportMs, "0.0") },
        new[] { "in-process Import-Module of the empty script module", F(import.EmptyImportMs, "0.0") },
        new[] { "Import-Module module/HexCost -Force again in the same process", F(import.ReimportMs, "0.0") },
    };

    /// <summary>`dotnet run -c Release --project tests/HexCost.Benchmarks -- --import [--samples N]`: the import figures alone.</summary>
    private static int RunImportOnly(string[] args)
    {
        var samples = 15;
        var index = Array.IndexOf(args, "--samples");
        if (index >= 0 && index + 1 < args.Length) samples = int.Parse(args[index + 1], CultureInfo.InvariantCulture);
        var import = ImportTimer.Measure(FindRepoRoot(), samples);
        Console.WriteLine($"pwsh: {import.Pwsh}");
        Console.Write(TextTable(ImportRows(import)));
        Console.WriteLine(ImportCaption);
        return 0;
    }

    private static string Verdict(Outcome hex, TimeSpan minimum, int runs)
    {
        var misses = new List<string>();
        if (hex.Makespan is not { } m) misses.Add("did not finish");
        else if (m.TotalSeconds / minimum.TotalSeconds > 1.05) misses.Add($"ratio {F(m.TotalSeconds / minimum.TotalSeconds, "0.000")}");
        if (hex.Throttled429 > 0) misses.Add($"{hex.Throttled429} x 429");
        if (hex.RunsCreated != runs) misses.Add($"{hex.RunsCreated} runs created instead of {runs}");
        return misses.Count == 0 ? "MET" : "MISSED (" + string.Join(", ", misses) + ")";
    }

    private static Settings Parse(string[] args)
    {
        var s = new Settings();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value.");
            var value = args[++i];
            s = name switch
            {
                "--runs" => s with { Runs = Positive(name, value) },
                "--scale" => s with { Scale = PositiveDouble(name, value) },
                "--projects" => s with { Projects = Positive(name, value) },
                "--throttle" => s with { ThrottleLimit = Positive(name, value) },
                "--pending-ms" => s with { Pending = TimeSpan.FromMilliseconds(PositiveDouble(name, value)) },
                "--run-ms" => s with { RunDuration = TimeSpan.FromMilliseconds(PositiveDouble(name, value)) },
                "--import-samples" => s with { ImportSamples = Positive(name, value) },
                "--out" => s with { ResultsPath = value },
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }
        if (s.ThrottleLimit > 25) throw new ArgumentException("--throttle is at most 25 (Invoke-HexRun -ThrottleLimit).");
        return s;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new FormatException($"{name} takes a positive whole number, not '{value}'.");

    private static double PositiveDouble(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 ? d : throw new FormatException($"{name} takes a positive number, not '{value}'.");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HexCost.psd1"))) return dir.FullName;
        throw new InvalidOperationException("HexCost.psd1 not found above " + AppContext.BaseDirectory);
    }

    private static string Seconds(TimeSpan? t) => t is { } v ? F(v.TotalSeconds, "0.000") : "n/a";
    private static string Ms(TimeSpan t) => F(t.TotalMilliseconds, "0.###") + " ms";
    private static string I(int n) => n.ToString(CultureInfo.InvariantCulture);
    private static string F(double d, string format) => d.ToString(format, CultureInfo.InvariantCulture);
}
