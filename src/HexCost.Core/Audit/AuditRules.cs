using System;
using System.Collections.Generic;
using System.Linq;

namespace HexCost.Audit
{
    /// <summary>One audit rule: its name (what -Rule takes and findings carry) and what it finds (what -Rule's completion and
    /// its error say). A rule registers itself in <see cref="AuditRules.All"/> when it is declared.</summary>
    public sealed class AuditRule
    {
        internal AuditRule(string name, string finds, List<AuditRule> registry)
        {
            Name = name;
            Finds = finds;
            Order = registry.Count;
            registry.Add(this);
        }

        public string Name { get; }

        /// <summary>A short phrase: "more runs than the data refreshes".</summary>
        public string Finds { get; }

        /// <summary>Its place in <see cref="AuditRules.All"/>: which of two equal savings of a project is counted first.</summary>
        public int Order { get; }

        public override string ToString() => Name;
    }

    /// <summary>The registry of audit rules: -Rule's completion and validation, the docs tests and the auditor all read it.
    /// Adding a rule is declaring it here (and writing what it checks in <see cref="ScheduleAuditor"/>).</summary>
    public static class AuditRules
    {
        // Declared first: each rule below adds itself to it, in order.
        private static readonly List<AuditRule> Registry = new List<AuditRule>();

        public static readonly AuditRule OverScheduled = new AuditRule("OverScheduled", "more runs than the data refreshes", Registry);
        public static readonly AuditRule RunBudgetOverrun = new AuditRule("RunBudgetOverrun", "scheduled plus API runs a week above -MaxRunsPerWeek", Registry);
        public static readonly AuditRule Abandoned = new AuditRule("Abandoned", "an enabled schedule on a project nobody views", Registry);
        public static readonly AuditRule ScheduledButArchived = new AuditRule("ScheduledButArchived", "archived, trashed or never-published projects whose schedule fires", Registry);
        public static readonly AuditRule FailingSchedule = new AuditRule("FailingSchedule", "schedules whose runs mostly fail", Registry);
        public static readonly AuditRule ScheduleCollision = new AuditRule("ScheduleCollision", "more than -MaxConcurrentSchedules schedules in one minute", Registry);
        public static readonly AuditRule DuplicateProject = new AuditRule("DuplicateProject", "copies of a project on overlapping schedules", Registry);
        public static readonly AuditRule IdleEditorSeat = new AuditRule("IdleEditorSeat", "Admin, Manager and Editor seats with no login in -IdleDays", Registry);
        public static readonly AuditRule DisabledSchedule = new AuditRule("DisabledSchedule", "disabled schedules left behind (Info)", Registry);

        /// <summary>Every rule, in the order declared.</summary>
        public static IReadOnlyList<AuditRule> All => Registry;

        /// <summary>The names of every rule, comma-separated, as errors list them.</summary>
        public static string Names => string.Join(", ", Registry.Select(r => r.Name));

        /// <summary>The rule of this name (case-insensitive, surrounding spaces ignored), else null.</summary>
        public static AuditRule? Find(string? name)
        {
            var trimmed = name?.Trim();
            return string.IsNullOrEmpty(trimmed) ? null : Registry.FirstOrDefault(r => string.Equals(r.Name, trimmed, StringComparison.OrdinalIgnoreCase));
        }
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
        public ISet<AuditRule>? Rules { get; set; }
        /// <summary>The audit's "now"; null = the account's clock.</summary>
        public DateTimeOffset? Now { get; set; }

        public bool Applies(AuditRule rule) => Rules == null || Rules.Count == 0 || Rules.Contains(rule);
    }
}
