using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Limits;
using HexCost.State;
using Microsoft.Extensions.Time.Testing;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Core
{
    public class RateLimiterTests
    {
        private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
        private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

        /// <summary>How long a permit of a window is held after its response.</summary>
        private static TimeSpan Hold(TimeSpan window) => window + HexRateLimiter.Slack(window);

        private static RateLimitSettings Limits(string runProject, string request = "1000/1m", string read = "1000/1m") =>
            RateLimitSettings.Parse(new Hashtable { ["RunProject"] = runProject.Split(','), ["Request"] = request, ["Read"] = read.Split(',') });

        [Theory]
        [InlineData("2/3s", "10000/1m", true)]
        [InlineData("2/3s", "40/1m", true)]
        [InlineData("2/3s", "39/1m", false)]
        [InlineData("10000/1m", "2/3s", false)]
        [InlineData("5/1m", "5/1m", true)]
        [InlineData("4/1m", "5/1m", true)]
        [InlineData("20/1m", "60/1h", false)]
        [InlineData("60/1h", "20/1m", false)]
        [InlineData("3/10s", "5/60s", false)]
        public void A_window_keeps_to_another_when_no_more_fit_in_that_ones_span(string held, string other, bool implied)
        {
            // A shared account's limiter adds an asked window only when the ones in force do not already keep to it, and
            // warns only of windows in force that the asked ones do not keep to.
            Assert.Equal(implied, HexCost.Session.HexAccountRegistry.Implies(RateLimitSettings.ParseWindow(held), RateLimitSettings.ParseWindow(other)));
        }

        [Fact]
        public async Task Chained_windows_hold_exactly_at_the_window_edges()
        {
            var time = new FakeTimeProvider();
            var h10 = Hold(TimeSpan.FromSeconds(10));
            var h60 = Hold(TimeSpan.FromSeconds(60));
            using var limiter = new HexRateLimiter(Limits("3/10s,5/60s"), time);
            for (var i = 0; i < 3; i++) (await limiter.AcquireAsync(RequestKind.RunProject, null, default)).Dispose();

            var fourth = limiter.AcquireAsync(RequestKind.RunProject, null, default);
            await SettleAsync(limiter, fourth);
            time.Advance(h10 - Tick);
            await SettleAsync(limiter, fourth);
            Assert.False(fourth.IsCompleted);
            time.Advance(Tick);
            (await fourth.WaitAsync(Guard)).Dispose();
            (await limiter.AcquireAsync(RequestKind.RunProject, null, default).WaitAsync(Guard)).Dispose();

            // 15 s later the 10 s window is free again, but the 60 s window holds five until the first three age out.
            time.Advance(TimeSpan.FromSeconds(15));
            Assert.Equal(0, limiter.Available(RateLimitGroup.RunProject));
            var sixth = limiter.AcquireAsync(RequestKind.RunProject, null, default);
            var untilFree = h60 - h10 - TimeSpan.FromSeconds(15);
            await SettleAsync(limiter, sixth);
            time.Advance(untilFree - Tick);
            await SettleAsync(limiter, sixth);
            Assert.False(sixth.IsCompleted);
            time.Advance(Tick);
            var permit = await sixth.WaitAsync(Guard);
            Assert.Equal(untilFree, permit.Waited);
            permit.Dispose();
        }

        [Fact]
        public async Task A_permit_is_held_from_before_the_request_until_one_window_after_its_response()
        {
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Limits("1/10s"), time);
            var slow = await limiter.AcquireAsync(RequestKind.RunProject, null, default);
            time.Advance(TimeSpan.FromSeconds(30)); // the response takes 30 s to arrive
            var next = limiter.AcquireAsync(RequestKind.RunProject, null, default);
            await SettleAsync(limiter, next);
            Assert.False(next.IsCompleted);
            slow.Dispose();
            await SettleAsync(limiter, next);
            time.Advance(Hold(TimeSpan.FromSeconds(10)) - Tick);
            await SettleAsync(limiter, next);
            Assert.False(next.IsCompleted);
            time.Advance(Tick);
            (await next.WaitAsync(Guard)).Dispose();
        }

        [Fact]
        public async Task After_an_idle_spell_no_window_admits_more_than_its_limit()
        {
            // A token bucket that refilled while idle would admit 2x here; Hex's fixed window starting at the first
            // request of the burst would then answer 429.
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Limits("20/1m,60/1h"), time);
            var grants = new List<TimeSpan>();
            var start = time.GetUtcNow();
            for (var i = 0; i < 20; i++) { (await limiter.AcquireAsync(RequestKind.RunProject, null, default)).Dispose(); grants.Add(time.GetUtcNow() - start); }
            time.Advance(TimeSpan.FromMinutes(5));
            var burst = Enumerable.Range(0, 40).Select(_ => limiter.AcquireAsync(RequestKind.RunProject, null, default)).ToList();
            await DrainAsync(limiter, time, burst, grants, start, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));

            Assert.Equal(60, grants.Count);
            AssertNoWindowExceeded(grants, 20, TimeSpan.FromMinutes(1));
            AssertNoWindowExceeded(grants, 60, TimeSpan.FromHours(1));
            Assert.Equal(TimeSpan.FromMinutes(5), grants[39]); // 20 at 5:00 after the idle spell, not 40
            Assert.InRange(grants[59], TimeSpan.FromMinutes(6), TimeSpan.FromMinutes(6) + TimeSpan.FromSeconds(2)); // then as fast as 20/min allows
        }

        [Fact]
        public async Task The_hour_window_binds_after_three_minutes_of_full_pace()
        {
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Limits("20/1m,60/1h"), time);
            var start = time.GetUtcNow();
            var grants = new List<TimeSpan>();
            var demand = Enumerable.Range(0, 80).Select(_ => limiter.AcquireAsync(RequestKind.RunProject, null, default)).ToList();
            await DrainAsync(limiter, time, demand, grants, start, TimeSpan.FromSeconds(10), TimeSpan.FromHours(2));

            Assert.Equal(80, grants.Count);
            AssertNoWindowExceeded(grants, 20, TimeSpan.FromMinutes(1));
            AssertNoWindowExceeded(grants, 60, TimeSpan.FromHours(1));
            Assert.InRange(grants[59], TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(30));
            Assert.InRange(grants[60], TimeSpan.FromHours(1), TimeSpan.FromHours(1) + TimeSpan.FromSeconds(20));
        }

        [Fact]
        public async Task A_limiter_attached_to_a_store_another_spent_starts_with_that_budget_spent()
        {
            // The previous process (another limiter on the same store) spent the hour's 60 triggers 32 minutes ago.
            var time = new FakeTimeProvider();
            var store = new LocalPermitStore(time);
            using (var before = new HexRateLimiter(Limits("60/1m,60/1h"), time, store))
            {
                for (var i = 0; i < 60; i++) (await before.AcquireAsync(RequestKind.RunProject, null, default)).Dispose();
            }
            time.Advance(TimeSpan.FromMinutes(32));
            using var limiter = new HexRateLimiter(Limits("20/1m,60/1h"), time, store);
            var first = limiter.AcquireAsync(RequestKind.RunProject, null, default);
            var untilFree = Hold(TimeSpan.FromHours(1)) - TimeSpan.FromMinutes(32);
            await SettleAsync(limiter, first);
            time.Advance(untilFree - Tick);
            await SettleAsync(limiter, first);
            Assert.False(first.IsCompleted);
            time.Advance(Tick);
            var permit = await first.WaitAsync(Guard);
            Assert.Equal(untilFree, permit.Waited);
            permit.Dispose();
        }

        [Fact]
        public async Task Permits_older_than_every_window_cost_nothing()
        {
            var time = new FakeTimeProvider();
            var store = new LocalPermitStore(time);
            using (var before = new HexRateLimiter(Limits("60/1m,60/1h"), time, store))
            {
                for (var i = 0; i < 60; i++) (await before.AcquireAsync(RequestKind.RunProject, null, default)).Dispose();
            }
            time.Advance(TimeSpan.FromHours(2));
            using var limiter = new HexRateLimiter(Limits("20/1m,60/1h"), time, store);
            for (var i = 0; i < 20; i++) Assert.True(limiter.AcquireAsync(RequestKind.RunProject, null, default).IsCompleted);
        }

        [Fact]
        public async Task Limiters_sharing_a_store_keep_one_budget_and_a_stricter_one_counts_the_others_permits()
        {
            var time = new FakeTimeProvider();
            var store = new LocalPermitStore(time);
            using var loose = new HexRateLimiter(Limits("3/1s"), time, store);
            using var strict = new HexRateLimiter(Limits("2/1s"), time, store);
            for (var i = 0; i < 2; i++) (await loose.AcquireAsync(RequestKind.RunProject, null, default)).Dispose();
            var blocked = strict.AcquireAsync(RequestKind.RunProject, null, default);
            var third = loose.AcquireAsync(RequestKind.RunProject, null, default);
            (await third.WaitAsync(Guard)).Dispose();
            await SettleAsync(strict, blocked);
            Assert.False(blocked.IsCompleted);
            time.Advance(Hold(TimeSpan.FromSeconds(1)));
            (await blocked.WaitAsync(Guard)).Dispose();
        }

        [Fact]
        public async Task A_pause_from_a_429_holds_every_request_of_the_account()
        {
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Limits("20/1m"), time);
            await limiter.PauseUntilAsync(time.GetUtcNow() + TimeSpan.FromSeconds(30), default);
            var read = limiter.AcquireAsync(RequestKind.Read, null, default);
            var trigger = limiter.AcquireAsync(RequestKind.RunProject, null, default);
            await SettleAsync(limiter, read, trigger);
            time.Advance(TimeSpan.FromSeconds(29));
            await SettleAsync(limiter, read, trigger);
            Assert.False(read.IsCompleted);
            Assert.False(trigger.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(1));
            (await read.WaitAsync(Guard)).Dispose();
            (await trigger.WaitAsync(Guard)).Dispose();
        }

        [Fact]
        public async Task Cancelling_a_wait_ends_it_and_takes_no_permit()
        {
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Limits("1/1m"), time);
            (await limiter.AcquireAsync(RequestKind.RunProject, null, default)).Dispose();
            using var cts = new CancellationTokenSource();
            var waiting = limiter.AcquireAsync(RequestKind.RunProject, null, cts.Token);
            await SettleAsync(limiter, waiting);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Guard));
            time.Advance(Hold(TimeSpan.FromMinutes(1)));
            Assert.True(limiter.AcquireAsync(RequestKind.RunProject, null, default).IsCompleted, "the cancelled wait took no permit");
        }

        [Fact]
        public async Task A_request_blocked_by_one_group_spends_no_permit_of_another()
        {
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Limits("1/1m", request: "5/1m"), time);
            (await limiter.AcquireAsync(RequestKind.RunProject, null, default)).Dispose();
            var blocked = limiter.AcquireAsync(RequestKind.RunProject, null, default);
            await SettleAsync(limiter, blocked);
            Assert.False(blocked.IsCompleted);
            for (var i = 0; i < 4; i++) (await limiter.AcquireAsync(RequestKind.Other, null, default).WaitAsync(Guard)).Dispose();
            Assert.False(limiter.AcquireAsync(RequestKind.Other, null, default).IsCompleted);
            time.Advance(Hold(TimeSpan.FromMinutes(1)));
            (await blocked.WaitAsync(Guard)).Dispose();
        }

        /// <summary>Advances fake time in steps, recording when each demanded permit is granted. After each step it
        /// waits (in real time, as long as it takes on a busy machine) while a permit is free and someone still waits for
        /// it, or while a permit the limiter handed out has not reached its caller yet.</summary>
        private static async Task DrainAsync(HexRateLimiter limiter, FakeTimeProvider time, List<Task<RatePermit>> demand, List<TimeSpan> grants,
            DateTimeOffset start, TimeSpan step, TimeSpan limit)
        {
            var pending = demand.ToList();
            var until = time.GetUtcNow() + limit;
            while (pending.Count > 0 && time.GetUtcNow() < until)
            {
                await SettleAsync(limiter, pending.ToArray());
                foreach (var done in pending.Where(t => t.IsCompleted).ToList())
                {
                    pending.Remove(done);
                    grants.Add(time.GetUtcNow() - start);
                    (await done).Dispose();
                }
                await SettleAsync(limiter, pending.ToArray());
                if (pending.Count > 0 && pending.All(t => !t.IsCompleted)) time.Advance(step);
            }
        }

        /// <summary>Waits (in real time, as long as a busy machine takes) until nothing the fake clock has not moved can still
        /// happen: every acquire not yet granted is parked on the clock and no answer is being written.</summary>
        private static async Task SettleAsync(HexRateLimiter limiter, params Task<RatePermit>[] acquires)
        {
            var settle = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < settle && (limiter.Answering > 0 || limiter.Parked < acquires.Count(t => !t.IsCompleted)))
                await Task.WhenAny(Task.WhenAny(acquires), Task.Delay(1));
        }

        private static void AssertNoWindowExceeded(List<TimeSpan> grants, int limit, TimeSpan window)
        {
            var sorted = grants.OrderBy(g => g).ToList();
            for (var i = 0; i < sorted.Count; i++)
            {
                var inWindow = sorted.Count(g => g >= sorted[i] && g < sorted[i] + window);
                Assert.True(inWindow <= limit, $"{inWindow} grants in the {window} from {sorted[i]}, limit {limit}");
            }
        }
    }
}
