using System;
using System.Collections.Generic;

namespace HexCost.Audit
{
    public static class AuditRules
    {
        public const string OverScheduled = "OverScheduled";
        public const string RunBudgetOverrun = "RunBudgetOverrun";
        public const string Abandoned = "Abandoned";
        public const string ScheduledButArchived = "ScheduledButArchived";
        public const string FailingSchedule = "FailingSchedule";
        public const string ScheduleCollision = "ScheduleCollision";
        public const string DuplicateProject = "DuplicateProject";
        public const string IdleEditorSeat = "IdleEditorSeat";
        public const string DisabledSchedule = "DisabledSchedule";

        public static readonly IReadOnlyList<string> All = new[]
        {
            OverScheduled, RunBudgetOverrun, Abandoned, ScheduledButArchived, FailingSchedule, ScheduleCollision, DuplicateProject, IdleEditorSeat, DisabledSchedule,
        };
    }

    public static class Severities
    {
        public const string Info = "Info";
        public const string Warning = "Warning";
        public const string Critical = "Critical";

        public static int Rank(string severity) => severity == Critical ? 2 : severity == Warning ? 1 : 0;
    }

    public sealed class ScheduleAuditOptions
    {
        /// <summary>How far back runs are read (the -Days look-back).</summary>
        public TimeSpan LookBack { get; set; } = TimeSpan.FromDays(28);
        public TimeSpan DefaultRefreshInterval { get; set; } = TimeSpan.FromDays(1);
        /// <summary>Per-project data refresh intervals; they win over what the ledger learned and the default.</summary>
        public IDictionary<string, TimeSpan> RefreshOverrides { get; set; } = new Dictionary<string, TimeSpan>(StringComparer.OrdinalIgnoreCase);
        public double MaxRunsPerWeek { get; set; } = 20;
        public int IdleDays { get; set; } = 30;
        public int MaxConcurrentSchedules { get; set; } = 5;
        public decimal EditorSeatPrice { get; set; } = 28m;
        /// <summary>The rules to apply; null or empty = all.</summary>
        public ISet<string>? Rules { get; set; }
        /// <summary>The audit's "now"; null = the account's clock.</summary>
        public DateTimeOffset? Now { get; set; }

        public bool Applies(string rule) => Rules == null || Rules.Count == 0 || Rules.Contains(rule);
    }
}
