using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

namespace HexCost.Benchmarks;

/// <summary>Medians, in milliseconds, of importing HexCost in real pwsh, against an empty script module.</summary>
internal sealed record ImportResult(
    int Samples,
    string Pwsh,
    double HexCostProcessMs,
    double EmptyProcessMs,
    double HexCostImportMs,
    double NoFormatsImportMs,
    double EmptyImportMs,
    double ReimportMs)
{
    /// <summary>A whole <c>pwsh -NoProfile -Command 'Import-Module HexCost'</c> process against one that imports the empty module.</summary>
    public double ProcessRatio => HexCostProcessMs / EmptyProcessMs;
}

/// <summary>
/// Import-Module time in the pwsh users run (the PowerShell dotnet tool the repository restores). The figure that counts
/// is a whole process, <c>pwsh -NoProfile -NonInteractive -Command "Import-Module …"</c>, as a runbook or a CI step starts
/// it, against the same process importing an empty script module (manifest + empty .psm1): samples interleaved, medians.
/// Where the time goes comes from Import-Module timed inside such processes: HexCost's manifest, the same manifest
/// without its format file, and the empty module; and a re-import with -Force in the same process.
/// </summary>
internal static class ImportTimer
{
    public static ImportResult Measure(string repoRoot, int samples)
    {
        var pwsh = HexCost.Tools.PwshTool.Find(repoRoot);
        // What a gallery user imports: the module folder the build assembles (./HexCost.psd1 redirects to it).
        var manifest = Path.Combine(repoRoot, "module", "HexCost", "HexCost.psd1");
        var scratch = Path.Combine(Path.GetTempPath(), "hexcost-bench", "import-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        try
        {
            var empty = Path.Combine(scratch, "Empty.psd1");
            File.WriteAllText(Path.Combine(scratch, "Empty.psm1"), "# An empty script module: the baseline for Import-Module time.\n");
            File.WriteAllText(empty, "@{ RootModule = 'Empty.psm1'; ModuleVersion = '1.0.0'; GUID = '" + Guid.NewGuid() + "'; FunctionsToExport = @(); CmdletsToExport = @() }\n");
            var noFormats = WithoutFormats(manifest, scratch);

            Run(pwsh, "exit 0"); // warm-up, discarded: the first process after a build pays for the disk cache
            var hexProcess = new List<double>();
            var emptyProcess = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                // Alternate which goes first, so a drift in the machine's load weighs on both alike.
                if (i % 2 == 0) { hexProcess.Add(Run(pwsh, ImportCommand(manifest))); emptyProcess.Add(Run(pwsh, ImportCommand(empty))); }
                else { emptyProcess.Add(Run(pwsh, ImportCommand(empty))); hexProcess.Add(Run(pwsh, ImportCommand(manifest))); }
            }

            var hexImport = new List<double>();
            var noFormatsImport = new List<double>();
            var emptyImport = new List<double>();
            var reimport = new List<double>();
            for (var i = 0; i < samples; i++)
            {
                var hex = TimedImports(pwsh, manifest);
                hexImport.Add(hex[0]);
                reimport.Add(hex[1]);
                noFormatsImport.Add(TimedImports(pwsh, noFormats)[0]);
                emptyImport.Add(TimedImports(pwsh, empty)[0]);
            }
            return new ImportResult(samples, pwsh, Median(hexProcess), Median(emptyProcess), Median(hexImport), Median(noFormatsImport),
                Median(emptyImport), Median(reimport));
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    private static string ImportCommand(string module) => $"Import-Module '{module.Replace("'", "''")}' -ErrorAction Stop";

    /// <summary>A copy of the module folder whose manifest has no FormatsToProcess.</summary>
    private static string WithoutFormats(string manifest, string scratch)
    {
        var copy = Path.Combine(scratch, "NoFormats", "HexCost");
        CopyDirectory(Path.GetDirectoryName(manifest)!, copy);
        var path = Path.Combine(copy, "HexCost.psd1");
        File.WriteAllText(path, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(path), @"FormatsToProcess\s*=\s*@\([^)]*\)", "FormatsToProcess = @()"));
        return path;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    /// <summary>Import-Module of <paramref name="module"/> timed inside a new pwsh, then again with -Force: [first, again] in ms.</summary>
    private static double[] TimedImports(string pwsh, string module)
    {
        var quoted = module.Replace("'", "''");
        var output = Capture(pwsh,
            "$clock = [System.Diagnostics.Stopwatch]::StartNew(); Import-Module '" + quoted + "' -ErrorAction Stop; $first = $clock.Elapsed.TotalMilliseconds; " +
            "$clock.Restart(); Import-Module '" + quoted + "' -Force -ErrorAction Stop; $again = $clock.Elapsed.TotalMilliseconds; " +
            "[string]::Format([System.Globalization.CultureInfo]::InvariantCulture, '{0} {1}', $first, $again)");
        var parts = output.Trim().Split(' ');
        return parts.Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Wall time of a whole pwsh process running <paramref name="command"/>, in ms.</summary>
    private static double Run(string pwsh, string command)
    {
        var clock = Stopwatch.StartNew();
        Capture(pwsh, command);
        return clock.Elapsed.TotalMilliseconds;
    }

    private static string Capture(string pwsh, string command)
    {
        var start = HexCost.Tools.PwshTool.StartInfo(pwsh, "-NoProfile", "-NonInteractive", "-Command", command);
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            child.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"pwsh took longer than 60 s: {command}");
        }
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"pwsh failed ({child.ExitCode}) running {command}: {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
