using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Credits;
using HexCost.Ledger;
using HexCost.Model;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Computes this billing cycle's AI credit balances from Hex's documented credit rules.</para>
    /// <para type="description">Hex has no balance API: HexCost reads users (ListUsers) and thread usage (ListThreads, Manager role or higher),
    /// adds usage imported with Import-HexCreditUsage, and applies the rules: grant first, then the shared pool, then auto top-ups within
    /// the monthly add-on limit; top-up credits roll over one cycle. Every figure is an estimate and says where it came from.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexCreditBalance", DefaultParameterSetName = "User")]
    [OutputType(typeof(CreditBalance), typeof(CreditSummary))]
    public sealed class GetHexCreditBalanceCommand : HexSessionCmdlet
    {
        /// <summary>The workspace's Hex plan: Professional, Team or Enterprise.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateSet(Plans.Professional, Plans.Team, Plans.Enterprise, IgnoreCase = true)]
        public string Plan { get; set; } = Plans.Team;

        /// <summary>One summary row for the workspace instead of one row per user.</summary>
        [Parameter(ParameterSetName = "Workspace", Mandatory = true)]
        public SwitchParameter Workspace { get; set; }

        /// <summary>Grant overrides, e.g. @{ Editor = 50; Explorer = 12 } (for -Plan) or @{ Team = @{ Editor = 50 } }.</summary>
        [Parameter]
        public Hashtable? GrantTable { get; set; }

        /// <summary>Seats that differ from the role: @{ 'ana@example.com' = 'Explorer' } (keys: email or user id; values Editor, Explorer, None).</summary>
        [Parameter]
        public Hashtable? SeatOverride { get; set; }

        /// <summary>The day of the month the billing cycle starts (default 1; 31 means the month's last day where shorter).</summary>
        [Parameter]
        [ValidateRange(1, 31)]
        public int CycleStartDay { get; set; } = 1;

        /// <summary>Compute as of this time instead of now.</summary>
        [Parameter]
        public DateTime? AsOf { get; set; }

        /// <summary>Use only usage imported with Import-HexCreditUsage (no ListThreads, which needs the Manager role).</summary>
        [Parameter]
        public SwitchParameter UsageOnly { get; set; }

        /// <summary>Credits in one auto top-up pack (default from Set-HexSpendLimit, else 100).</summary>
        [Parameter]
        [ValidateRange(1, 10000000)]
        public decimal? TopUpPackCredits { get; set; }

        /// <summary>What one pack costs (default from Set-HexSpendLimit, else 10).</summary>
        [Parameter]
        [ValidateRange(0, 10000000)]
        public decimal? TopUpPackPrice { get; set; }

        /// <summary>Bonus credits Hex put in the pool this cycle.</summary>
        [Parameter]
        [ValidateRange(0, 10000000)]
        public decimal PoolCredits { get; set; }

        protected override void EndProcessing()
        {
            CreditBalanceOptions options;
            try
            {
                var plan = Plans.All.First(p => string.Equals(p, Plan, StringComparison.OrdinalIgnoreCase));
                options = new CreditBalanceOptions
                {
                    Plan = plan,
                    Grants = HexCost.Credits.GrantTable.Default.With(plan, GrantTable),
                    CycleStartDay = CycleStartDay,
                    AsOf = AsOf.HasValue ? new DateTimeOffset(AsOf.Value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(AsOf.Value, DateTimeKind.Utc) : AsOf.Value.ToUniversalTime()) : (DateTimeOffset?)null,
                    UsageOnly = UsageOnly,
                    PackCredits = TopUpPackCredits,
                    PackPrice = TopUpPackPrice,
                    BonusCredits = PoolCredits,
                };
                if (SeatOverride != null)
                    foreach (DictionaryEntry entry in SeatOverride)
                        options.SeatOverrides[Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? ""] = SeatTypes.Parse(Convert.ToString(entry.Value, CultureInfo.InvariantCulture));
            }
            catch (FormatException error)
            {
                ThrowTerminatingError(HexErrors.InvalidCreditParameter.Record(new ArgumentException(error.Message, error), GrantTable ?? (object?)SeatOverride));
                return;
            }

            if (!TryAwait(CreditBalanceService.ComputeAsync(Account, options, EventSink, StopToken), Plan, out var report)) return;
            if (!Workspace)
            {
                foreach (var row in report.Users) WriteTypedObject(row, "HexCost.CreditBalance");
                return;
            }
            var summary = report.Summary;
            new SpendPolicyStore(Account).SaveSnapshot(new CreditSnapshot
            {
                At = Account.Time.GetUtcNow().UtcDateTime, CycleStart = summary.CycleStart, AddOnSpend = summary.AddOnSpend, ProjectedAddOnSpend = summary.ProjectedAddOnSpend,
            });
            if (summary.AlertLevel != "None")
            {
                WriteWarning($"Add-on credit spend is at {summary.PercentOfLimit?.ToString("0.#", CultureInfo.InvariantCulture)} % of the monthly limit of {summary.SpendLimit?.ToString("0.##", CultureInfo.InvariantCulture)} (alert level {summary.AlertLevel}).");
            }
            WriteTypedObject(summary, "HexCost.CreditSummary");
        }
    }

    /// <summary>
    /// <para type="synopsis">Imports per-user credit usage from Hex's usage export (CSV) into the ledger.</para>
    /// <para type="description">The file needs a date, a user (email) and a credits column. Rows already imported are skipped, so re-importing is safe.</para>
    /// </summary>
    [Cmdlet(VerbsData.Import, "HexCreditUsage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(CreditUsageImport))]
    public sealed class ImportHexCreditUsageCommand : HexSessionCmdlet
    {
        /// <summary>CSV files (wildcards allowed).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = Array.Empty<string>();

        protected override void ProcessRecord()
        {
            foreach (var pattern in Path)
            {
                IEnumerable<string> files;
                try
                {
                    files = GetResolvedProviderPathFromPSPath(pattern, out _);
                }
                catch (ItemNotFoundException error)
                {
                    WriteError(HexErrors.UsageFileNotFound.Record(error, pattern));
                    continue;
                }
                foreach (var file in files)
                {
                    if (!ShouldProcess(file, "Import credit usage into the HexCost ledger")) continue;
                    var errors = new List<UsageImporter.RowError>();
                    CreditUsageImport result;
                    try
                    {
                        result = UsageImporter.Import(Account, file, errors);
                    }
                    catch (FormatException error)
                    {
                        WriteError(HexErrors.InvalidUsageFile.Record(error, file));
                        continue;
                    }
                    catch (System.IO.IOException error)
                    {
                        WriteError(HexErrors.UsageFileUnreadable.Record(error, file));
                        continue;
                    }
                    foreach (var row in errors)
                    {
                        WriteError(HexErrors.InvalidUsageRow.Record(new FormatException($"{file} line {row.Line}: {row.Message} The row was skipped."),
                            file + ":" + row.Line.ToString(CultureInfo.InvariantCulture)));
                    }
                    WriteVerbose($"{file}: {result.Imported} rows imported, {result.Duplicates} already in the ledger, {result.Rejected} rejected.");
                    WriteTypedObject(result, "HexCost.CreditUsageImport");
                }
            }
        }
    }

    /// <summary>
    /// <para type="synopsis">Sets the spend policy HexCost keeps for the workspace and enforces on the runs it triggers.</para>
    /// <para type="description">Hex has no API for its own add-on limit: HexCost keeps the policy in its state directory, enforces the run budgets
    /// in Invoke-HexRun, reports credit spend against the add-on limit, and says what to type into Hex's own settings.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "HexSpendLimit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(SpendPolicy))]
    public sealed class SetHexSpendLimitCommand : HexSessionCmdlet
    {
        /// <summary>Monthly limit on auto top-up (add-on credit) purchases, in your billing currency.</summary>
        [Parameter]
        [ValidateRange(0, 100000000)]
        public decimal? MonthlyAddOnLimit { get; set; }

        /// <summary>Percentages of the limits that warn when crossed (default 80,90,100).</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int[]? AlertThreshold { get; set; }

        /// <summary>Runs HexCost may trigger in any 7 days, workspace-wide; $null removes the budget.</summary>
        [Parameter]
        [AllowNull]
        public int? WeeklyRunBudget { get; set; }

        /// <summary>Runs HexCost may trigger per project in any 7 days; $null removes the cap.</summary>
        [Parameter]
        [AllowNull]
        public int? MaxRunsPerProjectPerWeek { get; set; }

        /// <summary>Credits in one auto top-up pack.</summary>
        [Parameter]
        [ValidateRange(1, 10000000)]
        public decimal? TopUpPackCredits { get; set; }

        /// <summary>What one pack costs.</summary>
        [Parameter]
        [ValidateRange(0, 10000000)]
        public decimal? TopUpPackPrice { get; set; }

        /// <summary>Set the add-on limit to 90 % of the projected add-on spend (from the last Get-HexCreditBalance -Workspace), Hex's documented practice.</summary>
        [Parameter]
        public SwitchParameter FromHistory { get; set; }

        /// <summary>Lower the add-on limit below what was already spent this cycle without asking.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Write the resulting policy.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            foreach (var (name, value) in new[] { (nameof(WeeklyRunBudget), WeeklyRunBudget), (nameof(MaxRunsPerProjectPerWeek), MaxRunsPerProjectPerWeek) })
            {
                if (value < 0)
                {
                    ThrowTerminatingError(HexErrors.InvalidSpendPolicy.Record(new ArgumentOutOfRangeException(name, value, $"-{name} is a number of runs of 0 or more, or $null to remove it."), value));
                }
            }
            var store = new SpendPolicyStore(Account);
            SpendPolicy current;
            CreditSnapshot? snapshot;
            try
            {
                current = store.Load();
                snapshot = store.LoadSnapshot();
            }
            catch (HexException error)
            {
                ThrowTerminatingError(HexErrors.SpendPolicyCorrupt.Record(error, store.PolicyPath));
                return;
            }

            var limit = MonthlyAddOnLimit ?? current.MonthlyAddOnLimit;
            if (FromHistory)
            {
                if (snapshot == null)
                {
                    ThrowTerminatingError(HexErrors.NoCreditHistory.Record(new InvalidOperationException("-FromHistory needs a projection: run Get-HexCreditBalance -Plan <plan> -Workspace first."), null));
                    return;
                }
                limit = Math.Round(snapshot.ProjectedAddOnSpend * 0.9m, 2);
                WriteVerbose($"90 % of the projected add-on spend ({snapshot.ProjectedAddOnSpend.ToString("0.##", CultureInfo.InvariantCulture)}, computed {snapshot.At:yyyy-MM-dd HH:mm} UTC) is {limit.Value.ToString("0.##", CultureInfo.InvariantCulture)}.");
            }

            var updated = new SpendPolicy
            {
                MonthlyAddOnLimit = limit,
                AlertThreshold = AlertThreshold != null ? string.Join(",", AlertThreshold.OrderBy(t => t)) : current.AlertThreshold,
                WeeklyRunBudget = MyInvocation.BoundParameters.ContainsKey(nameof(WeeklyRunBudget)) ? WeeklyRunBudget : current.WeeklyRunBudget,
                MaxRunsPerProjectPerWeek = MyInvocation.BoundParameters.ContainsKey(nameof(MaxRunsPerProjectPerWeek)) ? MaxRunsPerProjectPerWeek : current.MaxRunsPerProjectPerWeek,
                TopUpPackCredits = TopUpPackCredits ?? current.TopUpPackCredits,
                TopUpPackPrice = TopUpPackPrice ?? current.TopUpPackPrice,
            };
            var what = Describe(current, updated);
            if (what.Length == 0)
            {
                WriteVerbose("Nothing changes.");
                if (PassThru) WriteTypedObject(current, "HexCost.SpendPolicy");
                return;
            }
            if (!ShouldProcess($"HexCost spend policy of workspace {Account.OrgId}", what)) return;

            var spent = snapshot != null && snapshot.CycleStart <= Account.Time.GetUtcNow().UtcDateTime ? snapshot.AddOnSpend : 0m;
            if (updated.MonthlyAddOnLimit.HasValue && updated.MonthlyAddOnLimit < spent && !Force)
            {
                // A high-impact change: ask even when $ConfirmPreference would not, unless -Force.
                var question = $"The new monthly add-on limit {updated.MonthlyAddOnLimit.Value.ToString("0.##", CultureInfo.InvariantCulture)} is below the {spent.ToString("0.##", CultureInfo.InvariantCulture)} already spent this cycle: no more top-ups would be bought.";
                bool confirmed;
                try
                {
                    confirmed = ShouldContinue(question + " Continue?", "Lower the add-on limit below current spend");
                }
                catch (Exception error) when (error is System.Management.Automation.Host.HostException || error is PSInvalidOperationException || error is NotImplementedException)
                {
                    ThrowTerminatingError(HexErrors.ConfirmationRequired.Record(new InvalidOperationException(question + " This host cannot ask; run again with -Force to confirm.", error), updated.MonthlyAddOnLimit));
                    return;
                }
                if (!confirmed) return;
            }

            store.Save(updated);
            SpendPolicyStore.Describe(updated);
            WriteVerbose(updated.SetInHex);
            if (PassThru) WriteTypedObject(store.Load(), "HexCost.SpendPolicy");
        }

        private static string Describe(SpendPolicy a, SpendPolicy b)
        {
            var parts = new List<string>();
            void Add(string name, object? old, object? @new)
            {
                var o = Convert.ToString(old, CultureInfo.InvariantCulture);
                var n = Convert.ToString(@new, CultureInfo.InvariantCulture);
                if (o != n) parts.Add($"{name} {(string.IsNullOrEmpty(o) ? "(none)" : o)} -> {(string.IsNullOrEmpty(n) ? "(none)" : n)}");
            }
            Add("MonthlyAddOnLimit", a.MonthlyAddOnLimit, b.MonthlyAddOnLimit);
            Add("AlertThreshold", a.AlertThreshold, b.AlertThreshold);
            Add("WeeklyRunBudget", a.WeeklyRunBudget, b.WeeklyRunBudget);
            Add("MaxRunsPerProjectPerWeek", a.MaxRunsPerProjectPerWeek, b.MaxRunsPerProjectPerWeek);
            Add("TopUpPackCredits", a.TopUpPackCredits, b.TopUpPackCredits);
            Add("TopUpPackPrice", a.TopUpPackPrice, b.TopUpPackPrice);
            return string.Join("; ", parts);
        }
    }

    /// <summary>
    /// <para type="synopsis">Gets the workspace's spend policy, or with -History every change made to it.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexSpendLimit")]
    [OutputType(typeof(SpendPolicy), typeof(SpendPolicyChange))]
    public sealed class GetHexSpendLimitCommand : HexSessionCmdlet
    {
        /// <summary>Every change (old and new value, who, when), from the ledger.</summary>
        [Parameter]
        public SwitchParameter History { get; set; }

        protected override void EndProcessing()
        {
            var store = new SpendPolicyStore(Account);
            if (History)
            {
                foreach (var change in store.History()) WriteTypedObject(change, "HexCost.SpendPolicyChange");
                return;
            }
            try
            {
                WriteTypedObject(store.Load(), "HexCost.SpendPolicy");
            }
            catch (HexException error)
            {
                ThrowTerminatingError(HexErrors.SpendPolicyCorrupt.Record(error, store.PolicyPath));
            }
        }
    }

    /// <summary>
    /// <para type="synopsis">Reports HexCost's runs per project from the ledger: triggered, cache hits, failures, runs left running, throttling, share of budget.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "HexRunReport")]
    [OutputType(typeof(RunReport))]
    public sealed class GetHexRunReportCommand : HexSessionCmdlet
    {
        /// <summary>Days to report (default 7).</summary>
        [Parameter(Position = 0)]
        [ValidateRange(1, 3660)]
        public int Days { get; set; } = 7;

        protected override void EndProcessing()
        {
            var to = Account.Time.GetUtcNow();
            var from = to - TimeSpan.FromDays(Days);
            SpendPolicy policy;
            try
            {
                policy = new SpendPolicyStore(Account).Load();
            }
            catch (HexException error)
            {
                ThrowTerminatingError(HexErrors.SpendPolicyCorrupt.Record(error, null));
                return;
            }
            var ledger = Account.Ledger.ReadAll().ToList();
            // When HexCost last saw each run end or cancelled it, at any time: a wait stopped before that left nothing running.
            var lastEnded = ledger.Where(r => (r.Type == LedgerRecordTypes.Complete || r.Type == LedgerRecordTypes.Cancel) && r.RunId != null)
                .GroupBy(r => r.RunId!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Max(r => r.At), StringComparer.OrdinalIgnoreCase);
            var records = ledger.Where(r => r.At >= from && r.At <= to && r.ProjectId != null);
            foreach (var project in records.GroupBy(r => r.ProjectId!, StringComparer.OrdinalIgnoreCase).OrderBy(g => g.Key, StringComparer.OrdinalIgnoreCase))
            {
                var triggered = project.Count(r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Created && r.Note != "DryRun");
                var adopted = project.Count(r => r.Type == LedgerRecordTypes.Adopt);
                var report = new RunReport
                {
                    ProjectId = project.Key,
                    Triggered = triggered + adopted,
                    Adopted = adopted,
                    CacheHits = project.Count(r => r.Type == LedgerRecordTypes.CacheHit),
                    Completed = project.Count(r => r.Type == LedgerRecordTypes.Complete && r.Status == RunStatuses.Completed),
                    Failed = project.Count(r => r.Type == LedgerRecordTypes.Complete && RunStatuses.IsFailure(r.Status)),
                    Forced = project.Count(r => (r.Type == LedgerRecordTypes.Trigger || r.Type == LedgerRecordTypes.Adopt) && r.Forced == true),
                    LeftRunning = project.Where(r => r.Type == LedgerRecordTypes.WaitStopped && r.RunId != null)
                        .GroupBy(r => r.RunId!, StringComparer.OrdinalIgnoreCase)
                        .Count(g => !lastEnded.TryGetValue(g.Key, out var ended) || ended < g.Max(r => r.At)),
                    ThrottledSeconds = Math.Round(project.Where(r => r.Type == LedgerRecordTypes.Trigger || r.Type == LedgerRecordTypes.Adopt).Sum(r => r.ThrottledSeconds ?? 0), 3),
                    PercentOfBudget = policy.MaxRunsPerProjectPerWeek is int cap && cap > 0 ? Math.Round((triggered + adopted) * 100d / (cap * Days / 7d), 1) : (double?)null,
                    From = from.UtcDateTime,
                    To = to.UtcDateTime,
                };
                WriteTypedObject(report, "HexCost.RunReport");
            }
        }
    }
}
