using System;
using System.Collections;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Limits;
using HexCost.Runs;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Core
{
    /// <summary>A new process (simulated: the account is released, so the next connect builds a new one from the
    /// same state directory) inherits the spent trigger budget and the cache from the state store.</summary>
    public class RestartTests
    {
        private static readonly Hashtable HourOfThree = new Hashtable { ["RunProject"] = new[] { "20/1m", "3/1h" }, ["Request"] = "6000/1m", ["Read"] = "6000/1m" };

        [Fact]
        public async Task A_new_process_starts_with_the_hours_trigger_budget_already_spent()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            var first = (await world.SessionAsync(limits: HourOfThree)).GetAccount();
            for (var i = 0; i < 2; i++)
                await RunService.RunAsync(first, new RunRequest { ProjectId = project.Id }, new RunWaitOptions(), NullEventSink.Instance, default);
            Assert.Equal(1, first.Limiter.Available(RateLimitGroup.RunProject));
            HexAccountRegistry.Release(first);

            var second = (await world.SessionAsync(limits: HourOfThree)).GetAccount();
            Assert.NotSame(first, second);
            await RunService.RunAsync(second, new RunRequest { ProjectId = project.Id }, new RunWaitOptions(), NullEventSink.Instance, default);
            Assert.Equal(0, second.Limiter.Available(RateLimitGroup.RunProject));
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                RunService.RunAsync(second, new RunRequest { ProjectId = project.Id }, new RunWaitOptions(), NullEventSink.Instance, cts.Token));
            Assert.Equal(3, world.Stats.RunsCreated);
            HexAccountRegistry.Release(second);
        }

        [Fact]
        public async Task A_new_process_serves_completed_runs_from_the_ledger_warmed_cache()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            var request = new RunRequest { ProjectId = project.Id, SourceVersion = "2026-11-23", InputParameters = new Hashtable { ["region"] = "EU" } };
            var first = (await world.SessionAsync()).GetAccount();
            var ran = await RunService.RunAsync(first, request, new RunWaitOptions { Wait = true }, NullEventSink.Instance, default);
            Assert.Equal("COMPLETED", ran.Run.Status);
            HexAccountRegistry.Release(first);

            var second = (await world.SessionAsync()).GetAccount();
            var before = world.Stats.TotalRequests;
            var cached = await RunService.RunAsync(second, request, new RunWaitOptions { Wait = true }, NullEventSink.Instance, default);
            Assert.True(cached.Run.FromCache);
            Assert.Equal(ran.Run.RunId, cached.Run.RunId);
            Assert.Equal(before, world.Stats.TotalRequests);
            HexAccountRegistry.Release(second);
        }

        [Fact]
        public async Task A_run_started_by_a_process_that_died_is_reattached_not_started_again()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Long", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(600));
            var request = new RunRequest { ProjectId = project.Id, SourceVersion = "v7" };
            var first = (await world.SessionAsync()).GetAccount();
            var started = await RunService.RunAsync(first, request, new RunWaitOptions(), NullEventSink.Instance, default);
            HexAccountRegistry.Release(first); // the runbook dies before the run ends

            var second = (await world.SessionAsync()).GetAccount();
            var resumed = await RunService.RunAsync(second, request, new RunWaitOptions { Wait = true }, NullEventSink.Instance, default);
            Assert.Equal(started.Run.RunId, resumed.Run.RunId);
            Assert.Equal("COMPLETED", resumed.Run.Status);
            Assert.Equal(1, world.Stats.RunsCreated);
            HexAccountRegistry.Release(second);
        }
    }
}
