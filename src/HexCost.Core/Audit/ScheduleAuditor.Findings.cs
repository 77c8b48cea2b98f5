using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using HexCost.Model;

namespace HexCost.Audit
{
    // What the audit holds between a project's audit and the output: per project a few fields, per finding the values its
    // text is made of. The ScheduleFinding rows (and their Evidence) are built only as they are written.
    public sealed partial class ScheduleAuditor
    {
        /// <summary>What the findings and the rules across projects need of an audited project.</summary>
        private sealed class AuditedProject
        {
            public AuditedProject(string projectId, string? title, string? owner, string cadence, double runsPerWeek, int appViews, DateTime createdAtUtc, bool published)
            {
                ProjectId = projectId;
                Title = title;
                Owner = owner;
                Cadence = cadence;
                RunsPerWeek = runsPerWeek;
                AppViews = appViews;
                CreatedAtUtc = createdAtUtc;
                Published = published;
            }

            public string ProjectId { get; }
            public string? Title { get; }
            public string? Owner { get; }
            /// <summary>The distinct cadences of the enabled schedules (of all schedules when none is enabled), e.g. HOURLY;DAILY.</summary>
            public string Cadence { get; }
            /// <summary>Of the enabled schedules.</summary>
            public double RunsPerWeek { get; }
            /// <summary><see cref="RunsPerWeek"/> as findings show it (2 decimals): what the project's savings add up to at most.</summary>
            public double ScheduledRuns => Math.Round(RunsPerWeek, 2);
            /// <summary>In the last 30 days.</summary>
            public int AppViews { get; }
            /// <summary><see cref="DateTime.MaxValue"/> when Hex did not say.</summary>
            public DateTime CreatedAtUtc { get; }
            public bool Published { get; }

            public string[] Cadences => Cadence.Split(';');
        }

        /// <summary>An enabled schedule, as the collision rule needs it.</summary>
        private readonly struct ScheduleEntry
        {
            public ScheduleEntry(AuditedProject project, string cadence, string fireCron, string? timezone, int minutePastHour, double runsPerWeek)
            {
                Project = project;
                Cadence = cadence;
                FireCron = fireCron;
                Timezone = timezone;
                MinutePastHour = minutePastHour;
                RunsPerWeek = runsPerWeek;
            }

            public AuditedProject Project { get; }
            public string Cadence { get; }
            /// <summary>See <see cref="ScheduleMath.FireCron"/>.</summary>
            public string FireCron { get; }
            public string? Timezone { get; }
            /// <summary>The minute past the hour it fires at, where a recommended move starts from.</summary>
            public int MinutePastHour { get; }
            public double RunsPerWeek { get; }
        }

        /// <summary>A finding until it is written: its sort keys, and in each rule's subclass the values its text is made of.</summary>
        private abstract class PendingFinding
        {
            private double? _counted;
            private string? _countedAfter;

            protected PendingFinding(AuditRule rule, string severity, AuditedProject? project)
            {
                Rule = rule;
                Severity = severity;
                Project = project;
            }

            public AuditRule Rule { get; }
            public string Severity { get; }
            public AuditedProject? Project { get; }
            public virtual decimal? MonthlySavings => null;
            /// <summary>The last sort key: the project's title, else who the finding is about.</summary>
            public virtual string? Name => Project!.Title ?? Project.Owner;

            /// <summary>What this fix alone saves a week, at most the project's scheduled runs.</summary>
            public double StandaloneSaving => Project == null ? 0 : Within(Project.ScheduledRuns);

            /// <summary>What it saves counted once with the project's other findings (<see cref="CountWithin"/>), else alone.</summary>
            public double RunsSavedPerWeek => _counted ?? StandaloneSaving;

            /// <summary>Counts this finding's saving on the <paramref name="scheduledRuns"/> a week that the project's bigger
            /// fixes (<paramref name="after"/>, e.g. "Abandoned and OverScheduled") leave.</summary>
            public void CountWithin(double scheduledRuns, string? after)
            {
                _counted = Within(scheduledRuns);
                _countedAfter = after;
            }

            /// <summary>Runs a week this fix saves when the project runs <paramref name="scheduledRuns"/> a week: by default all of
            /// them (the fix disables or consolidates the schedules).</summary>
            protected virtual double SavingWithin(double scheduledRuns) => scheduledRuns;

            private double Within(double scheduledRuns) => Math.Round(Math.Max(0, Math.Min(scheduledRuns, SavingWithin(scheduledRuns))), 2);

            /// <summary>Said in Evidence when the finding counts less than it saves alone.</summary>
            protected string CountedOnce => _countedAfter == null || RunsSavedPerWeek >= StandaloneSaving ? ""
                : $" Counted once: {ScheduleMath.Format(StandaloneSaving)} runs a week on its own, {ScheduleMath.Format(RunsSavedPerWeek)} beyond what {_countedAfter} already save{(_countedAfter.Contains(" and ") ? "" : "s")}.";

            public abstract ScheduleFinding Build(ScheduleAuditor audit);

            /// <summary>A finding on the project as a whole: all its enabled schedules' cadences and runs.</summary>
            protected ScheduleFinding ProjectFinding(ScheduleAuditor audit, string? recommendedCadence, string evidence) => new ScheduleFinding
            {
                Rule = Rule.Name, Severity = Severity, ProjectId = Project!.ProjectId, ProjectTitle = Project.Title, Owner = Project.Owner,
                Cadence = Project.Cadence, RunsPerWeek = Project.ScheduledRuns, RecommendedCadence = recommendedCadence,
                EstimatedRunsSavedPerWeek = RunsSavedPerWeek, Evidence = evidence + CountedOnce, DetectedAt = audit._now.UtcDateTime,
            };
        }

        private sealed class DisabledScheduleFinding : PendingFinding
        {
            private readonly int _disabled;
            private readonly string _disabledCadences;

            public DisabledScheduleFinding(AuditedProject project, int disabled, string disabledCadences)
                : base(AuditRules.DisabledSchedule, Severities.Info, project)
            {
                _disabled = disabled;
                _disabledCadences = disabledCadences;
            }

            protected override double SavingWithin(double scheduledRuns) => 0;

            public override ScheduleFinding Build(ScheduleAuditor audit) => ProjectFinding(audit, null,
                $"{Count(_disabled, "disabled schedule")} ({_disabledCadences}) cost nothing and are counted as 0 runs a week; remove them if they are not coming back.");
        }

        private sealed class ScheduledButArchivedFinding : PendingFinding
        {
            private readonly string _state;
            private readonly DateTime? _since;
            private readonly int _enabled;

            /// <param name="state">trashed, archived or never published.</param>
            public ScheduledButArchivedFinding(AuditedProject project, string state, DateTime? since, int enabled)
                : base(AuditRules.ScheduledButArchived, Severities.Critical, project)
            {
                _state = state;
                _since = since;
                _enabled = enabled;
            }

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var inactive = _since == null ? _state : $"{_state} on {Day(_since)}";
                return ProjectFinding(audit, "DISABLED",
                    $"The project is {inactive} but {Count(_enabled, "enabled schedule")} still fire {ScheduleMath.Format(Project!.RunsPerWeek)} runs a week; disable them.");
            }
        }

        private sealed class OverScheduledFinding : PendingFinding
        {
            private readonly TimeSpan _refresh;
            private readonly string _refreshSource;

            public OverScheduledFinding(AuditedProject project, string severity, TimeSpan refresh, string refreshSource)
                : base(AuditRules.OverScheduled, severity, project)
            {
                _refresh = refresh;
                _refreshSource = refreshSource;
            }

            private double RefreshRuns => 7d / _refresh.TotalDays;

            protected override double SavingWithin(double scheduledRuns) => scheduledRuns - RefreshRuns;

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var runsPerWeek = Project!.RunsPerWeek;
                return ProjectFinding(audit, ScheduleMath.CadenceFor(_refresh),
                    $"Scheduled {ScheduleMath.Format(runsPerWeek)} runs a week ({Project.Cadence}) but the data refreshes every {ScheduleMath.Format(_refresh)} ({_refreshSource}), so {ScheduleMath.Format(RefreshRuns)} runs a week would do; {ScheduleMath.Format(runsPerWeek - RefreshRuns)} runs a week see no new data.");
            }
        }

        private sealed class AbandonedFinding : PendingFinding
        {
            private readonly DateTimeOffset? _lastViewed;

            public AbandonedFinding(AuditedProject project, DateTimeOffset? lastViewed)
                : base(AuditRules.Abandoned, Severities.Warning, project)
            {
                _lastViewed = lastViewed;
            }

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var seen = _lastViewed == null ? "has never been viewed" : $"was last viewed {Math.Floor((audit._now - _lastViewed.Value).TotalDays)} days ago";
                return ProjectFinding(audit, "DISABLED",
                    $"No app views in {audit._options.IdleDays} days and the project {seen}, yet it runs {ScheduleMath.Format(Project!.RunsPerWeek)} times a week; disable the schedule.");
            }
        }

        private sealed class FailingScheduleFinding : PendingFinding
        {
            private readonly double _failedPerWeek;
            private readonly int _failed;
            private readonly int _scheduled;

            public FailingScheduleFinding(AuditedProject project, string severity, double failedPerWeek, int failed, int scheduled)
                : base(AuditRules.FailingSchedule, severity, project)
            {
                _failedPerWeek = failedPerWeek;
                _failed = failed;
                _scheduled = scheduled;
            }

            /// <summary>Fewer scheduled runs, proportionally fewer failures.</summary>
            protected override double SavingWithin(double scheduledRuns) =>
                Project!.ScheduledRuns <= 0 ? 0 : _failedPerWeek * Math.Min(1, scheduledRuns / Project.ScheduledRuns);

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var share = (double)_failed / _scheduled;
                return ProjectFinding(audit, null,
                    $"{_failed} of {_scheduled} scheduled runs in the last {Days(audit._options.LookBack)} days ended ERRORED, KILLED or UNABLE_TO_ALLOCATE_KERNEL ({Math.Round(share * 100)} %): compute spent for nothing. Fix the project or pause the schedule.");
            }
        }

        private sealed class RunBudgetOverrunFinding : PendingFinding
        {
            private readonly int _apiRuns;
            private readonly double _apiPerWeek;
            private readonly double _budget;

            public RunBudgetOverrunFinding(AuditedProject project, string severity, int apiRuns, double apiPerWeek, double budget)
                : base(AuditRules.RunBudgetOverrun, severity, project)
            {
                _apiRuns = apiRuns;
                _apiPerWeek = apiPerWeek;
                _budget = budget;
            }

            /// <summary>Only the schedule's runs can be saved by a schedule: the excess over the budget, at most all of them.</summary>
            protected override double SavingWithin(double scheduledRuns) => scheduledRuns + _apiPerWeek - _budget;

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var options = audit._options;
                var runsPerWeek = Project!.RunsPerWeek;
                var total = runsPerWeek + _apiPerWeek;
                var apiAlone = _apiPerWeek >= _budget
                    ? $" API runs alone exceed it, so the schedule can save at most its {ScheduleMath.Format(Project.ScheduledRuns)} runs a week."
                    : "";
                return ProjectFinding(audit, RecommendFor(_budget - _apiPerWeek),
                    $"{ScheduleMath.Format(total)} runs a week ({ScheduleMath.Format(runsPerWeek)} scheduled + {ScheduleMath.Format(Math.Round(_apiPerWeek, 2))} API, from {_apiRuns} API runs in {Days(options.LookBack)} days) exceed the budget of {ScheduleMath.Format(_budget)}.{apiAlone}");
            }
        }

        private sealed class ScheduleCollisionFinding : PendingFinding
        {
            private readonly string _cadence;
            private readonly double _runsPerWeek;
            private readonly int _minutePastHour;
            private readonly int _crowdedAt;
            private readonly int _firing;
            private readonly int _limit;
            private readonly int _crowdedMinutes;
            private readonly int _shift;

            /// <param name="crowdedAt">The crowded minute (of the collision span) it is moved out of.</param>
            /// <param name="firing">How many schedules fire then.</param>
            /// <param name="crowdedMinutes">How many crowded minutes this schedule fires in.</param>
            /// <param name="shift">The minutes to move it by; 0 when no minute of the hour has room.</param>
            public ScheduleCollisionFinding(ScheduleEntry schedule, int crowdedAt, int firing, int limit, int crowdedMinutes, int shift)
                : base(AuditRules.ScheduleCollision, Severities.Warning, schedule.Project)
            {
                _cadence = schedule.Cadence;
                _runsPerWeek = schedule.RunsPerWeek;
                _minutePastHour = schedule.MinutePastHour;
                _crowdedAt = crowdedAt;
                _firing = firing;
                _limit = limit;
                _crowdedMinutes = crowdedMinutes;
                _shift = shift;
            }

            protected override double SavingWithin(double scheduledRuns) => 0;

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var newMinute = (_minutePastHour + _shift) % 60;
                return new ScheduleFinding
                {
                    Rule = Rule.Name, Severity = Severity, ProjectId = Project!.ProjectId, ProjectTitle = Project.Title, Owner = Project.Owner,
                    Cadence = _cadence, RunsPerWeek = Math.Round(_runsPerWeek, 2), RecommendedCadence = _shift > 0 ? $"{_cadence} at minute {newMinute:00}" : null,
                    EstimatedRunsSavedPerWeek = RunsSavedPerWeek, DetectedAt = audit._now.UtcDateTime,
                    Evidence = $"{_firing} schedules fire at {ScheduleMath.DescribeMinute(_crowdedAt)} (limit {_limit}){(_crowdedMinutes > 1 ? $", and this one is in {_crowdedMinutes} such crowded minutes a month" : "")}: a connection-pool and 25-kernel risk. "
                               + (_shift > 0 ? $"Move it {_shift} minute{(_shift == 1 ? "" : "s")} later, to minute {newMinute:00}." : "No free minute within the hour: move it to another hour."),
                };
            }
        }

        private sealed class DuplicateProjectFinding : PendingFinding
        {
            private readonly AuditedProject _keeper;
            private readonly bool _sameTables;

            /// <param name="sameTables">Whether Hex told the tables each project reads (and they were the same).</param>
            public DuplicateProjectFinding(AuditedProject project, AuditedProject keeper, bool sameTables)
                : base(AuditRules.DuplicateProject, Severities.Warning, project)
            {
                _keeper = keeper;
                _sameTables = sameTables;
            }

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var project = Project!;
                var bothRun = string.Join("/", project.Cadences.Intersect(_keeper.Cadences, StringComparer.Ordinal));
                var tablesNote = _sameTables ? " and read the same tables" : "";
                return ProjectFinding(audit, "Consolidate into " + _keeper.ProjectId,
                    $"'{project.Title}' and '{_keeper.Title}' ({_keeper.ProjectId}) have the same title, both run {bothRun}{tablesNote}; keeping '{_keeper.Title}' ({_keeper.AppViews} views in 30 days vs {project.AppViews}) saves {ScheduleMath.Format(project.RunsPerWeek)} runs a week.");
            }
        }

        private sealed class IdleEditorSeatFinding : PendingFinding
        {
            private readonly string _user;
            private readonly string _role;
            private readonly DateTimeOffset? _lastLogin;
            private readonly decimal _seatPrice;

            /// <param name="user">The user's email, else id.</param>
            public IdleEditorSeatFinding(string user, string role, DateTimeOffset? lastLogin, decimal seatPrice)
                : base(AuditRules.IdleEditorSeat, Severities.Warning, null)
            {
                _user = user;
                _role = role;
                _lastLogin = lastLogin;
                _seatPrice = seatPrice;
            }

            public override decimal? MonthlySavings => _seatPrice;
            public override string? Name => _user;

            public override ScheduleFinding Build(ScheduleAuditor audit)
            {
                var seen = _lastLogin == null ? "has never logged in" : $"last logged in {Math.Floor((audit._now - _lastLogin.Value).TotalDays)} days ago";
                return new ScheduleFinding
                {
                    Rule = Rule.Name, Severity = Severity, Owner = _user, EstimatedRunsSavedPerWeek = RunsSavedPerWeek,
                    EstimatedMonthlySavings = _seatPrice, RecommendedCadence = null, DetectedAt = audit._now.UtcDateTime,
                    Evidence = $"{_user} ({_role}) {seen} (limit {audit._options.IdleDays} days); an Editor seat costs {_seatPrice.ToString("0.##", CultureInfo.InvariantCulture)} a month: move them to a cheaper seat.",
                };
            }
        }
    }
}
