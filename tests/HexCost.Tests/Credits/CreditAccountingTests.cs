using System;
using System.Collections.Generic;
using System.Linq;
using CsCheck;
using HexCost.Credits;
using Xunit;

namespace HexCost.Tests.Credits
{
    public class CreditAccountingTests
    {
        private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

        private static CreditUser User(string id, string role, string plan = Plans.Team)
        {
            var seat = SeatTypes.FromRole(role);
            return new CreditUser { UserId = id, Email = id + "@example.com", Role = role, SeatType = seat, MonthlyGrant = GrantTable.Default.Grant(plan, seat) };
        }

        private static UsageEvent Use(string user, decimal credits, int minute = 0) =>
            new UsageEvent { UserId = user, At = T0.AddMinutes(minute), Credits = credits, Source = "Threads" };

        private static TopUpPolicy Packs(decimal? limit = null) => new TopUpPolicy { PackCredits = 100, PackPrice = 10, MonthlyLimit = limit };

        [Fact]
        public void Grant_only()
        {
            var a = CreditAccounting.Simulate(new[] { User("ed", "EDITOR") }, new[] { Use("ed", 25) }, 0, Packs());
            var ed = a.Users["ed"];
            Assert.Equal((25m, 25m, 0m, 15m, 0m), (ed.Used, ed.GrantSpent, ed.DrawnFromPool, ed.GrantRemaining, ed.Unfunded));
            Assert.Equal(0, a.PacksBought);
            Assert.Null(ed.GrantExhaustedAt);
        }

        [Fact]
        public void Grant_then_pool()
        {
            var a = CreditAccounting.Simulate(new[] { User("ed", "EDITOR") }, new[] { Use("ed", 30, 1), Use("ed", 30, 2) }, 50, Packs());
            var ed = a.Users["ed"];
            Assert.Equal((60m, 40m, 20m), (ed.Used, ed.GrantSpent, ed.DrawnFromPool));
            Assert.Equal(T0.AddMinutes(2), ed.GrantExhaustedAt);
            Assert.Equal((20m, 0, 30m, 0m), (a.PoolDrawn, a.PacksBought, a.Expired, a.RolledOverOut));
        }

        [Fact]
        public void Pool_empty_buys_a_top_up_pack()
        {
            var a = CreditAccounting.Simulate(new[] { User("ed", "EDITOR") }, new[] { Use("ed", 60) }, 0, Packs());
            Assert.Equal((1, 100m, 10m, 20m, 80m), (a.PacksBought, a.AddOnCreditsBought, a.AddOnSpend, a.PoolDrawn, a.RolledOverOut));
            Assert.Equal(20m, a.Users["ed"].DrawnFromPool);
        }

        [Fact]
        public void At_the_limit_no_top_up_is_bought_and_the_overage_is_reported()
        {
            var users = new[] { User("a", "EDITOR"), User("b", "EDITOR") };
            var a = CreditAccounting.Simulate(users, new[] { Use("a", 140, 1), Use("b", 140, 2) }, 0, Packs(limit: 15));
            Assert.Equal((1, 10m), (a.PacksBought, a.AddOnSpend));
            Assert.Equal((40m, 100m, 0m), (a.Users["a"].GrantSpent, a.Users["a"].DrawnFromPool, a.Users["a"].Unfunded));
            Assert.Equal((40m, 0m, 100m), (a.Users["b"].GrantSpent, a.Users["b"].DrawnFromPool, a.Users["b"].Unfunded));
            Assert.Equal(100m, a.Unfunded);
            Assert.Equal(T0.AddMinutes(2), a.LimitReachedAt);
        }

        [Fact]
        public void Top_up_credits_roll_over_one_cycle_then_expire()
        {
            var users = new[] { User("ed", "EDITOR") };
            var first = CreditAccounting.Simulate(users, new[] { Use("ed", 60) }, 0, Packs());                  // buys 100, uses 20
            Assert.Equal(80m, first.RolledOverOut);
            var second = CreditAccounting.Simulate(users, new[] { Use("ed", 70) }, first.RolledOverOut, Packs()); // grant 40 + 30 rolled
            Assert.Equal((80m, 30m, 0, 50m, 0m), (second.RolledOverIn, second.PoolDrawn, second.PacksBought, second.Expired, second.RolledOverOut));
            var third = CreditAccounting.Simulate(users, new[] { Use("ed", 50) }, second.RolledOverOut, Packs());  // nothing left to roll: buys again
            Assert.Equal((0m, 1, 10m), (third.RolledOverIn, third.PacksBought, third.PoolDrawn));
        }

        [Fact]
        public void Grants_never_roll_over()
        {
            var users = new[] { User("ed", "EDITOR") };
            var first = CreditAccounting.Simulate(users, new[] { Use("ed", 5) }, 0, Packs());
            Assert.Equal(0m, first.RolledOverOut);
            var second = CreditAccounting.Simulate(users, new[] { Use("ed", 45) }, first.RolledOverOut, Packs());
            Assert.Equal((40m, 5m, 1), (second.Users["ed"].GrantSpent, second.Users["ed"].DrawnFromPool, second.PacksBought));
        }

        [Theory]
        [InlineData(Plans.Professional, "EDITOR", 30)]
        [InlineData(Plans.Team, "ADMIN", 40)]
        [InlineData(Plans.Team, "MANAGER", 40)]
        [InlineData(Plans.Enterprise, "EDITOR", 60)]
        [InlineData(Plans.Professional, "EXPLORER", 10)]
        [InlineData(Plans.Team, "EXPLORER", 10)]
        [InlineData(Plans.Enterprise, "EXPLORER", 10)]
        [InlineData(Plans.Team, "MEMBER", 0)]
        [InlineData(Plans.Team, "GUEST", 0)]
        [InlineData(Plans.Team, "EMBEDDED_USER", 0)]
        public void Every_plan_and_seat_has_its_grant(string plan, string role, decimal grant) =>
            Assert.Equal(grant, User("u", role, plan).MonthlyGrant);

        [Fact]
        public void A_guest_has_no_grant_and_draws_from_the_pool()
        {
            var a = CreditAccounting.Simulate(new[] { User("g", "GUEST") }, new[] { Use("g", 5) }, 0, Packs());
            Assert.Equal((0m, 5m, 1), (a.Users["g"].GrantSpent, a.Users["g"].DrawnFromPool, a.PacksBought));
            Assert.Null(a.Users["g"].GrantExhaustedAt);
        }

        [Fact]
        public void An_explorer_spends_ten_then_the_pool()
        {
            var a = CreditAccounting.Simulate(new[] { User("x", "EXPLORER") }, new[] { Use("x", 12) }, 20, Packs());
            Assert.Equal((10m, 2m, 18m), (a.Users["x"].GrantSpent, a.Users["x"].DrawnFromPool, a.Expired));
        }

        [Fact]
        public void Grant_overrides_apply_to_the_chosen_plan_or_a_named_one()
        {
            var table = GrantTable.Default.With(Plans.Team, new System.Collections.Hashtable { ["Editor"] = 50, ["Enterprise"] = new System.Collections.Hashtable { ["Explorer"] = 12 } });
            Assert.Equal(50m, table.Grant(Plans.Team, SeatTypes.Editor));
            Assert.Equal(12m, table.Grant(Plans.Enterprise, SeatTypes.Explorer));
            Assert.Equal(30m, table.Grant(Plans.Professional, SeatTypes.Editor));
            Assert.Throws<FormatException>(() => GrantTable.Default.With(Plans.Team, new System.Collections.Hashtable { ["Pilot"] = 5 }));
            Assert.Throws<FormatException>(() => GrantTable.Default.With(Plans.Team, new System.Collections.Hashtable { ["Editor"] = -1 }));
        }

        [Theory]
        [InlineData("2026-11-23", 1, "2026-11-01", "2026-12-01")]
        [InlineData("2026-11-01", 1, "2026-11-01", "2026-12-01")]
        [InlineData("2026-11-14", 15, "2026-10-15", "2026-11-15")]
        [InlineData("2026-02-15", 31, "2026-01-31", "2026-02-28")]
        [InlineData("2026-02-28", 31, "2026-02-28", "2026-03-31")]
        [InlineData("2028-02-28", 31, "2028-01-31", "2028-02-29")]
        [InlineData("2028-02-29", 30, "2028-02-29", "2028-03-30")]
        [InlineData("2026-01-05", 31, "2025-12-31", "2026-01-31")]
        public void Cycle_boundaries(string asOf, int day, string start, string end)
        {
            var cycle = BillingCycle.Containing(DateTime.Parse(asOf + "T12:00:00Z").ToUniversalTime(), day);
            Assert.Equal((start, end), (cycle.Start.ToString("yyyy-MM-dd"), cycle.End.ToString("yyyy-MM-dd")));
            Assert.Equal(cycle.Start, cycle.Previous().End);
        }

        [Fact]
        public void Credits_are_conserved_and_never_negative()
        {
            var users = new[] { User("a", "EDITOR"), User("b", "EXPLORER"), User("c", "GUEST"), User("d", "ADMIN") };
            var usage = Gen.Select(Gen.Int[0, 4], Gen.Int[0, 40_000], Gen.Decimal[0m, 80m]).Array[0, 60];
            Gen.Select(usage, Gen.Decimal[0m, 300m], Gen.Decimal[0m, 100m], Gen.Int[0, 6]).Sample((events, rolledRaw, bonusRaw, limitPacks) =>
            {
                // Credits are amounts to the hundredth: 28-digit decimals would only test decimal rounding.
                var rolled = Math.Round(rolledRaw, 2);
                var bonus = Math.Round(bonusRaw, 2);
                var policy = new TopUpPolicy { PackCredits = 50, PackPrice = 7, BonusCredits = bonus, MonthlyLimit = limitPacks == 6 ? (decimal?)null : limitPacks * 7 + 3 };
                var a = CreditAccounting.Simulate(users, events.Select(e => new UsageEvent
                {
                    UserId = e.Item1 == 4 ? "stranger" : users[e.Item1].UserId, At = T0.AddMinutes(e.Item2), Credits = Math.Round(e.Item3, 2), Source = "Threads",
                }), rolled, policy);
                foreach (var u in a.Users.Values)
                {
                    Assert.Equal(u.Used, u.GrantSpent + u.DrawnFromPool + u.Unfunded);
                    Assert.True(u.GrantSpent >= 0 && u.DrawnFromPool >= 0 && u.Unfunded >= 0 && u.GrantSpent <= u.User.MonthlyGrant);
                }
                Assert.Equal(rolled + bonus + a.AddOnCreditsBought, a.PoolDrawn + a.RolledOverOut + a.Expired);
                Assert.Equal(events.Sum(e => Math.Round(e.Item3, 2)), a.Users.Values.Sum(u => u.Used));
                if (policy.MonthlyLimit.HasValue) Assert.True(a.AddOnSpend <= policy.MonthlyLimit);
                Assert.True(a.RolledOverOut >= 0 && a.Expired >= 0);
                Assert.True(a.Unfunded == 0 || policy.MonthlyLimit.HasValue, "unfunded use only happens under a limit");
            }, iter: 500);
        }
    }
}
