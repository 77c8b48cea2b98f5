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
            var processes = Enumerable.Range(0, 2).Select(half =>
            {
                var file = Path.Combine(world.State.Path, $"half{half}.ps1");
                File.WriteAllText(file, Script(half));
                return ModuleHostProcess.Start(world, Repo.Manifest, extra: new[] { "--script", file });
            }).ToList();
            var outputs = await Task.WhenAll(processes.Select(p => ModuleHostProcess.OutputAsync(p, TimeSpan.FromMinutes(2))));
            foreach (var (code, text) in outputs) Assert.True(code == 0, text);
            foreach (var p in processes) p.Dispose();

            var both = string.Join("\n---\n", outputs.Select(o => o.Text));
            Assert.True(world.Stats.RunsCreated == 12, $"{world.Stats.RunsCreated} runs created:\n{both}");
            Assert.True(world.Stats.Throttled429 == 0, $"{world.Stats.Throttled429} x 429:\n{both}");
            var times = world.Stats.RunCreationTimes.OrderBy(t => t).ToList();
            for (var i = 3; i < times.Count; i++) Assert.True(times[i] - times[i - 3] >= TimeSpan.FromSeconds(1), $"4 runs within a second at {times[i - 3]:ss.fff}..{times[i]:ss.fff}");
            var ledger = LedgerFile.ReadAll(Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId));
            var triggered = ledger.Where(r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Created).Select(r => r.RunId).ToList();
            Assert.Equal(12, triggered.Count);
            Assert.Equal(12, triggered.Distinct().Count());
            Assert.Equal(2, ledger.Select(r => r.Owner).Distinct().Count());
        }

        /// <summary>A claim on a cache key whose owner's lease has ended holds nobody up, whatever process id it names (the id
        /// of a live process, or this one's), nor a live owner's claim released without a run.</summary>
        [Fact]
        public async Task A_claim_whose_owner_is_gone_or_released_does_not_hold_up_the_run()
        {
            await using var scene = await ClaimScene.StartAsync();
            await scene.ClaimAsync("dead", "dead-owner", processId: int.MaxValue - 7);
            // Today's HexCost took a live process id as a live claim: the owner's lease decides now.
            await scene.ClaimAsync("live-process", "dead-owner", processId: Environment.ProcessId);
            await scene.ClaimAsync("released", ClaimScene.LiveOwner);
            await scene.ClaimAsync("released", ClaimScene.LiveOwner, TriggerOutcomes.Released);
            foreach (var version in new[] { "dead", "live-process", "released" })
            {
                var result = scene.Host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion $args[1] -Verbose", scene.Project.Id, version).ThrowIfErrors();
                Assert.DoesNotContain(result.Verbose, v => v.Contains("waiting for it"));
            }
            Assert.Equal(3, scene.World.Stats.RunsCreated);
        }

        /// <summary>A claim of an owner whose lease is live is waited for, even when it names this process's id (another host
        /// can have the same process id), and the run it then starts is taken instead of another.</summary>
        [Fact]
        public async Task A_live_claim_is_waited_for_and_its_run_taken()
        {
            await using var scene = await ClaimScene.StartAsync();
            await scene.ClaimAsync("live", ClaimScene.LiveOwner, processId: Environment.ProcessId);
            var (shell, handle) = scene.Host.Start("Invoke-HexRun -ProjectId $args[0] -SourceVersion live -Wait -Verbose", scene.Project.Id);
            using (shell)
            {
                var deadline = DateTime.UtcNow.AddMinutes(1);
                while (!shell.Streams.Verbose.Any(v => v.Message.Contains("waiting for it")) && !handle.IsCompleted && DateTime.UtcNow < deadline)
                    await Task.Delay(10);
                Assert.False(handle.IsCompleted, "Invoke-HexRun did not wait for the live claim");

                // The claiming owner starts its run and records it.
                var run = scene.World.Workspace.AddRun(scene.Project.Id, "API", TestClock.Now, duration: TimeSpan.FromMilliseconds(100));
                await LedgerFile.RecordAsync(scene.Directory, new LedgerRecord
                {
                    Type = LedgerRecordTypes.Trigger, Outcome = TriggerOutcomes.Created, At = TestClock.Now, ProjectId = scene.Project.Id, RunId = run.RunId,
                    CacheKey = scene.Key("live"), SourceVersion = "live", InputParameters = "{}",
                }, ClaimScene.LiveOwner);
                var output = await Task.Factory.FromAsync(handle, shell.EndInvoke);
                Assert.Equal(run.RunId, output.Single().Prop<string>("RunId"));
                Assert.Equal("COMPLETED", output.Single().Prop<string>("Status"));
                Assert.Equal(0, scene.World.Stats.RunsCreated);
            }
        }

        /// <summary>A connected runspace, its workspace's folder, and an owner (another session, on any host) whose lease is live.</summary>
        private sealed record ClaimScene(HexWorld World, HexCost.Emulator.EmulatorProject Project, PsHost Host, string Directory) : IAsyncDisposable
        {
            public const string LiveOwner = "live-owner";

            public static async Task<ClaimScene> StartAsync()
            {
                var world = await HexWorld.StartAsync();
                var project = world.NewProject("Claimed");
                var host = world.Connected();
                host.Run("Get-HexProject | Out-Null").ThrowIfErrors();
                var directory = Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);
                using (var store = new HexCost.State.FileStateStore(directory, TestClock.Shared))
                    await store.RenewOwnerAsync(LiveOwner, TimeSpan.FromMinutes(10), default);
                return new ClaimScene(world, project, host, directory);
            }

            public string Key(string sourceVersion) => HexCost.Runs.InputCanonicalizer.CacheKey(Project.Id, "{}", sourceVersion, false, false);

            /// <summary>The Intent an owner writes for a source version before it triggers.</summary>
            public Task ClaimAsync(string sourceVersion, string owner, string? outcome = null, int? processId = null) =>
                LedgerFile.RecordAsync(Directory, new LedgerRecord
                {
                    Type = LedgerRecordTypes.Intent, Outcome = outcome, At = TestClock.Now, ProjectId = Project.Id, CacheKey = Key(sourceVersion), ProcessId = processId,
                }, owner);

            public async ValueTask DisposeAsync()
            {
                Host.Dispose();
                await World.DisposeAsync();
            }
        }

        /// <summary>Two processes work through the same list of source versions at the same time: each version runs once,
        /// whichever process asks first, and the other reattaches to that run.</summary>
        [Fact]
        public async Task Two_processes_asking_for_the_same_source_versions_start_each_run_once()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Shared", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(300));
            var script = @"param($Manifest, $BaseUri, $Token, $StatePath)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ RunProject = '600/1m'; Read = '600/1m'; Request = '600/1m' }
[System.IO.File]::WriteAllText([System.IO.Path]::Combine($StatePath, ""ready-$PID""), '')
$go = [System.IO.Path]::Combine($StatePath, 'go')
while (-not [System.IO.File]::Exists($go)) { [System.Threading.Thread]::Sleep(5) }
1..12 | ForEach-Object { $r = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion ""v$_""; ""run v$_ $($r.RunId)"" }";
            var file = Path.Combine(world.State.Path, "same.ps1");
            File.WriteAllText(file, script);
            var processes = Enumerable.Range(0, 2).Select(_ => ModuleHostProcess.Start(world, Repo.Manifest, extra: new[] { "--script", file })).ToList();
            var outputs = processes.Select(p => ModuleHostProcess.OutputAsync(p, TimeSpan.FromMinutes(2))).ToList();
            // Both wait, connected, for this file, so their first requests meet.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (Directory.GetFiles(world.State.Path, "ready-*").Length < 2 && DateTime.UtcNow < deadline && processes.All(p => !p.HasExited))
                await Task.Delay(10);
            File.WriteAllText(Path.Combine(world.State.Path, "go"), "");
            var results = await Task.WhenAll(outputs);
            foreach (var (code, text) in results) Assert.True(code == 0, text);
            foreach (var p in processes) p.Dispose();

            Assert.Equal(12, world.Stats.RunsCreated);
            var runIds = results.Select(r => r.Text.Split('\n').Where(l => l.StartsWith("run v")).Select(l => l.Trim()).OrderBy(l => l, StringComparer.Ordinal).ToList()).ToList();
            Assert.Equal(12, runIds[0].Count);
            Assert.Equal(runIds[0], runIds[1]);
        }
    }
}
