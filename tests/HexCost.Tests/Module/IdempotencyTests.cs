using System;
using System.Collections;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    public class IdempotencyTests
    {
        [Fact]
        public async Task The_same_key_returns_the_same_run_in_flight_or_finished()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Hourly runbook", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(400));
            using var host = world.Connected();
            var first = host.Run("Invoke-HexRun -ProjectId $args[0] -IdempotencyKey 'k-2026112310'", project.Id).ThrowIfErrors().Output.Single();
            var again = host.Run("Invoke-HexRun -ProjectId $args[0] -IdempotencyKey 'k-2026112310' -Wait", project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal(first.Prop<string>("RunId"), again.Prop<string>("RunId"));
            Assert.True(again.Prop<bool>("FromCache"));
            Assert.Equal("COMPLETED", again.Prop<string>("Status"));
            var third = host.Run("Invoke-HexRun -ProjectId $args[0] -IdempotencyKey 'k-2026112310'", project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal(("COMPLETED", first.Prop<string>("RunId")), (third.Prop<string>("Status"), third.Prop<string>("RunId")));
            Assert.Equal(1, world.Stats.RunsCreated);
            host.Run("Invoke-HexRun -ProjectId $args[0] -IdempotencyKey 'k-2026112311'", project.Id).ThrowIfErrors();
            Assert.Equal(2, world.Stats.RunsCreated);
        }

        [Fact]
        public async Task Eight_runspaces_released_together_with_one_key_start_one_run()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Hourly runbook", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(300));
            var hosts = Enumerable.Range(0, 8).Select(_ => world.Connected()).ToList();
            try
            {
                using var start = new System.Threading.Barrier(hosts.Count);
                var runs = await Task.WhenAll(hosts.Select(host => Task.Run(() =>
                {
                    start.SignalAndWait();
                    return host.Run("Invoke-HexRun -ProjectId $args[0] -IdempotencyKey 'together-2026112313' -Wait", project.Id);
                })));
                Assert.Equal(1, world.Stats.RunsCreated);
                var outputs = runs.Select(r => r.ThrowIfErrors().Output.Single()).ToList();
                Assert.Single(outputs.Select(o => o.Prop<string>("RunId")).Distinct());
                Assert.All(outputs, o => Assert.Equal("COMPLETED", o.Prop<string>("Status")));
            }
            finally
            {
                foreach (var host in hosts) host.Dispose();
            }
        }

        [Fact]
        public async Task A_trigger_left_unanswered_by_a_dead_process_is_found_and_adopted()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Crashy");
            using var host = world.Connected();
            host.Run("Get-HexProject | Out-Null").ThrowIfErrors();
            // A runbook wrote its intent, sent the trigger, and died before recording the answer.
            var dir = Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);
            var sentAt = TestClock.Now;
            // Its owner's lease is not renewed: it ended with the process.
            await LedgerFile.RecordAsync(dir, new LedgerRecord { Type = LedgerRecordTypes.Intent, At = sentAt, ProjectId = project.Id, IdempotencyKey = "dead-1", Id = "x1" }, "dead-owner");
            var orphan = world.Workspace.AddRun(project.Id, "API", sentAt.AddMilliseconds(50), duration: TimeSpan.FromMilliseconds(100));
            var run = host.Run("Invoke-HexRun -ProjectId $args[0] -IdempotencyKey dead-1 -Wait", project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal(orphan.RunId, run.Prop<string>("RunId"));
            Assert.Equal(0, world.Stats.RunsCreated);
        }

        [Fact]
        public async Task A_runbook_killed_mid_batch_and_rerun_starts_each_run_once()
        {
            await using var world = await HexWorld.StartAsync(o => o.RunDuration = TimeSpan.FromMilliseconds(300));
            var projects = Enumerable.Range(0, 8).Select(i => world.NewProject("Batch " + i)).ToList();
            var script = Path.Combine(world.State.Path, "runbook.ps1");
            File.WriteAllText(script, @"param($Manifest, $BaseUri, $Token, $StatePath)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ RunProject = '2/1s'; Read = '600/1m'; Request = '600/1m' }
'" + string.Join("','", projects.Select(p => p.Id)) + @"' | ForEach-Object {
    $run = Invoke-HexRun -ProjectId $_ -IdempotencyKey ""$_-2026112310""
    ""run $($run.ProjectId) $($run.RunId) fromCache=$($run.FromCache)""
}");
            Process Start() => ModuleHostProcess.Start(world, Repo.Manifest, extra: new[] { "--script", script });

            using (var doomed = Start())
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (world.Stats.RunsCreated < 3 && !doomed.HasExited && DateTime.UtcNow < deadline) await Task.Delay(5);
                if (doomed.HasExited) Assert.Fail("the runbook ended before it could be killed: " + doomed.StandardOutput.ReadToEnd() + doomed.StandardError.ReadToEnd());
                doomed.Kill(entireProcessTree: true);
                await doomed.WaitForExitAsync();
            }
            var createdByFirst = world.Stats.RunsCreated;
            Assert.InRange(createdByFirst, 3, 7);

            foreach (var attempt in new[] { "rerun", "rerun again" })
            {
                using var rerun = Start();
                var (exitCode, output) = await ModuleHostProcess.OutputAsync(rerun, TimeSpan.FromMinutes(2));
                Assert.True(exitCode == 0, attempt + ": " + output);
                Assert.Equal(8, output.Split('\n').Count(l => l.StartsWith("run ")));
            }
            Assert.Equal(8, world.Stats.RunsCreated);
            Assert.All(projects, p => Assert.Single(world.Workspace.RunsOf(p.Id), r => r.RunTrigger == "API"));
        }
    }
}
