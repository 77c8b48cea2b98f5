using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using System.Threading.Tasks;
using HexCost.Emulator;

using static HexCost.Benchmarks.Shell;

namespace HexCost.Benchmarks;

/// <summary>HexCost as a user runs it: the module imported into a real runspace, Connect-Hex with the scaled limits,
/// then every project piped into <c>Invoke-HexRun -Wait</c>.</summary>
internal static class HexCostScenario
{
    public static async Task<Outcome> RunAsync(Settings settings, ScaledLimits limits, string manifest, TimeSpan deadline)
    {
        await using var emulator = await HexEmulator.StartAsync(limits.Emulator(settings));
        var pipeline = Workload.Create(emulator, settings);
        var state = Path.Combine(Path.GetTempPath(), "hexcost-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(state);
        try
        {
            using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
            runspace.Open();
            Invoke(runspace, """
                Import-Module $args[0] -ErrorAction Stop
                Connect-Hex -Token $args[1] -BaseUri $args[2] -StatePath $args[3] -RateLimit $args[4] -ErrorAction Stop
                $byId = @{}
                Get-HexProject -ErrorAction Stop | ForEach-Object { $byId[$_.ProjectId] = $_ }
                $global:BenchProjects = @($args[5] | ForEach-Object { $byId[$_] })
                if ($global:BenchProjects.Count -ne $args[5].Count -or $global:BenchProjects -contains $null) { throw 'Get-HexProject did not list every benchmark project.' }
                """, manifest, Secure(emulator.Token), emulator.BaseUri, state, limits.ClientLimits(), pipeline.ToArray());
            var setup = (Requests: emulator.Stats.TotalRequests, Throttled: emulator.Stats.Throttled429);
            emulator.Stats.Reset();

            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            ps.AddScript("$global:BenchProjects | Invoke-HexRun -Wait -ThrottleLimit $args[0]").AddArgument(settings.ThrottleLimit);
            var output = new PSDataCollection<PSObject>();
            var handle = ps.BeginInvoke<PSObject, PSObject>(null, output);
            var finished = await Task.Run(() => handle.AsyncWaitHandle.WaitOne(deadline));
            var done = DateTimeOffset.UtcNow;
            string? note = null;
            if (!finished)
            {
                ps.Stop();
                note = $"stopped after the {deadline.TotalSeconds:0} s deadline";
            }
            else
            {
                try { ps.EndInvoke(handle); }
                catch (RuntimeException ex) { note = "pipeline failed: " + ex.Message; }
            }

            var runs = output.ToList();
            var errors = ps.Streams.Error.ToList();
            if (errors.Count > 0) note = (note == null ? "" : note + "; ") + "first error: " + errors[0];
            Invoke(runspace, "Disconnect-Hex");

            var outcome = new Outcome
            {
                Name = "HexCost",
                ClientDone = finished ? done : null,
                RunIds = runs.Select(r => r.Properties["RunId"]?.Value as string).Where(id => id != null).Select(id => id!).ToArray(),
                Completed = runs.Count(r => r.Properties["Status"]?.Value as string == "COMPLETED"),
                Errors = errors.Count,
                Note = note,
            };
            outcome.ReadFrom(emulator);
            outcome.Throttled429 += setup.Throttled;
            outcome.Setup = $"Import-Module, Connect-Hex and Get-HexProject before the pipeline made {setup.Requests} requests ({setup.Throttled} x 429, counted above); they are not in the request counts.";
            return outcome;
        }
        finally
        {
            try { Directory.Delete(state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

}

/// <summary>The runs both approaches start: <see cref="Settings.Projects"/> new published projects, taken round-robin
/// until <see cref="Settings.Runs"/> project ids are listed (12 × 10 by default).</summary>
internal static class Workload
{
    public static IReadOnlyList<string> Create(HexEmulator emulator, Settings settings)
    {
        var projects = Enumerable.Range(1, settings.Projects).Select(i => emulator.Workspace.AddProject($"Bench {i:00}").Id).ToArray();
        return Enumerable.Range(0, settings.Runs).Select(i => projects[i % projects.Length]).ToArray();
    }
}
