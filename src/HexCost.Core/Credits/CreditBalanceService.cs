using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;

namespace HexCost.Credits
{
    public sealed class CreditBalanceOptions
    {
        public string Plan { get; set; } = Plans.Team;
        public GrantTable Grants { get; set; } = GrantTable.Default;
        /// <summary>User id or email → seat type, for users whose seat differs from their role.</summary>
        public IDictionary<string, string> SeatOverrides { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        public int CycleStartDay { get; set; } = 1;
        public DateTimeOffset? AsOf { get; set; }
        /// <summary>Use only imported usage (no ListThreads, which needs the Manager role).</summary>
        public bool UsageOnly { get; set; }
        public decimal? PackCredits { get; set; }
        public decimal? PackPrice { get; set; }
        public decimal? MonthlyLimit { get; set; }
        public decimal BonusCredits { get; set; }
    }

    public sealed class CreditReport
    {
        public IReadOnlyList<CreditBalance> Users { get; set; } = Array.Empty<CreditBalance>();
        public CreditSummary Summary { get; set; } = new CreditSummary();
        /// <summary>Thresholds (percent of the limit) crossed by this cycle's add-on spend.</summary>
        public IReadOnlyList<int> CrossedThresholds { get; set; } = Array.Empty<int>();
    }

    /// <summary>Computes credit balances from Hex's users and threads plus imported usage, by Hex's documented rules.</summary>
    public static class CreditBalanceService
    {
        public static async Task<CreditReport> ComputeAsync(HexAccount account, CreditBalanceOptions options, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var asOf = options.AsOf ?? account.Time.GetUtcNow();
            var cycle = BillingCycle.Containing(asOf.UtcDateTime, options.CycleStartDay);
            var previous = cycle.Previous();
            var policy = await new SpendPolicyStore(account).LoadAsync(cancellationToken).ConfigureAwait(false);
            var topUp = new TopUpPolicy
            {
                PackCredits = options.PackCredits ?? policy.TopUpPackCredits,
                PackPrice = options.PackPrice ?? policy.TopUpPackPrice,
                MonthlyLimit = options.MonthlyLimit ?? policy.MonthlyAddOnLimit,
                BonusCredits = options.BonusCredits,
            };

            var users = await UsersAsync(account, options, sink, cancellationToken).ConfigureAwait(false);
            var events = new List<UsageEvent>();
            if (!options.UsageOnly)
                events.AddRange(await ThreadUsageAsync(account, previous.Start, sink, cancellationToken).ConfigureAwait(false));
            events.AddRange(await ImportedUsageAsync(account, cancellationToken).ConfigureAwait(false));
            events = events.Where(e => e.At.UtcDateTime >= previous.Start && e.At <= asOf).ToList();

            var last = CreditAccounting.Simulate(users, events.Where(e => previous.Contains(e.At)), 0, topUp);
            var current = events.Where(e => cycle.Contains(e.At)).ToList();
            var now = CreditAccounting.Simulate(users, current, last.RolledOverOut, topUp);

            var elapsed = Math.Max(1d / 24, (asOf.UtcDateTime - cycle.Start).TotalDays);
            var length = cycle.Length.TotalDays;
            var rows = new List<CreditBalance>();
            var projectedExtra = new List<UsageEvent>();
            foreach (var user in now.Users.Values.OrderBy(u => u.User.Email ?? u.User.UserId, StringComparer.OrdinalIgnoreCase))
            {
                var projected = Math.Round(user.Used * (decimal)(length / elapsed), 2);
                if (projected > user.Used)
                    projectedExtra.Add(new UsageEvent { UserId = user.User.UserId, Email = user.User.Email, At = new DateTimeOffset(cycle.End.AddTicks(-1)), Credits = projected - user.Used, Source = "Projection" });
                rows.Add(new CreditBalance
                {
                    UserId = user.User.UserId, Email = user.User.Email, Role = user.User.Role, SeatType = user.User.SeatType,
                    MonthlyGrant = user.User.MonthlyGrant, CreditsUsed = user.Used, GrantRemaining = Math.Max(0, user.GrantRemaining),
                    DrawnFromPool = user.DrawnFromPool, ProjectedCycleUse = projected,
                    ProjectedExhaustionDate = Exhaustion(user, cycle, elapsed), CycleStart = cycle.Start, CycleEnd = cycle.End,
                    UsageSource = Source(user.Sources),
                });
            }

            var projectedAccount = CreditAccounting.Simulate(users, current.Concat(projectedExtra), last.RolledOverOut, topUp);
            var thresholds = ParseThresholds(policy.AlertThreshold);
            decimal? percent = topUp.MonthlyLimit is decimal limit && limit > 0 ? Math.Round(now.AddOnSpend / limit * 100, 1) : (decimal?)null;
            var crossed = percent.HasValue ? thresholds.Where(t => percent.Value >= t).ToList() : new List<int>();
            var sources = Source(new HashSet<string>(now.Users.Values.SelectMany(u => u.Sources)));
            var summary = new CreditSummary
            {
                Plan = options.Plan,
                EditorSeats = users.Count(u => u.SeatType == SeatTypes.Editor),
                ExplorerSeats = users.Count(u => u.SeatType == SeatTypes.Explorer),
                OtherSeats = users.Count(u => u.SeatType == SeatTypes.None),
                TotalGrant = users.Sum(u => u.MonthlyGrant),
                TotalUsed = now.Users.Values.Sum(u => u.Used),
                PoolDrawn = now.PoolDrawn,
                RolledOverCredits = now.RolledOverIn,
                AddOnCreditsBought = now.AddOnCreditsBought,
                AddOnSpend = now.AddOnSpend,
                SpendLimit = topUp.MonthlyLimit,
                PercentOfLimit = percent,
                ProjectedAddOnSpend = projectedAccount.AddOnSpend,
                UnfundedCredits = now.Unfunded,
                AlertLevel = crossed.Count == 0 ? "None" : crossed.Max().ToString(CultureInfo.InvariantCulture) + "%",
                CycleStart = cycle.Start,
                CycleEnd = cycle.End,
                UsageSource = sources,
            };
            summary.Evidence = Evidence(summary, now, topUp, elapsed, length);
            return new CreditReport { Users = rows, Summary = summary, CrossedThresholds = crossed };
        }

        public static IReadOnlyList<int> ParseThresholds(string? text) =>
            (text ?? "").Split(new[] { ',', ';', ' ' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(t => int.Parse(t, NumberStyles.Integer, CultureInfo.InvariantCulture)).OrderBy(t => t).ToList();

        private static string Evidence(CreditSummary s, CycleAccount now, TopUpPolicy topUp, double elapsed, double length)
        {
            string N(decimal d) => d.ToString("0.##", CultureInfo.InvariantCulture);
            var limit = s.SpendLimit.HasValue ? $"{N(s.AddOnSpend)} of the {N(s.SpendLimit.Value)} monthly add-on limit ({N(s.PercentOfLimit ?? 0)} %)" : $"{N(s.AddOnSpend)} on add-ons (no limit set)";
            var unfunded = s.UnfundedCredits > 0 ? $"; {N(s.UnfundedCredits)} credits went unfunded after the limit stopped top-ups" : "";
            return $"Day {Math.Floor(elapsed).ToString(CultureInfo.InvariantCulture)} of {Math.Round(length).ToString(CultureInfo.InvariantCulture)}: {N(s.TotalUsed)} credits used against {N(s.TotalGrant)} granted ({s.UsageSource}); "
                   + $"{N(s.PoolDrawn)} drawn from the pool ({N(s.RolledOverCredits)} rolled over), {now.PacksBought.ToString(CultureInfo.InvariantCulture)} packs of {N(topUp.PackCredits)} bought for {limit}{unfunded}; "
                   + $"at this pace add-ons reach {N(s.ProjectedAddOnSpend)} by {s.CycleEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} (an estimate: Hex has no balance API; pack {N(topUp.PackCredits)} for {N(topUp.PackPrice)}).";
        }

        private static DateTime? Exhaustion(UserAccount user, BillingCycle cycle, double elapsedDays)
        {
            if (user.GrantExhaustedAt.HasValue) return user.GrantExhaustedAt.Value.UtcDateTime;
            if (user.User.MonthlyGrant <= 0 || user.Used <= 0) return null;
            var days = (double)(user.User.MonthlyGrant / user.Used) * elapsedDays;
            var at = cycle.Start.AddDays(days);
            return at < cycle.End ? at : (DateTime?)null;
        }

        private static string Source(ICollection<string> sources)
        {
            var real = sources.Where(s => s == "Threads" || s == "Import").OrderByDescending(s => s == "Threads").ToList();
            return real.Count == 0 ? "None" : string.Join("+", real);
        }

        private static async Task<List<CreditUser>> UsersAsync(HexAccount account, CreditBalanceOptions options, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var users = new List<CreditUser>();
            var unused = new HashSet<string>(options.SeatOverrides.Keys, StringComparer.OrdinalIgnoreCase);
            string? after = null;
            do
            {
                var page = await account.Client.ListUsersAsync(500, after, sink, cancellationToken).ConfigureAwait(false);
                foreach (var u in page.Values ?? new List<UserResource>())
                {
                    var seat = SeatTypes.FromRole(u.Role);
                    string? overridden = null;
                    if (options.SeatOverrides.TryGetValue(u.Id, out var byId)) overridden = byId;
                    if (u.Email != null && options.SeatOverrides.TryGetValue(u.Email, out var byEmail)) overridden ??= byEmail;
                    unused.Remove(u.Id);
                    if (u.Email != null) unused.Remove(u.Email);
                    if (overridden != null) seat = SeatTypes.Parse(overridden);
                    users.Add(new CreditUser { UserId = u.Id, Email = u.Email, Role = u.Role, SeatType = seat, MonthlyGrant = options.Grants.Grant(options.Plan, seat) });
                }
                after = page.Pagination?.After;
            }
            while (!string.IsNullOrEmpty(after));
            foreach (var key in unused.OrderBy(k => k, StringComparer.OrdinalIgnoreCase))
            {
                sink.Warning($"-SeatOverride names '{key}', which is neither the email nor the id of a user of this workspace; that override was not applied. "
                             + "Check the spelling (Get-HexCreditBalance lists every user's Email and UserId).");
            }
            return users;
        }

        private static async Task<List<UsageEvent>> ThreadUsageAsync(HexAccount account, DateTime since, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var events = new List<UsageEvent>();
            var numDays = (int)Math.Ceiling((account.Time.GetUtcNow().UtcDateTime - since).TotalDays) + 1;
            string? after = null;
            do
            {
                ThreadPage page;
                try
                {
                    page = await account.Client.ListThreadsAsync(100, after, numDays, sink, cancellationToken).ConfigureAwait(false);
                }
                catch (HexException ex) when (ex.Kind == HexErrorKind.Forbidden)
                {
                    throw new HexException(HexErrorKind.Forbidden,
                        $"Hex refused ListThreads (403): reading AI credit usage needs the Manager role or higher, and this token's user is {account.Role ?? "not a manager"}. "
                        + "Connect with a Manager's or an Admin's token, or use -UsageOnly with usage imported by Import-HexCreditUsage.", ex) { StatusCode = 403 };
                }
                foreach (var thread in page.Threads ?? new List<ThreadResource>())
                {
                    if (thread.CreditsUsed is double credits && credits > 0 && thread.CreatedAt.HasValue)
                        events.Add(new UsageEvent { UserId = thread.UserId, At = thread.CreatedAt.Value, Credits = (decimal)credits, Source = "Threads" });
                }
                after = page.Pagination?.After;
            }
            while (!string.IsNullOrEmpty(after));
            return events;
        }

        private static async Task<IEnumerable<UsageEvent>> ImportedUsageAsync(HexAccount account, CancellationToken cancellationToken) =>
            (await account.State.ReadHistoryAsync(cancellationToken, r => r.Type == LedgerRecordTypes.CreditUsage && r.Credits.HasValue).ConfigureAwait(false))
                .GroupBy(r => r.UsageKey ?? Guid.NewGuid().ToString())
                .Select(g => g.First())
                .Select(r => new UsageEvent
                {
                    UserId = r.UsageUser != null && r.UsageUser.Contains("@") ? null : r.UsageUser,
                    Email = r.UsageUser != null && r.UsageUser.Contains("@") ? r.UsageUser : null,
                    At = r.At,
                    Credits = r.Credits!.Value,
                    Source = "Import",
                });
    }
}
