using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>Two real processes, one token, one state directory: together they keep to the limits, and the ledger
    /// holds every run of both exactly once.</summary>
    public class MultiProcessTests
    {
        [Fact]
        public async Task Two_processes_share_one_budget_and_one_ledger()
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.RateLimitsEnabled = true;
                o.RunsPerMinute = 3;
                o.RunMinuteWindow = TimeSpan.FromSeconds(1);
                o.RunsPerHour = 1000;
                o.RequestsPerWindow = 1000;
                o.ReadsPerMinute = 1000;
            });
            var projects = Enumerable.Range(0, 12).Select(i => world.NewProject("Shared " + i)).ToList();
            string Script(int half) => @"param($Manifest, $BaseUri, $Token, $StatePath)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ RunProject = '3/1s'; Read = '600/1m'; Request = '600/1m' }
'" + string.Join("','", projects.Skip(half * 6).Take(6).Select(p => p.Id)) + @"' | ForEach-Object { $r = Invoke-HexRun -ProjectId $_; ""run $($r.RunId)"" }";
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var hostDll = Path.Combine(Repo.Root, "tests", "HexCost.ModuleHost", "bin", configuration, "net10.0", "HexCost.ModuleHost.dll");
            var processes = Enumerable.Range(0, 2).Select(half =>
            {
                var file = Path.Combine(world.State.Path, $"half{half}.ps1");
                File.WriteAllText(file, Script(half));
                var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in new[] { hostDll, Repo.Manifest, world.Emulator.BaseUri.ToString(), world.Emulator.Token, world.State.Path, "--script", file }) info.ArgumentList.Add(a);
                return Process.Start(info)!;
            }).ToList();
            var outputs = await Task.WhenAll(processes.Select(async p =>
            {
                var text = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
                await p.WaitForExitAsync();
                return (p.ExitCode, text);
            }));
            foreach (var (code, text) in outputs) Assert.True(code == 0, text);
            foreach (var p in processes) p.Dispose();

            Assert.Equal(12, world.Stats.RunsCreated);
            Assert.Equal(0, world.Stats.Throttled429);
            var times = world.Stats.RunCreationTimes.OrderBy(t => t).ToList();
            for (var i = 3; i < times.Count; i++) Assert.True(times[i] - times[i - 3] >= TimeSpan.FromSeconds(1), $"4 runs within a second at {times[i - 3]:ss.fff}..{times[i]:ss.fff}");
            var ledger = new HexLedger(Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId)).ReadAll();
            var triggered = ledger.Where(r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Created).Select(r => r.RunId).ToList();
            Assert.Equal(12, triggered.Count);
            Assert.Equal(12, triggered.Distinct().Count());
            Assert.Equal(2, ledger.Select(r => r.ProcessId).Distinct().Count());
        }
    }
}
