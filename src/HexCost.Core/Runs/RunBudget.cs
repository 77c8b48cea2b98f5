using System;
using System.Globalization;
using System.Linq;
using HexCost.Api;
using HexCost.Credits;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;

namespace HexCost.Runs
{
    /// <summary>The spend policy's run budgets, enforced before each trigger: the workspace's runs in the last 7 days
    /// against WeeklyRunBudget, a project's against MaxRunsPerProjectPerWeek. Each alert threshold warns once a window.</summary>
    internal static class RunBudget
    {
        public static readonly TimeSpan Window = TimeSpan.FromDays(7);

        /// <summary>The spend policy when it sets a run budget; null when there is nothing to enforce.</summary>
        public static SpendPolicy? Budgets(HexAccount account)
        {
            var policy = new SpendPolicyStore(account).Load();
            return policy.WeeklyRunBudget.HasValue || policy.MaxRunsPerProjectPerWeek.HasValue ? policy : null;
        }

        /// <summary>Refuses a trigger over a budget unless <paramref name="ignoreRunBudget"/>; returns whether it overrode one.</summary>
        public static bool Check(HexAccount account, SpendPolicy policy, string projectId, bool ignoreRunBudget, IHexEventSink sink)
        {
            account.RefreshFromLedger();
            var now = account.Time.GetUtcNow();
            var (total, project) = account.TriggersSince(now - Window, projectId);

            string? refusal = null;
            if (policy.WeeklyRunBudget is int budget && total + 1 > budget)
                refusal = $"The workspace has triggered {total} runs in the last 7 days and the weekly run budget is {budget}";
            else if (policy.MaxRunsPerProjectPerWeek is int cap && project + 1 > cap)
                refusal = $"Project {projectId} has triggered {project} runs in the last 7 days and its weekly cap is {cap}";
            if (refusal != null)
            {
                if (!ignoreRunBudget)
                {
                    throw new HexException(HexErrorKind.RunBudgetExceeded,
                        refusal + ". Wait for older runs to leave the 7-day window, raise the budget with Set-HexSpendLimit, or run with -IgnoreRunBudget (recorded in the ledger as forced).")
                    { ProjectId = projectId };
                }
                sink.Warning(refusal + "; -IgnoreRunBudget overrides it and the run is recorded as forced.");
            }

            if (policy.WeeklyRunBudget is int weekly && weekly > 0)
            {
                var before = total * 100d / weekly;
                var after = (total + 1) * 100d / weekly;
                foreach (var threshold in CreditBalanceService.ParseThresholds(policy.AlertThreshold).Where(t => before < t && after >= t))
                {
                    var key = "weekly-runs-" + threshold.ToString(CultureInfo.InvariantCulture);
                    var warned = account.Ledger.ReadAll().Any(r => r.Type == LedgerRecordTypes.BudgetAlert && r.Outcome == key && r.At > now - Window);
                    if (warned) continue;
                    account.Record(new LedgerRecord { Type = LedgerRecordTypes.BudgetAlert, At = now, Outcome = key, Note = $"{total + 1} of {weekly} weekly runs" });
                    sink.Warning($"Weekly run budget: {total + 1} of {weekly} runs used in the last 7 days ({Math.Floor(after)} %, past the {threshold} % alert).");
                }
            }
            return refusal != null;
        }
    }
}
