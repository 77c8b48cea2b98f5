using System;
using System.Collections;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    public class RunTests
    {
        [Fact]
        public async Task Scheduled_projects_piped_into_a_waited_run_give_one_flat_row_each()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            var result = host.Run(
                "Get-HexProject | Where-Object { $_.ScheduleCount -gt 0 } | Invoke-HexRun -Wait -InputParameters @{ region = 'EU' }");
            var scheduled = world.Workspace.Projects.Where(p => p.ArchivedAt == null && p.TrashedAt == null && p.Type == "PROJECT" && p.Schedules.Count > 0).ToList();
            Assert.True(scheduled.Count >= 3);
            Assert.Equal(scheduled.Count, result.Output.Count);
            Assert.Equal(scheduled.Select(p => p.Id).OrderBy(i => i), result.Output.Select(r => r.Prop<string>("ProjectId")).OrderBy(i => i));
            Assert.Equal(scheduled.Count(p => p.RunOutcome != "COMPLETED"), result.Errors.Count);
            Assert.All(result.Errors, e => Assert.StartsWith("HexRunFailed,", e.FullyQualifiedErrorId));
            foreach (var run in result.Output)
            {
                Assert.Contains("HexCost.Run", run.TypeNames);
                Assert.Equal(world.Workspace.GetProject(run.Prop<string>("ProjectId")).RunOutcome, run.Prop<string>("Status"));
                Assert.Equal("{\"region\":\"EU\"}", run.Prop<string>("InputParameters"));
                Assert.False(run.Prop<bool>("FromCache"));
                Assert.Equal(1, run.Prop<int>("Attempts"));
                Assert.NotNull(run.Prop<DateTime?>("EndTime"));
                Assert.True(run.Prop<double?>("ElapsedSeconds") > 0);
                Assert.NotNull(run.Prop<string>("RunUrl"));
                Shape.AssertFlat(run);
                foreach (var name in new[] { "ProjectId", "RunId", "Status", "StartTime", "EndTime", "ElapsedSeconds", "RunUrl", "TraceId", "ProjectVersion",
                                             "InputParameters", "SourceVersion", "FromCache", "Attempts", "ThrottledSeconds", "RequestedAt" })
                    Assert.NotNull(run.Properties[name]);
            }
            Assert.Equal(scheduled.Count, world.Stats.RunsCreated);
        }

        [Theory]
        [InlineData("ERRORED")]
        [InlineData("KILLED")]
        [InlineData("UNABLE_TO_ALLOCATE_KERNEL")]
        public async Task A_failed_run_is_still_written_with_a_HexRunFailed_error(string outcome)
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Outcome " + outcome, p => p.RunOutcome = outcome);
            using var host = world.Connected();
            var result = host.Run("Invoke-HexRun -ProjectId $args[0] -Wait", project.Id);
            Assert.Equal(outcome, result.Output.Single().Prop<string>("Status"));
            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexRunFailed,", error.FullyQualifiedErrorId);
            Assert.Contains(outcome, error.Exception.Message);
            Assert.Same(result.Output.Single().BaseObject, error.TargetObject);
        }

        [Fact]
        public async Task Without_Wait_the_run_is_written_as_soon_as_Hex_takes_it()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Never ends", p => p.RunDurationOverride = Timeout.InfiniteTimeSpan);
            using var host = world.Connected();
            var run = host.Run("Invoke-HexRun -ProjectId $args[0]", project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal("PENDING", run.Prop<string>("Status"));
            var status = host.Run("Get-HexRun -ProjectId $args[0] -RunId $args[1]", project.Id, run.Prop<string>("RunId")).ThrowIfErrors().Output.Single();
            Assert.Contains(status.Prop<string>("Status"), new[] { "PENDING", "RUNNING" });
            var stopped = host.Run("$args[0] | Stop-HexRun -PassThru -Confirm:$false", run).ThrowIfErrors().Output.Single();
            Assert.Equal("KILLED", stopped.Prop<string>("Status"));
            Assert.Equal("KILLED", world.Workspace.FindRun(run.Prop<string>("RunId"))!.Status);
        }

        [Fact]
        public async Task Bad_input_gives_stable_error_ids_one_per_item()
        {
            await using var world = await HexWorld.StartAsync();
            var good = world.Project();
            var unpublished = world.NewProject("Draft", p => p.LastPublishedAt = null);
            using var host = world.Connected();
            var result = host.Run("$args | ForEach-Object { [pscustomobject]@{ ProjectId = $_ } } | Invoke-HexRun -Wait",
                Guid.NewGuid().ToString(), unpublished.Id, "not-a-guid", good.Id);
            Assert.Equal(good.Id, result.Output.Single().Prop<string>("ProjectId"));
            Assert.Equal(new[] { "HexProjectNotFound", "HexProjectNotFound", "HexProjectNotPublished" },
                result.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]).OrderBy(i => i));
            Assert.Contains("Publish", result.Errors.Single(e => e.FullyQualifiedErrorId.StartsWith("HexProjectNotPublished")).Exception.Message);
            Assert.Contains(result.Errors, e => (string)e.TargetObject == "not-a-guid");

            var bad = host.Run("Invoke-HexRun -ProjectId $args[0] -InputParameters @{ regoin = 'EU' }", good.Id);
            var error = Assert.Single(bad.Errors);
            Assert.StartsWith("HexInvalidInputParameters,", error.FullyQualifiedErrorId);
            Assert.Contains("regoin", error.Exception.Message);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);

            var runsBefore = world.Stats.RunsCreated;
            var lone = host.Run("Invoke-HexRun -ProjectId $args[0] -InputParameters @{ region = 'E' + [char]0xD800 }", good.Id);
            error = Assert.Single(lone.Errors);
            Assert.StartsWith("HexInvalidInputParameters,", error.FullyQualifiedErrorId);
            Assert.Contains("'region' holds a lone UTF-16 surrogate (U+D800 at position 1)", error.Exception.Message);
            Assert.Equal(runsBefore, world.Stats.RunsCreated);
        }

        [Fact]
        public async Task Same_source_version_is_served_from_cache_and_a_new_version_runs()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            using var host = world.Connected();
            const string script = "Invoke-HexRun -ProjectId $args[0] -SourceVersion $args[1] -InputParameters @{ region = 'EU'; limit = 5 } -Wait";
            var first = host.Run(script, project.Id, "638000000000000000").ThrowIfErrors().Output.Single();
            Assert.False(first.Prop<bool>("FromCache"));
            Assert.Equal(1, world.Stats.RunsCreated);

            var requestsBefore = world.Stats.TotalRequests;
            var second = host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion $args[1] -InputParameters @{ limit = 5; region = 'EU' } -Wait", project.Id, "638000000000000000").ThrowIfErrors().Output.Single();
            Assert.True(second.Prop<bool>("FromCache"));
            Assert.Equal(first.Prop<string>("RunId"), second.Prop<string>("RunId"));
            Assert.Equal(requestsBefore, world.Stats.TotalRequests);

            var changed = host.Run(script, project.Id, "638000000000000001").ThrowIfErrors().Output.Single();
            Assert.False(changed.Prop<bool>("FromCache"));
            Assert.Equal(2, world.Stats.RunsCreated);

            host.Run(script + " -Force", project.Id, "638000000000000001").ThrowIfErrors();
            Assert.Equal(3, world.Stats.RunsCreated);
            host.Run("Invoke-HexRun -ProjectId $args[0] -Wait", project.Id).ThrowIfErrors();
            host.Run("Invoke-HexRun -ProjectId $args[0] -Wait", project.Id).ThrowIfErrors();
            Assert.Equal(5, world.Stats.RunsCreated);

            var ledger = LedgerFile.ReadAll(world.State.Path + "/workspaces/" + world.Workspace.OrgId);
            Assert.Equal(1, ledger.Count(r => r.Type == LedgerRecordTypes.CacheHit));
            Assert.Equal(5, ledger.Count(r => r.Type == LedgerRecordTypes.Trigger));
            Assert.Equal(5, ledger.Count(r => r.Type == LedgerRecordTypes.Complete));
            Assert.DoesNotContain(world.Emulator.Token, System.IO.File.ReadAllText(world.State.Path + "/workspaces/" + world.Workspace.OrgId + "/ledger.jsonl"));
        }

        [Fact]
        public async Task Failed_runs_are_never_cached()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Failing nightly");
            using var host = world.Connected();
            host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait", project.Id);
            host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait", project.Id);
            Assert.Equal(2, world.Stats.RunsCreated);
        }

        [Fact]
        public async Task Two_runspaces_asking_for_the_same_key_at_once_start_one_run()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Slow", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(500));
            using var a = world.Connected();
            using var b = world.Connected();
            const string script = "Invoke-HexRun -ProjectId $args[0] -SourceVersion shared-1 -Wait";
            var runs = await Task.WhenAll(Task.Run(() => a.Run(script, project.Id)), Task.Run(() => b.Run(script, project.Id)));
            Assert.Equal(1, world.Stats.RunsCreated);
            var outputs = runs.Select(r => r.ThrowIfErrors().Output.Single()).ToList();
            Assert.Single(outputs.Select(o => o.Prop<string>("RunId")).Distinct());
            Assert.All(outputs, o => Assert.Equal("COMPLETED", o.Prop<string>("Status")));
            Assert.Single(outputs, o => o.Prop<bool>("FromCache"));
        }

        [Fact]
        public async Task Eight_runspaces_released_together_for_one_key_start_one_run()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Slow", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(300));
            var hosts = Enumerable.Range(0, 8).Select(_ => world.Connected()).ToList();
            try
            {
                using var start = new Barrier(hosts.Count);
                var runs = await Task.WhenAll(hosts.Select(host => Task.Run(() =>
                {
                    start.SignalAndWait();
                    return host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion together-1", project.Id);
                })));
                Assert.Equal(1, world.Stats.RunsCreated);
                Assert.Single(runs.Select(r => r.ThrowIfErrors().Output.Single().Prop<string>("RunId")).Distinct());
            }
            finally
            {
                foreach (var host in hosts) host.Dispose();
            }
        }

        [Fact]
        public async Task On_timeout_the_run_is_cancelled_unless_told_not_to()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Hangs", p => p.RunDurationOverride = Timeout.InfiniteTimeSpan);
            using var host = world.Connected();
            var result = host.Run("Invoke-HexRun -ProjectId $args[0] -Wait -Timeout '00:00:01'", project.Id);
            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexRunTimeout,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
            var run = result.Output.Single();
            Assert.Equal("KILLED", run.Prop<string>("Status"));
            Assert.Equal("KILLED", world.Workspace.FindRun(run.Prop<string>("RunId"))!.Status);

            var kept = host.Run("Invoke-HexRun -ProjectId $args[0] -Wait -Timeout '00:00:01' -NoCancelOnTimeout", project.Id);
            Assert.StartsWith("HexRunTimeout,", Assert.Single(kept.Errors).FullyQualifiedErrorId);
            Assert.Equal("RUNNING", world.Workspace.FindRun(kept.Output.Single().Prop<string>("RunId"))!.Status);
        }

        [Fact]
        public async Task Ctrl_C_stops_a_wait_promptly()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Hangs", p => p.RunDurationOverride = Timeout.InfiniteTimeSpan);
            using var host = world.Connected();
            var (shell, handle) = host.Start("Invoke-HexRun -ProjectId $args[0] -Wait", project.Id);
            using (shell)
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (world.Stats.RunsCreated == 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
                Assert.Equal(1, world.Stats.RunsCreated);
                var stopped = Task.Run(() => shell.Stop());
                Assert.Same(stopped, await Task.WhenAny(stopped, Task.Delay(TimeSpan.FromSeconds(10))));
                Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
            }
        }

        [Fact]
        public async Task WhatIf_starts_nothing()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            using var host = world.Connected();
            host.Run("Invoke-HexRun -ProjectId $args[0] -Wait -WhatIf", project.Id).ThrowIfErrors();
            Assert.Equal(0, world.Stats.RunsCreated);
        }

        [Fact]
        public async Task DryRun_asks_Hex_to_validate_and_creates_no_run()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            using var host = world.Connected();
            var run = host.Run("Invoke-HexRun -ProjectId $args[0] -DryRun -Wait", project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal(0, world.Stats.RunsCreated);
            Assert.Null(run.Prop<string>("Status"));
        }

        [Fact]
        public async Task Get_HexRun_lists_runs_newest_first_and_filters_by_status()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Listed");
            using var host = world.Connected();
            host.Run("$p = $args[0]; 1..3 | ForEach-Object { Invoke-HexRun -ProjectId $p -Wait }", project.Id).ThrowIfErrors();
            var listed = host.Run("Get-HexRun -ProjectId $args[0]", project.Id).ThrowIfErrors().Output;
            Assert.Equal(3, listed.Count);
            Assert.Equal(2, host.Run("Get-HexRun -ProjectId $args[0] -First 2", project.Id).ThrowIfErrors().Output.Count);
            Assert.Empty(host.Run("Get-HexRun -ProjectId $args[0] -Status ERRORED", project.Id).ThrowIfErrors().Output);
            Assert.Equal(3, host.Run("Get-HexRun -ProjectId $args[0] -Status COMPLETED", project.Id).ThrowIfErrors().Output.Count);
        }
    

        [Fact]
        public async Task Waits_say_what_they_wait_for_on_the_verbose_stream_and_in_progress()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Watched", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(400));
            using var host = world.Connected();
            var result = host.Run("Invoke-HexRun -ProjectId $args[0] -Wait -Verbose", project.Id).ThrowIfErrors();
            Assert.Contains(result.Verbose, v => v.StartsWith("Waiting for Run ") && v.Contains("poll loop"));
            Assert.Single(result.Verbose, v => v.EndsWith(" is RUNNING."));
            Assert.Contains(result.Progress, p => p.Activity == "Waiting for Hex runs" && p.StatusDescription.Contains("polled about every"));
        }
    }
}
