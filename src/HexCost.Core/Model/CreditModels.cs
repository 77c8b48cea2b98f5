using System;

namespace HexCost.Model
{
    /// <summary>One user's credits this billing cycle. PSTypeName HexCost.CreditBalance.</summary>
    public sealed class CreditBalance
    {
        public string UserId { get; set; } = "";
        public string? Email { get; set; }
        public string? Role { get; set; }
        public string SeatType { get; set; } = "";
        public decimal MonthlyGrant { get; set; }
        public decimal CreditsUsed { get; set; }
        public decimal GrantRemaining { get; set; }
        public decimal DrawnFromPool { get; set; }
        /// <summary>Linear burn-rate forecast of the whole cycle's use (an estimate).</summary>
        public decimal ProjectedCycleUse { get; set; }
        /// <summary>When the grant ran out, or will at the current rate; null if not within the cycle.</summary>
        public DateTime? ProjectedExhaustionDate { get; set; }
        public DateTime CycleStart { get; set; }
        public DateTime CycleEnd { get; set; }
        /// <summary>Where CreditsUsed came from: Threads (Hex's ListThreads creditsUsed), Import (usage exports), Threads+Import, or None.</summary>
        public string UsageSource { get; set; } = "";
    }

    /// <summary>The workspace's credits this billing cycle. PSTypeName HexCost.CreditSummary.</summary>
    public sealed class CreditSummary
    {
        public string Plan { get; set; } = "";
        public int EditorSeats { get; set; }
        public int ExplorerSeats { get; set; }
        public int OtherSeats { get; set; }
        public decimal TotalGrant { get; set; }
        public decimal TotalUsed { get; set; }
        public decimal PoolDrawn { get; set; }
        public decimal RolledOverCredits { get; set; }
        public decimal AddOnCreditsBought { get; set; }
        public decimal AddOnSpend { get; set; }
        public decimal? SpendLimit { get; set; }
        public decimal? PercentOfLimit { get; set; }
        public decimal ProjectedAddOnSpend { get; set; }
        public decimal UnfundedCredits { get; set; }
        /// <summary>None, or the highest alert threshold crossed, e.g. 90%.</summary>
        public string AlertLevel { get; set; } = "None";
        public DateTime CycleStart { get; set; }
        public DateTime CycleEnd { get; set; }
        public string UsageSource { get; set; } = "";
        public string Evidence { get; set; } = "";
    }

    /// <summary>The spend policy HexCost keeps and enforces. PSTypeName HexCost.SpendPolicy.</summary>
    public sealed class SpendPolicy
    {
        public decimal? MonthlyAddOnLimit { get; set; }
        /// <summary>Percent thresholds, e.g. 80,90,100.</summary>
        public string AlertThreshold { get; set; } = "80,90,100";
        public int? WeeklyRunBudget { get; set; }
        public int? MaxRunsPerProjectPerWeek { get; set; }
        public decimal TopUpPackCredits { get; set; } = 100;
        public decimal TopUpPackPrice { get; set; } = 10;
        public string? ChangedBy { get; set; }
        public DateTime? ChangedAt { get; set; }
        /// <summary>What HexCost itself enforces (on runs it triggers).</summary>
        public string HexEnforced { get; set; } = "";
        /// <summary>What must also be set in Hex's UI, with the value to type there.</summary>
        public string SetInHex { get; set; } = "";
    }

    /// <summary>One change of the spend policy. PSTypeName HexCost.SpendPolicyChange.</summary>
    public sealed class SpendPolicyChange
    {
        public DateTime ChangedAt { get; set; }
        public string? ChangedBy { get; set; }
        public string Field { get; set; } = "";
        public string? OldValue { get; set; }
        public string? NewValue { get; set; }
    }

    /// <summary>Runs of one project over a period, from the ledger. PSTypeName HexCost.RunReport.</summary>
    public sealed class RunReport
    {
        public string ProjectId { get; set; } = "";
        public int Triggered { get; set; }
        public int CacheHits { get; set; }
        public int Adopted { get; set; }
        public int Completed { get; set; }
        public int Failed { get; set; }
        /// <summary>Triggers that went over a run budget with -IgnoreRunBudget.</summary>
        public int Forced { get; set; }
        /// <summary>Runs whose -Wait was stopped (Ctrl+C) while they were still in flight, and that HexCost has not seen end or
        /// cancelled since: they went on in Hex, unwatched.</summary>
        public int LeftRunning { get; set; }
        public double ThrottledSeconds { get; set; }
        /// <summary>Triggered as a percentage of the project's weekly cap scaled to the period; null without a cap.</summary>
        public double? PercentOfBudget { get; set; }
        public DateTime From { get; set; }
        public DateTime To { get; set; }
    }

    /// <summary>What one usage file import did. PSTypeName HexCost.CreditUsageImport.</summary>
    public sealed class CreditUsageImport
    {
        public string Path { get; set; } = "";
        public int Rows { get; set; }
        public int Imported { get; set; }
        public int Duplicates { get; set; }
        public int Rejected { get; set; }
        public decimal CreditsImported { get; set; }
    }
}
