using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace HexCost.Benchmarks;

/// <summary>Medians, in milliseconds, of opening a runspace and importing a module into it.</summary>
internal sealed record ImportTimes(double OpenMs, double ImportMs);

internal sealed record ImportResult(ImportTimes HexCostCold, ImportTimes EmptyCold, ImportTimes HexCostWarm, ImportTimes EmptyWarm, int Samples);

/// <summary>
/// Import-Module time. "Cold": each sample is a new process (this program with <c>--probe-import</c>) that opens one
/// runspace and imports one module, as a user's new pwsh does. "Warm": fresh runspaces in this process, where the
/// module's assemblies are already loaded after the first. The baseline is an empty script module (manifest + empty
/// .psm1) measured the same way in the same run, samples interleaved.
/// </summary>
internal static class ImportTimer
{
    public const string ProbeSwitch = "--probe-import";

    public static ImportResult Measure(string manifest, int samples)
    {
        var emptyDir = Path.Combine(Path.GetTempPath(), "hexcost-bench", "empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(emptyDir);
        var empty = Path.Combine(emptyDir, "Empty.psd1");
        File.WriteAllText(Path.Combine(emptyDir, "Empty.psm1"), "# An empty script module: the baseline for Import-Module time.\n");
        File.WriteAllText(empty, "@{ RootModule = 'Empty.psm1'; ModuleVersion = '1.0.0'; GUID = '" + Guid.NewGuid() + "'; FunctionsToExport = @(); CmdletsToExport = @() }\n");
        try
        {
            var hexCold = new List<ImportTimes>();
            var emptyCold = new List<ImportTimes>();
            for (var i = 0; i < samples; i++)
            {
                hexCold.Add(InChildProcess(manifest));
                emptyCold.Add(InChildProcess(empty));
            }
            InFreshRunspace(empty); // warm-up, discarded: this process's first runspace pays for loading PowerShell itself
            var hexWarm = new List<ImportTimes>();
            var emptyWarm = new List<ImportTimes>();
            for (var i = 0; i < samples; i++)
            {
                emptyWarm.Add(InFreshRunspace(empty));
                hexWarm.Add(InFreshRunspace(manifest));
            }
            return new ImportResult(Median(hexCold), Median(emptyCold), Median(hexWarm), Median(emptyWarm), samples);
        }
        finally
        {
            try { Directory.Delete(emptyDir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The child side of a cold sample: prints "open import" in milliseconds.</summary>
    public static int Probe(string module)
    {
        var times = InFreshRunspace(module);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{times.OpenMs:0.###} {times.ImportMs:0.###}"));
        return 0;
    }

    private static ImportTimes InFreshRunspace(string module)
    {
        var clock = Stopwatch.StartNew();
        using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        var open = clock.Elapsed.TotalMilliseconds;
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddCommand("Import-Module").AddParameter("Name", module).AddParameter("ErrorAction", "Stop");
        clock.Restart();
        ps.Invoke();
        var import = clock.Elapsed.TotalMilliseconds;
        if (ps.HadErrors) throw new InvalidOperationException($"Import-Module {module} failed: {ps.Streams.Error.FirstOrDefault()}");
        return new ImportTimes(open, import);
    }

    private static ImportTimes InChildProcess(string module)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark cannot find its own executable.");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        start.ArgumentList.Add(ProbeSwitch);
        start.ArgumentList.Add(module);
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            child.Kill();
            throw new InvalidOperationException("An import probe took longer than 60 s.");
        }
        var parts = stdout.Result.Trim().Split(' ');
        if (child.ExitCode != 0 || parts.Length != 2)
            throw new InvalidOperationException($"The import probe of {module} failed ({child.ExitCode}): {stderr.Result}{stdout.Result}");
        return new ImportTimes(double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static ImportTimes Median(List<ImportTimes> samples) =>
        new(Median(samples.Select(s => s.OpenMs)), Median(samples.Select(s => s.ImportMs)));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
