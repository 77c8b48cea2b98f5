using System;
using System.Collections.Generic;
using System.Linq;

namespace HexCost.Credits
{
    public sealed class CreditUser
    {
        public string UserId { get; set; } = "";
        public string? Email { get; set; }
        public string? Role { get; set; }
        public string SeatType { get; set; } = SeatTypes.None;
        public decimal MonthlyGrant { get; set; }
    }

    public sealed class UsageEvent
    {
        public string? UserId { get; set; }
        public string? Email { get; set; }
        public DateTimeOffset At { get; set; }
        public decimal Credits { get; set; }
        /// <summary>Threads (ListThreads creditsUsed) or Import (a usage export).</summary>
        public string Source { get; set; } = "";
    }

    /// <summary>How add-on credits are bought: packs of <see cref="PackCredits"/> for <see cref="PackPrice"/>, by auto top-up,
    /// while the month's purchases stay within <see cref="MonthlyLimit"/> (null = no limit).</summary>
    public sealed class TopUpPolicy
    {
        public decimal PackCredits { get; set; } = 100;
        public decimal PackPrice { get; set; } = 10;
        public decimal? MonthlyLimit { get; set; }
        /// <summary>Bonus credits Hex put in the pool at the cycle's start; they expire with it.</summary>
        public decimal BonusCredits { get; set; }
    }

    public sealed class UserAccount
    {
        public UserAccount(CreditUser user) => User = user;
        public CreditUser User { get; }
        public decimal Used { get; internal set; }
        public decimal GrantSpent { get; internal set; }
        public decimal DrawnFromPool { get; internal set; }
        /// <summary>Use nothing paid for: the pool was empty and the spend limit stopped the top-up.</summary>
        public decimal Unfunded { get; internal set; }
        public DateTimeOffset? GrantExhaustedAt { get; internal set; }
        public decimal GrantRemaining => User.MonthlyGrant - GrantSpent;
        public ISet<string> Sources { get; } = new SortedSet<string>(StringComparer.Ordinal);
    }

    /// <summary>One billing cycle, accounted as Hex documents it.</summary>
    public sealed class CycleAccount
    {
        public IReadOnlyDictionary<string, UserAccount> Users { get; internal set; } = new Dictionary<string, UserAccount>();
        public decimal RolledOverIn { get; internal set; }
        public decimal BonusCredits { get; internal set; }
        public decimal PoolDrawn { get; internal set; }
        public int PacksBought { get; internal set; }
        public decimal AddOnCreditsBought { get; internal set; }
        public decimal AddOnSpend { get; internal set; }
        /// <summary>This cycle's unused top-up credits: they roll over into the next cycle (once).</summary>
        public decimal RolledOverOut { get; internal set; }
        /// <summary>Rolled-over and bonus credits left unused at the cycle's end: gone.</summary>
        public decimal Expired { get; internal set; }
        public decimal Unfunded => Users.Values.Sum(u => u.Unfunded);
        public DateTimeOffset? LimitReachedAt { get; internal set; }
    }

    /// <summary>
    /// Hex's credit rules: a user's monthly grant is spent first; beyond it the user draws from the shared pool; when the
    /// grant is spent and the pool is empty an auto top-up buys a pack, unless it would cross the monthly add-on limit,
    /// in which case the rest is reported as unfunded. Grants never roll over; top-up credits roll over one cycle.
    /// </summary>
    public static class CreditAccounting
    {
        public static CycleAccount Simulate(IEnumerable<CreditUser> users, IEnumerable<UsageEvent> events, decimal rolledOverIn, TopUpPolicy policy)
        {
            if (policy.PackCredits <= 0) throw new ArgumentOutOfRangeException(nameof(policy), "A top-up pack holds more than 0 credits.");
            var accounts = new Dictionary<string, UserAccount>(StringComparer.OrdinalIgnoreCase);
            var byEmail = new Dictionary<string, UserAccount>(StringComparer.OrdinalIgnoreCase);
            foreach (var user in users)
            {
                var account = new UserAccount(user);
                accounts[user.UserId] = account;
                if (!string.IsNullOrEmpty(user.Email)) byEmail[user.Email!] = account;
            }

            var rolled = Math.Max(0, rolledOverIn);
            var bonus = Math.Max(0, policy.BonusCredits);
            var bought = 0m;
            var result = new CycleAccount { RolledOverIn = rolled, BonusCredits = bonus };

            foreach (var usage in events.Where(e => e.Credits > 0).OrderBy(e => e.At))
            {
                var account = Find(accounts, byEmail, usage);
                account.Sources.Add(usage.Source);
                var need = usage.Credits;
                account.Used += need;

                var fromGrant = Math.Min(need, Math.Max(0, account.GrantRemaining));
                account.GrantSpent += fromGrant;
                need -= fromGrant;
                if (account.GrantExhaustedAt == null && account.User.MonthlyGrant > 0 && account.GrantRemaining <= 0) account.GrantExhaustedAt = usage.At;

                while (need > 0)
                {
                    var take = Math.Min(need, rolled);
                    rolled -= take;
                    var fromBonus = Math.Min(need - take, bonus);
                    bonus -= fromBonus;
                    take += fromBonus;
                    var fromBought = Math.Min(need - take, bought);
                    bought -= fromBought;
                    take += fromBought;
                    account.DrawnFromPool += take;
                    result.PoolDrawn += take;
                    need -= take;
                    if (need <= 0) break;

                    if (policy.MonthlyLimit is decimal limit && result.AddOnSpend + policy.PackPrice > limit)
                    {
                        result.LimitReachedAt ??= usage.At;
                        account.Unfunded += need;
                        break;
                    }
                    result.PacksBought++;
                    result.AddOnCreditsBought += policy.PackCredits;
                    result.AddOnSpend += policy.PackPrice;
                    bought += policy.PackCredits;
                }
            }

            result.RolledOverOut = bought;
            result.Expired = rolled + bonus;
            result.Users = accounts;
            return result;
        }

        private static UserAccount Find(Dictionary<string, UserAccount> accounts, Dictionary<string, UserAccount> byEmail, UsageEvent usage)
        {
            if (!string.IsNullOrEmpty(usage.UserId) && accounts.TryGetValue(usage.UserId!, out var byId)) return byId;
            if (!string.IsNullOrEmpty(usage.Email) && byEmail.TryGetValue(usage.Email!, out var found)) return found;
            // Usage of someone not (or no longer) in the workspace: no seat, so no grant; it draws from the pool.
            var key = usage.UserId ?? usage.Email ?? "unknown";
            var stranger = new UserAccount(new CreditUser { UserId = usage.UserId ?? key, Email = usage.Email, SeatType = SeatTypes.None });
            accounts[key] = stranger;
            if (!string.IsNullOrEmpty(usage.Email)) byEmail[usage.Email!] = stranger;
            return stranger;
        }
    }
}
