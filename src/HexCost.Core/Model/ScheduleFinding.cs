using System;

namespace HexCost.Model
{
    /// <summary>One audit finding: flat for Export-Csv. PSTypeName HexCost.ScheduleFinding.</summary>
    public sealed class ScheduleFinding
    {
        /// <summary>OverScheduled, RunBudgetOverrun, Abandoned, ScheduledButArchived, FailingSchedule, ScheduleCollision,
        /// DuplicateProject, IdleEditorSeat or DisabledSchedule.</summary>
        public string Rule { get; set; } = "";
        /// <summary>Info, Warning or Critical.</summary>
        public string Severity { get; set; } = "";
        public string? ProjectId { get; set; }
        public string? ProjectTitle { get; set; }
        public string? Owner { get; set; }
        public string? Cadence { get; set; }
        public double? RunsPerWeek { get; set; }
        public string? RecommendedCadence { get; set; }
        public double EstimatedRunsSavedPerWeek { get; set; }
        /// <summary>Money saved a month (seat rules); null where no price applies.</summary>
        public decimal? EstimatedMonthlySavings { get; set; }
        public string Evidence { get; set; } = "";
        public DateTime DetectedAt { get; set; }

        public override string ToString() => $"{Rule} {Severity} {ProjectTitle ?? Owner}";
    }
}
