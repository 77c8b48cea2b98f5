using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Credits;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;
using HexCost.State;

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
        [WholeNumber]
        public int CycleStartDay { get; set; } = 1;

        /// <summary>Compute as of this time instead of now.</summary>
        [Parameter]
        public DateTime? AsOf { get; set; }

        /// <summary>Use only usage imported with Import-HexCreditUsage (no ListThreads, which needs the Manager role).</summary>
        [Parameter]
        public SwitchParameter UsageOnly { get; set; }

        /// <summary>Credits in one auto top-up pack (default from Set-HexSpendLimit, else 100).</summary>
        [Parameter]
        [AmountTransformation]
        [ValidateAmount(1, 10000000, "a number of credits")]
        public decimal? TopUpPackCredits { get; set; }

        /// <summary>What one pack costs (default from Set-HexSpendLimit, else 10).</summary>
        [Parameter]
        [AmountTransformation]
        [ValidateAmount(0, 10000000, "an amount in your billing currency")]
        public decimal? TopUpPackPrice { get; set; }

        /// <summary>Bonus credits Hex put in the pool this cycle.</summary>
        [Parameter]
        [AmountTransformation]
        [ValidateAmount(0, 10000000, "a number of credits")]
        public decimal PoolCredits { get; set; }

        /// <summary>The earliest -AsOf: long before Hex had AI credits, so nothing earlier can hold any.</summary>
        internal static readonly DateTime EarliestAsOf = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        protected override void EndProcessing()
        {
            var asOf = AsOf.HasValue ? CheckAsOf(AsOf.Value) : (DateTimeOffset?)null;
            CreditBalanceOptions options;
            var parsing = nameof(GrantTable);
            try
            {
                var plan = Plans.All.First(p => string.Equals(p, Plan, StringComparison.OrdinalIgnoreCase));
                options = new CreditBalanceOptions
                {
                    Plan = plan,
                    Grants = HexCost.Credits.GrantTable.Default.With(plan, GrantTable),
                    CycleStartDay = CycleStartDay,
                    AsOf = asOf,
                    UsageOnly = UsageOnly,
                    PackCredits = TopUpPackCredits,
                    PackPrice = TopUpPackPrice,
                    BonusCredits = PoolCredits,
                };
                parsing = nameof(SeatOverride);
                if (SeatOverride != null)
                    foreach (DictionaryEntry entry in SeatOverride)
                    {
                        var email = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "";
                        var seat = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
                        if (seat != null && !(seat is string) && !(seat is Enum))
                            throw new FormatException($"the seat for '{email}' is a {seat.GetType().Name}, not a seat type. Use Editor, Explorer or None, e.g. @{{ '{email}' = 'Explorer' }}.");
                        options.SeatOverrides[email] = SeatTypes.Parse(Convert.ToString(seat, CultureInfo.InvariantCulture));
                    }
            }
            catch (FormatException error)
            {
                var example = parsing == nameof(GrantTable) ? " e.g. -GrantTable @{ Editor = 50; Explorer = 12 }." : "";
                ThrowTerminatingError(HexErrors.InvalidCreditParameter.Record(new ArgumentException($"-{parsing}: {error.Message}{example}", error),
                    parsing == nameof(GrantTable) ? (object?)GrantTable : SeatOverride));
                return;
            }

            if (!TryAwait(CreditBalanceService.ComputeAsync(Account, options, EventSink, StopToken), Plan, out var report)) return;
            if (!Workspace)
            {
                foreach (var row in report.Users) WriteTypedObject(row, "HexCost.CreditBalance");
                return;
            }
            var summary = report.Summary;
            CacheReading(summary);
            if (summary.AlertLevel != "None")
            {
                WriteWarning($"Add-on credit spend is at {summary.PercentOfLimit?.ToString("0.#", CultureInfo.InvariantCulture)} % of the monthly limit of {summary.SpendLimit?.ToString("0.##", CultureInfo.InvariantCulture)} (alert level {summary.AlertLevel}).");
            }
            WriteTypedObject(summary, "HexCost.CreditSummary");
        }

        /// <summary>-AsOf in UTC (unspecified: UTC), refused when it has not happened yet or lies before Hex had credits.</summary>
        private DateTimeOffset CheckAsOf(DateTime value)
        {
            var utc = value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(value, DateTimeKind.Utc) : value.ToUniversalTime();
            var now = HexAccountRegistry.DefaultTime.GetUtcNow();
            string? problem = null;
            if (utc > now.UtcDateTime)
                problem = $"-AsOf {Iso(utc)} is in the future (it is {Iso(now.UtcDateTime)} now): HexCost computes balances only for a time that has passed.";
            else if (utc < EarliestAsOf)
                problem = $"-AsOf {Iso(utc)} is before {Iso(EarliestAsOf)}, long before Hex had AI credits.";
            if (problem != null)
            {
                ThrowTerminatingError(HexErrors.InvalidCreditParameter.Record(new ArgumentOutOfRangeException(nameof(AsOf), problem
                    + " Leave -AsOf out for now, or give a past time, e.g. -AsOf (Get-Date).AddDays(-7)."), value));
            }
            return new DateTimeOffset(utc);
        }

        private static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";

        /// <summary>
        /// Keeps this reading as the workspace's last one (credit-snapshot.json), for Set-HexSpendLimit to compare a new limit
        /// with and for -FromHistory. A cache, not a setting: only a reading of now is kept (not one -AsOf another time), it
        /// counts only within its own cycle, and a state folder that cannot be written costs a warning, never the reading.
        /// </summary>
        private void CacheReading(CreditSummary summary)
        {
            if (AsOf.HasValue)
            {
                WriteVerbose("Not kept as the last credit reading: -AsOf computes another time than now.");
                return;
            }
            try
            {
                Await(new SpendPolicyStore(Account).SaveSnapshotAsync(new CreditSnapshot
                {
                    At = Account.Time.GetUtcNow().UtcDateTime, CycleStart = summary.CycleStart, CycleEnd = summary.CycleEnd,
                    AddOnSpend = summary.AddOnSpend, ProjectedAddOnSpend = summary.ProjectedAddOnSpend,
                }, StopToken));
            }
            catch (HexException error)
            {
                WriteWarning($"{error.Message} The balance below is complete; Set-HexSpendLimit just cannot compare against it.");
            }
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
                var files = Resolve(pattern);
                if (files == null) continue;
                var wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
                var folders = 0;
                foreach (var file in files)
                {
                    if (Directory.Exists(file))
                    {
                        folders++;
                        if (wildcard)
                        {
                            WriteVerbose($"{file} matches -Path '{pattern}' but is a folder; skipped.");
                            continue;
                        }
                        WriteError(HexErrors.UsageFileUnreadable.Record(new IOException(
                            $"{file} is a folder, not a usage file. Give the CSV files in it, e.g. -Path '{System.IO.Path.Combine(file, "*.csv")}'."), file));
                        continue;
                    }
                    Import(file);
                }
                if (wildcard && folders > 0 && folders == files.Count)
                {
                    WriteError(HexErrors.UsageFileNotFound.Record(new ItemNotFoundException(
                        $"-Path '{pattern}' matches only folders, no file. Give the CSV files, e.g. -Path '{System.IO.Path.Combine(pattern, "*.csv")}'."), pattern));
                }
            }
        }

        /// <summary>The files <paramref name="pattern"/> names (wildcards expanded; a name with [ ] that exists as written is
        /// taken literally); null after writing the error when there are none.</summary>
        private IList<string>? Resolve(string pattern)
        {
            var problem = string.IsNullOrWhiteSpace(pattern) ? "-Path is blank"
                : FileSystemPaths.TextProblem(pattern) is string text ? "-Path " + text : null;
            if (problem == null)
            {
                try
                {
                    var files = GetResolvedProviderPathFromPSPath(pattern, out var provider);
                    if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
                        problem = $"'{pattern}' is a path of PowerShell's {provider.Name} provider, not a file";
                    else if (files.Count > 0) return files;
                }
                catch (ItemNotFoundException)
                {
                }
                catch (Exception error) when (error is System.Management.Automation.DriveNotFoundException || error is ProviderNotFoundException || error is WildcardPatternException
                                              || error is ArgumentException || error is NotSupportedException || error is ProviderInvocationException
                                              || error is PSInvalidOperationException)
                {
                    problem = $"'{pattern}' is not a path PowerShell can resolve ({error.Message})";
                }
                if (problem == null)
                {
                    var literal = SessionState.Path.GetUnresolvedProviderPathFromPSPath(pattern);
                    if (File.Exists(literal)) return new[] { literal };
                    problem = $"'{pattern}' matches no file";
                }
            }
            WriteError(HexErrors.UsageFileNotFound.Record(new ItemNotFoundException(
                $"{problem}. Give the usage CSV files exported from Hex (Settings > Billing & Credits), e.g. -Path ./usage-*.csv."), pattern));
            return null;
        }

        private void Import(string file)
        {
            if (!ShouldProcess(file, "Import credit usage into the HexCost ledger")) return;
            var errors = new List<UsageImporter.RowError>();
            CreditUsageImport result;
            try
            {
                result = Await(UsageImporter.ImportAsync(Account, file, errors, StopToken));
            }
            catch (FormatException error)
            {
                WriteError(HexErrors.InvalidUsageFile.Record(error, file));
                return;
            }
            catch (Exception error) when (error is IOException || error is UnauthorizedAccessException)
            {
                WriteError(HexErrors.UsageFileUnreadable.Record(new IOException($"{file} cannot be read ({error.Message}). Check it exists, is not open elsewhere, and that you may read it.", error), file));
                return;
            }
            catch (HexException error)
            {
                WriteHexError(error, file);
                return;
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

    /// <summary>
    /// <para type="synopsis">Sets the spend policy HexCost keeps for the workspace and enforces on the runs it triggers.</para>
    /// <para type="description">Hex has no API for its own add-on limit: HexCost keeps the policy in its state directory, enforces the run budgets
    /// in Invoke-HexRun, reports credit spend against the add-on limit, and says what to type into Hex's own settings.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "HexSpendLimit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(SpendPolicy))]
    public sealed class SetHexSpendLimitCommand : HexSessionCmdlet
    {
        /// <summary>Monthly limit on auto top-up (add-on credit) purchases, in your billing currency; $null removes it.</summary>
        [Parameter]
        [AllowNull]
        [AmountTransformation]
        [ValidateAmount(0, 100000000, "an amount in your billing currency")]
        public decimal? MonthlyAddOnLimit { get; set; }

        /// <summary>Percentages of the limits that warn when crossed (default 80,90,100): whole numbers from 1 to 1000, so 80
        /// for 80 % (a fraction such as 0.8 is refused, never read as 1 %).</summary>
        [Parameter]
        [AllowNull]
        public double[]? AlertThreshold { get; set; }

        /// <summary>Runs HexCost may trigger in any 7 days, workspace-wide; $null removes the budget.</summary>
        [Parameter]
        [AllowNull]
        [WholeNumber]
        public int? WeeklyRunBudget { get; set; }

        /// <summary>Runs HexCost may trigger per project in any 7 days; $null removes the cap.</summary>
        [Parameter]
        [AllowNull]
        [WholeNumber]
        public int? MaxRunsPerProjectPerWeek { get; set; }

        /// <summary>Credits in one auto top-up pack.</summary>
        [Parameter]
        [AllowNull]
        [AmountTransformation]
        [ValidateAmount(1, 10000000, "a number of credits")]
        public decimal? TopUpPackCredits { get; set; }

        /// <summary>What one pack costs.</summary>
        [Parameter]
        [AllowNull]
        [AmountTransformation]
        [ValidateAmount(0, 10000000, "an amount in your billing currency")]
        public decimal? TopUpPackPrice { get; set; }

        /// <summary>Set the add-on limit to 90 % of the projected add-on spend (from this cycle's last Get-HexCreditBalance -Workspace), Hex's documented practice.</summary>
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
                    Refuse(name, $"-{name} is a number of runs of 0 or more, or $null to remove it.", value);
                }
            }
            foreach (var (name, value) in new[] { (nameof(TopUpPackCredits), TopUpPackCredits), (nameof(TopUpPackPrice), TopUpPackPrice) })
            {
                if (Given(name) && value == null)
                {
                    Refuse(name, $"-{name} cannot be removed: a top-up pack always has a size and a price. Give the value from Hex's billing settings, e.g. -{name} {(name == nameof(TopUpPackCredits) ? "100" : "10")}.", null);
                }
            }
            if (FromHistory && Given(nameof(MonthlyAddOnLimit)))
            {
                Refuse(nameof(MonthlyAddOnLimit), "-FromHistory computes the monthly add-on limit, and -MonthlyAddOnLimit gives one: use one of them.", MonthlyAddOnLimit);
            }
            var thresholds = Given(nameof(AlertThreshold)) ? Thresholds(AlertThreshold) : null;

            var store = new SpendPolicyStore(Account);
            SpendPolicy current;
            try
            {
                current = Await(store.LoadAsync(StopToken));
            }
            catch (HexException error) when (!(error is StateStoreException) || error.Kind == HexErrorKind.StateCorrupt)
            {
                ThrowTerminatingError(HexErrors.SpendPolicyCorrupt.Record(error, store.PolicyLocation));
                return;
            }
            var comparesSpend = FromHistory || MonthlyAddOnLimit.HasValue;
            var snapshot = comparesSpend ? CurrentReading(store) : null;

            var limit = Given(nameof(MonthlyAddOnLimit)) ? MonthlyAddOnLimit : current.MonthlyAddOnLimit;
            if (FromHistory)
            {
                if (snapshot == null)
                {
                    ThrowTerminatingError(HexErrors.NoCreditHistory.Record(new InvalidOperationException(
                        "-FromHistory needs a credit projection of this billing cycle: run Get-HexCreditBalance -Plan <plan> -Workspace first."), null));
                    return;
                }
                limit = Math.Round(snapshot.ProjectedAddOnSpend * 0.9m, 2);
                WriteVerbose($"90 % of the projected add-on spend ({snapshot.ProjectedAddOnSpend.ToString("0.##", CultureInfo.InvariantCulture)}, {snapshot.Describe()}) is {limit.Value.ToString("0.##", CultureInfo.InvariantCulture)}.");
                if (limit == 0)
                {
                    WriteWarning("The projected add-on spend of this cycle is 0, so -FromHistory sets a monthly add-on limit of 0: no auto top-up would be bought at all. Give -MonthlyAddOnLimit instead if top-ups should stay possible.");
                }
            }

            var updated = new SpendPolicy
            {
                MonthlyAddOnLimit = limit,
                AlertThreshold = thresholds ?? current.AlertThreshold,
                WeeklyRunBudget = Given(nameof(WeeklyRunBudget)) ? WeeklyRunBudget : current.WeeklyRunBudget,
                MaxRunsPerProjectPerWeek = Given(nameof(MaxRunsPerProjectPerWeek)) ? MaxRunsPerProjectPerWeek : current.MaxRunsPerProjectPerWeek,
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

            var spent = snapshot?.AddOnSpend ?? 0m;
            if (updated.MonthlyAddOnLimit.HasValue && updated.MonthlyAddOnLimit < spent && !Force)
            {
                // A high-impact change: ask even when $ConfirmPreference would not, unless -Force.
                var question = $"The new monthly add-on limit {updated.MonthlyAddOnLimit.Value.ToString("0.##", CultureInfo.InvariantCulture)} is below the {spent.ToString("0.##", CultureInfo.InvariantCulture)} already spent this cycle: no more top-ups would be bought.";
                bool confirmed;
                try
                {
                    // With a security impact the default answer is No: a console whose input has ended (a runbook with stdin
                    // closed) declines instead of taking the default Yes of a plain ShouldContinue.
                    bool yesToAll = false, noToAll = false;
                    confirmed = ShouldContinue(question + " Continue?", "Lower the add-on limit below current spend", true, ref yesToAll, ref noToAll);
                }
                catch (Exception error) when (error is System.Management.Automation.Host.HostException || error is PSInvalidOperationException || error is NotImplementedException)
                {
                    ThrowTerminatingError(HexErrors.ConfirmationRequired.Record(new InvalidOperationException(question + " This host cannot ask; run again with -Force to confirm.", error), updated.MonthlyAddOnLimit));
                    return;
                }
                if (!confirmed)
                {
                    WriteWarning("The spend policy was not changed: the question was answered No. Run again with -Force to lower the limit without a question.");
                    return;
                }
            }

            try
            {
                Await(store.SaveAsync(updated, StopToken));
                WriteVerbose(updated.SetInHex);
                if (PassThru) WriteTypedObject(Await(store.LoadAsync(StopToken)), "HexCost.SpendPolicy");
            }
            catch (HexException error)
            {
                ThrowTerminatingError(HexErrors.Record(error, store.PolicyLocation));
            }
        }

        private bool Given(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

        private void Refuse(string parameter, string message, object? value) =>
            ThrowTerminatingError(HexErrors.InvalidSpendPolicy.Record(new ArgumentException(message, parameter), value));

        /// <summary>-AlertThreshold as the policy keeps it ("80,90,100"): whole percentages from 1 to 1000, sorted, once each.
        /// Fractions (0.8) are refused with the percentages they stand for, never rounded to 1 %.</summary>
        private string Thresholds(double[]? given)
        {
            var values = given ?? Array.Empty<double>();
            if (values.Length == 0)
            {
                Refuse(nameof(AlertThreshold), "-AlertThreshold needs at least one percentage, e.g. -AlertThreshold 80,90,100.", given);
            }
            string Text(double t) => t.ToString("0.###", CultureInfo.InvariantCulture);
            var fractions = values.Where(t => t > 0 && t < 1).ToList();
            if (fractions.Count > 0)
            {
                var meant = string.Join(",", values.Select(t => t > 0 && t <= 1 ? Text(t * 100) : Text(t)));
                Refuse(nameof(AlertThreshold), $"-AlertThreshold takes percentages, and {string.Join(",", fractions.Select(Text))} looks like a fraction: "
                                               + $"for {meant} % write -AlertThreshold {meant}.", given);
            }
            foreach (var t in values)
            {
                if (double.IsNaN(t) || t < 1 || t > 1000 || t != Math.Floor(t))
                    Refuse(nameof(AlertThreshold), $"-AlertThreshold {Text(t)} is not a whole percentage from 1 to 1000. Give percentages such as -AlertThreshold 80,90,100.", given);
            }
            return string.Join(",", values.Select(t => (int)t).Distinct().OrderBy(t => t).Select(t => t.ToString(CultureInfo.InvariantCulture)));
        }

        /// <summary>The cached credit reading, if it is of this billing cycle. An older one is said (with its date) and not used;
        /// a damaged one too (it is a cache: Get-HexCreditBalance -Workspace writes a new one).</summary>
        private CreditSnapshot? CurrentReading(SpendPolicyStore store)
        {
            CreditSnapshot? snapshot;
            try
            {
                snapshot = Await(store.LoadSnapshotAsync(StopToken));
            }
            catch (HexException error)
            {
                WriteWarning($"{error.Message} Not used: run Get-HexCreditBalance -Plan <plan> -Workspace to take a new reading.");
                return null;
            }
            if (snapshot == null || snapshot.IsCurrent(Account.Time.GetUtcNow().UtcDateTime)) return snapshot;
            WriteWarning($"The last credit reading ({snapshot.Describe()}) is not of this billing cycle, so its add-on spend and projection are not used. "
                         + "Run Get-HexCreditBalance -Plan <plan> -Workspace for this cycle's.");
            return null;
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
                foreach (var change in Await(store.HistoryAsync(StopToken))) WriteTypedObject(change, "HexCost.SpendPolicyChange");
                return;
            }
            try
            {
                WriteTypedObject(Await(store.LoadAsync(StopToken)), "HexCost.SpendPolicy");
            }
            catch (HexException error) when (!(error is StateStoreException) || error.Kind == HexErrorKind.StateCorrupt)
            {
                ThrowTerminatingError(HexErrors.SpendPolicyCorrupt.Record(error, store.PolicyLocation));
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
        [WholeNumber]
        public int Days { get; set; } = 7;

        protected override void EndProcessing()
        {
            var to = Account.Time.GetUtcNow();
            var from = to - TimeSpan.FromDays(Days);
            SpendPolicy policy;
            try
            {
                policy = Await(new SpendPolicyStore(Account).LoadAsync(StopToken));
            }
            catch (HexException error) when (!(error is StateStoreException) || error.Kind == HexErrorKind.StateCorrupt)
            {
                ThrowTerminatingError(HexErrors.SpendPolicyCorrupt.Record(error, null));
                return;
            }
            var ledger = Await(Account.State.ReadHistoryAsync(StopToken));
            // When HexCost last saw each run end or cancelled it, at any time: a wait stopped before that left nothing running.
            var lastEnded = ledger.Where(r => (r.Type == LedgerRecordTypes.Complete || r.Type == LedgerRecordTypes.Cancel) && r.RunId != null)
                .GroupBy(r => r.RunId!, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Max(r => r.At), StringComparer.OrdinalIgnoreCase);
            var records = ledger.Where(r => r.At >= from && r.At <= to && r.ProjectId != null);
            foreach (var project in records.GroupBy(r => r.ProjectId!, StringComparer.OrdinalIgnoreCase).OrderBy(g => g.Key, StringComparer.OrdinalIgnoreCase))
            {
                var started = project.Count(LedgerIndex.StartsRun);
                var adopted = project.Count(r => r.Type == LedgerRecordTypes.Adopt);
                var report = new RunReport
                {
                    ProjectId = project.Key,
                    Triggered = started,
                    Adopted = adopted,
                    CacheHits = project.Count(r => r.Type == LedgerRecordTypes.CacheHit),
                    Completed = project.Count(r => r.Type == LedgerRecordTypes.Complete && r.Status == RunStatuses.Completed),
                    Failed = project.Count(r => r.Type == LedgerRecordTypes.Complete && RunStatuses.IsFailure(r.Status)),
                    Forced = project.Count(r => (r.Type == LedgerRecordTypes.Trigger || r.Type == LedgerRecordTypes.Adopt) && r.Forced == true),
                    LeftRunning = project.Where(r => r.Type == LedgerRecordTypes.WaitStopped && r.RunId != null)
                        .GroupBy(r => r.RunId!, StringComparer.OrdinalIgnoreCase)
                        .Count(g => !lastEnded.TryGetValue(g.Key, out var ended) || ended < g.Max(r => r.At)),
                    ThrottledSeconds = Math.Round(project.Where(r => r.Type == LedgerRecordTypes.Trigger || r.Type == LedgerRecordTypes.Adopt).Sum(r => r.ThrottledSeconds ?? 0), 3),
                    PercentOfBudget = policy.MaxRunsPerProjectPerWeek is int cap && cap > 0 ? Math.Round(started * 100d / (cap * Days / 7d), 1) : (double?)null,
                    From = from.UtcDateTime,
                    To = to.UtcDateTime,
                };
                WriteTypedObject(report, "HexCost.RunReport");
            }
        }
    }
}
