using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Credits;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Session;
using HexCost.State;

namespace HexCost.Runs
{
    /// <summary>The spend policy's run budgets, enforced before each trigger by a reservation in the state store: the
    /// workspace's runs in the last 7 days (started and reserved, by every process and host) against WeeklyRunBudget, a
    /// project's against MaxRunsPerProjectPerWeek. Each alert threshold warns once a window.</summary>
    internal static class RunBudget
    {
        public static readonly TimeSpan Window = TimeSpan.FromDays(7);

        /// <summary>A run reserved against the budget: its trigger record ends it, a failed trigger releases it.</summary>
        public sealed class Reservation
        {
            public Reservation(string id, bool overridden)
            {
                Id = id;
                Overridden = overridden;
            }

            public string Id { get; }
            /// <summary>The budget refused it and -IgnoreRunBudget overrode it (recorded as forced).</summary>
            public bool Overridden { get; }
        }

        /// <summary>Reserves a run of <paramref name="projectId"/> when the spend policy sets a run budget (null when it sets
        /// none); refuses one over a budget unless <paramref name="ignoreRunBudget"/>.</summary>
        public static async Task<Reservation?> ReserveAsync(HexAccount account, string projectId, bool ignoreRunBudget, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var policy = await new SpendPolicyStore(account).LoadAsync(cancellationToken).ConfigureAwait(false);
            if (!policy.WeeklyRunBudget.HasValue && !policy.MaxRunsPerProjectPerWeek.HasValue) return null;
            var id = Guid.NewGuid().ToString("N");
            var decision = await account.Store.ReserveRunAsync(new BudgetRequest
            {
                ReservationId = id, Owner = account.State.Owner, ProjectId = projectId, Window = Window,
                WeeklyLimit = policy.WeeklyRunBudget, ProjectLimit = policy.MaxRunsPerProjectPerWeek, Force = ignoreRunBudget, Now = account.Time.GetUtcNow(),
            }, cancellationToken).ConfigureAwait(false);

            string? refusal = null;
            if (decision.OverLimit)
            {
                refusal = policy.WeeklyRunBudget is int budget && decision.Total + 1 > budget
                    ? $"The workspace has triggered {decision.Total} runs in the last 7 days and the weekly run budget is {budget}"
                    : $"Project {projectId} has triggered {decision.Project} runs in the last 7 days and its weekly cap is {policy.MaxRunsPerProjectPerWeek}";
                if (!decision.Reserved)
                {
                    throw new HexException(HexErrorKind.RunBudgetExceeded,
                        refusal + ". Wait for older runs to leave the 7-day window, raise the budget with Set-HexSpendLimit, or run with -IgnoreRunBudget (recorded in the ledger as forced).")
                    { ProjectId = projectId };
                }
                sink.Warning(refusal + "; -IgnoreRunBudget overrides it and the run is recorded as forced.");
            }

            if (policy.WeeklyRunBudget is int weekly && weekly > 0)
            {
                var before = decision.Total * 100d / weekly;
                var after = (decision.Total + 1) * 100d / weekly;
                foreach (var threshold in CreditBalanceService.ParseThresholds(policy.AlertThreshold).Where(t => before < t && after >= t))
                    await AlertOnceAsync(account, threshold, decision.Total + 1, weekly, after, sink, cancellationToken).ConfigureAwait(false);
            }
            return new Reservation(id, refusal != null);
        }

        /// <summary>Warns that <paramref name="threshold"/> % of the weekly budget is used, once a window across processes.</summary>
        private static async Task AlertOnceAsync(HexAccount account, int threshold, int used, int weekly, double percent, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var alert = "weekly-runs-" + threshold.ToString(CultureInfo.InvariantCulture);
            var key = LedgerIndex.AlertKey(alert);
            var now = account.Time.GetUtcNow();
            var warn = await account.State.DecideAsync(new[] { key }, view =>
            {
                var last = LedgerIndex.Parse<LedgerRecord>(view[key].Value);
                if (last != null && last.At > now - Window) return (false, (LedgerRecord?)null);
                return (true, new LedgerRecord { Type = LedgerRecordTypes.BudgetAlert, At = now, Outcome = alert, Note = $"{used} of {weekly} weekly runs" });
            }, cancellationToken).ConfigureAwait(false);
            if (warn) sink.Warning($"Weekly run budget: {used} of {weekly} runs used in the last 7 days ({Math.Floor(percent)} %, past the {threshold} % alert).");
        }
    }
}
