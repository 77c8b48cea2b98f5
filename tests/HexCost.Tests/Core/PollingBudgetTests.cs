using System;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Infrastructure;
using HexCost.Limits;
using HexCost.Runs;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.Core
{
    public class PollingBudgetTests
    {
        [Fact]
        public async Task Runs_in_flight_share_one_poll_loop_within_half_the_request_budget()
        {
            // Fake time on both sides: Hex's default limits (GetRunStatus counts in the 60/min request limit), five
            // ten-minute runs waited on at once.
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
            await using var emulator = await HexEmulator.StartAsync(new EmulatorOptions
            {
                Time = time, PendingDuration = TimeSpan.FromSeconds(5), RunDuration = TimeSpan.FromMinutes(10), RateLimitsEnabled = true,
            });
            using var state = new TempDir();
            var account = await HexAccountRegistry.ConnectAsync(new ConnectOptions
            {
                BaseUri = emulator.BaseUri, Token = emulator.Token, StatePath = state.Path, Time = time,
            }, null, default);
            try
            {
                var projects = Enumerable.Range(0, 5).Select(i => emulator.Workspace.AddProject("Long " + i)).ToList();
                var waits = projects.Select(p => RunService.RunAsync(account, new RunRequest { ProjectId = p.Id }, new RunWaitOptions { Wait = true },
                    NullEventSink.Instance, default)).ToList();

                // Fake time moves on until every wait has seen its run end (however slowly a busy machine lets the polls run).
                var giveUp = DateTime.UtcNow.AddMinutes(3);
                while (waits.Any(w => !w.IsCompleted) && DateTime.UtcNow < giveUp)
                {
                    await Task.Delay(3);
                    time.Advance(TimeSpan.FromMilliseconds(500));
                }
                Assert.All(waits, w => Assert.True(w.IsCompleted, "a wait did not end"));
                var results = await Task.WhenAll(waits);
                Assert.All(results, r => Assert.Equal("COMPLETED", r.Run.Status));

                var polls = emulator.Stats.RequestsFor("GetRunStatus");
                // Half of 60 requests a minute over ~10 minutes is 300; a fixed 5 s per run would be 600.
                Assert.True(polls >= 20 && polls <= 320, $"{polls} polls");
                Assert.Equal(0, emulator.Stats.Throttled429);
            }
            finally
            {
                HexAccountRegistry.Release(account);
            }
        }
    }
}
