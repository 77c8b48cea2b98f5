using System;
using System.Collections;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Ledger;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>Hex misbehaving: 429s with and without Retry-After, 503 at the kernel limit, lost trigger answers,
    /// 5xx, revoked tokens. Sessions are made in C# with test-speed retry timings and passed with -Session.</summary>
    public class ResilienceTests
    {
        private static Hashtable Unpaced => HexWorld.FastLimits;

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_429_with_Retry_After_is_waited_out_and_counted(bool asHttpDate)
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.RateLimitsEnabled = true;
                o.RunsPerMinute = 2;
                o.RunMinuteWindow = TimeSpan.FromSeconds(1);
                o.RetryAfterAsHttpDate = asHttpDate;
            });
            var session = await world.SessionAsync(limits: Unpaced);
            var project = world.Project();
            using var host = new PsHost();
            var runs = host.Run("$s, $p = $args; 1..3 | ForEach-Object { Invoke-HexRun -Session $s -ProjectId $p }", session, project.Id).ThrowIfErrors().Output;
            Assert.Equal(3, runs.Count);
            Assert.Equal(3, world.Stats.RunsCreated);
            Assert.True(world.Stats.Throttled429 >= 1);
            var third = runs[2];
            Assert.True(third.Prop<int>("Attempts") >= 2);
            Assert.True(third.Prop<double>("ThrottledSeconds") > 0);
        }

        [Fact]
        public async Task A_429_without_any_hint_waits_the_conservative_default()
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.RateLimitsEnabled = true;
                o.RunsPerMinute = 1;
                o.RunMinuteWindow = TimeSpan.FromMilliseconds(500);
                o.SendRetryAfter = false;
                o.SendRateLimitHeaders = false;
            });
            var session = await world.SessionAsync(limits: Unpaced); // DefaultRetryAfter = 300 ms here
            var project = world.Project();
            using var host = new PsHost();
            var runs = host.Run("$s, $p = $args; 1..2 | ForEach-Object { Invoke-HexRun -Session $s -ProjectId $p }", session, project.Id).ThrowIfErrors().Output;
            Assert.Equal(2, world.Stats.RunsCreated);
            Assert.True(runs[1].Prop<int>("Attempts") >= 2);
        }

        [Fact]
        public async Task When_retries_cannot_outlast_the_429_it_is_HexRateLimitExhausted()
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.RateLimitsEnabled = true;
                o.RunsPerMinute = 1;
            });
            var session = await world.SessionAsync(o => o.Client.TotalDeadline = TimeSpan.FromSeconds(2), Unpaced);
            var project = world.Project();
            using var host = new PsHost();
            var result = host.Run("$s, $p = $args; 1..2 | ForEach-Object { Invoke-HexRun -Session $s -ProjectId $p }", session, project.Id);
            Assert.Single(result.Output);
            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexRateLimitExhausted,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.LimitsExceeded, error.CategoryInfo.Category);
            Assert.Equal(1, world.Stats.Throttled429);
        }

        [Fact]
        public async Task Paced_by_the_limiter_a_burst_draws_no_429()
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.RateLimitsEnabled = true;
                o.RunsPerMinute = 3;
                o.RunMinuteWindow = TimeSpan.FromMilliseconds(400);
                o.RunsPerHour = 6;
                o.RunHourWindow = TimeSpan.FromSeconds(2);
            });
            var session = await world.SessionAsync(limits: new Hashtable { ["RunProject"] = new[] { "3/0.4s", "6/2s" }, ["Request"] = "6000/1m", ["Read"] = "6000/1m" });
            var project = world.Project();
            using var host = new PsHost();
            var runs = host.Run("$s, $p = $args; 1..8 | ForEach-Object { [pscustomobject]@{ ProjectId = $p } } | Invoke-HexRun -Session $s", session, project.Id).ThrowIfErrors().Output;
            Assert.Equal(8, runs.Count);
            Assert.Equal(0, world.Stats.Throttled429);
            Assert.Equal(8, world.Stats.RunsCreated);
            // Paced, not rejected: as the server saw them, no 0.4 s held more than 3 triggers and no 2 s more than 6.
            var times = world.Stats.RunCreationTimes.OrderBy(t => t).ToList();
            for (var i = 3; i < times.Count; i++) Assert.True(times[i] - times[i - 3] >= TimeSpan.FromMilliseconds(400));
            for (var i = 6; i < times.Count; i++) Assert.True(times[i] - times[i - 6] >= TimeSpan.FromSeconds(2));
        }

        [Fact]
        public async Task At_the_kernel_limit_503_is_retried_and_then_reported_with_no_run_created()
        {
            await using var world = await HexWorld.StartAsync(o => o.MaxKernels = 1);
            var hog = world.NewProject("Hog", p => p.RunDurationOverride = Timeout.InfiniteTimeSpan);
            var other = world.Project();
            var session = await world.SessionAsync();
            using var host = new PsHost();
            var hogRun = host.Run("Invoke-HexRun -Session $args[0] -ProjectId $args[1]", session, hog.Id).ThrowIfErrors().Output.Single();
            var result = host.Run("Invoke-HexRun -Session $args[0] -ProjectId $args[1]", session, other.Id);
            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexKernelLimit,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ResourceBusy, error.CategoryInfo.Category);
            Assert.Equal(1, world.Stats.RunsCreated);
            Assert.True(world.Stats.Kernel503 >= 2);

            host.Run("$args[1] | Stop-HexRun -Session $args[0] -Confirm:$false", session, hogRun).ThrowIfErrors();
            host.Run("Invoke-HexRun -Session $args[0] -ProjectId $args[1] -Wait", session, other.Id).ThrowIfErrors();
            Assert.Equal(2, world.Stats.RunsCreated);
        }

        [Theory]
        [InlineData(LostTriggerResponseKind.BadGateway)]
        [InlineData(LostTriggerResponseKind.Abort)]
        public async Task A_lost_trigger_answer_is_adopted_not_resent(LostTriggerResponseKind mode)
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.LostTriggerResponseRate = 1;
                o.LostTriggerResponseMode = mode;
            });
            var project = world.NewProject("Lossy");
            var session = await world.SessionAsync();
            using var host = new PsHost();
            var run = host.Run("Invoke-HexRun -Session $args[0] -ProjectId $args[1] -Wait", session, project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal(1, world.Stats.RunsCreated);
            Assert.Equal(world.Workspace.RunsOf(project.Id).Single(r => r.RunTrigger == "API").RunId, run.Prop<string>("RunId"));
            Assert.Equal("COMPLETED", run.Prop<string>("Status"));

            var ledger = LedgerFile.ReadAll(session.StatePath);
            Assert.Single(ledger, r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Unknown);
            Assert.Single(ledger, r => r.Type == LedgerRecordTypes.Adopt && r.RunId == run.Prop<string>("RunId"));
        }

        [Fact]
        public async Task A_batch_through_lost_answers_and_5xx_creates_each_run_exactly_once()
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.LostTriggerResponseRate = 0.3;
                o.ServerErrorRate = 0.2;
            });
            var projects = Enumerable.Range(0, 10).Select(i => world.NewProject("Batch " + i)).ToList();
            var session = await world.SessionAsync();
            using var host = new PsHost();
            var result = host.Run("$args[1] | ForEach-Object { [pscustomobject]@{ ProjectId = $_ } } | Invoke-HexRun -Session $args[0] -Wait -ThrottleLimit 3",
                session, projects.Select(p => p.Id).ToArray());
            result.ThrowIfErrors();
            Assert.Equal(10, result.Output.Count);
            Assert.All(projects, p => Assert.Single(world.Workspace.RunsOf(p.Id), r => r.RunTrigger == "API"));
            Assert.Equal(10, world.Stats.RunsCreated);
            Assert.True(world.Stats.InjectedErrors + world.Stats.LostTriggerResponses > 0);
        }

        [Fact]
        public async Task Reads_ride_out_server_errors()
        {
            await using var world = await HexWorld.StartAsync(o => { o.ServerErrorRate = 0.4; o.ProjectCount = 150; });
            var session = await world.SessionAsync();
            using var host = new PsHost();
            var projects = host.Run("Get-HexProject -Session $args[0]", session).ThrowIfErrors().Output;
            Assert.Equal(world.Workspace.Projects.Count(p => p.ArchivedAt == null && p.TrashedAt == null && p.Type == "PROJECT"), projects.Count);
            Assert.True(world.Stats.InjectedErrors > 0);
        }

        [Fact]
        public async Task A_revoked_token_stops_everything_at_once_without_retrying()
        {
            await using var world = await HexWorld.StartAsync();
            var session = await world.SessionAsync();
            var project = world.Project();
            world.Emulator.Options.Token = "hxtw_" + new string('0', 96);
            var before = world.Stats.TotalRequests;
            using var host = new PsHost();
            var result = host.Run("$args[1], $args[1] | ForEach-Object { [pscustomobject]@{ ProjectId = $_ } } | Invoke-HexRun -Session $args[0]; 'after'", session, project.Id);
            Assert.StartsWith("HexAuthFailed,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Empty(result.Output);
            Assert.Equal(before + 1, world.Stats.TotalRequests);
        }
    }
}
