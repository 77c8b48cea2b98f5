using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Ledger;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Audit
{
    /// <summary>Each rule, positive and negative, in an emulated workspace that holds only the projects a test adds.</summary>
    public class ScheduleAuditTests
    {
        private static Task<HexWorld> EmptyWorld(Action<EmulatorOptions>? configure = null) => HexWorld.StartAsync(o =>
        {
            o.ProjectCount = 0;
            configure?.Invoke(o);
        });

        /// <summary>A project that is viewed, published and scheduled as given: no findings but the ones a test provokes.</summary>
        private static EmulatorProject Project(HexWorld world, string title, params EmulatorSchedule[] schedules) =>
            world.NewProject(title, p =>
            {
                p.Schedules = schedules;
                p.AppViews = new EmulatorAppViews(100, 10, 20, 40);
                p.LastViewedAt = TestClock.Now.AddDays(-1);
            });

        private static List<PSObject> Audit(PsHost host, string arguments = "", params object?[] args)
        {
            var result = host.Run("Get-HexScheduleAudit " + arguments, args);
            result.ThrowIfErrors();
            return result.Output;
        }

        private static PSObject Only(List<PSObject> findings, string rule, string? projectId = null) =>
            Assert.Single(findings, f => f.Prop<string>("Rule") == rule && (projectId == null || f.Prop<string>("ProjectId") == projectId));

        [Fact]
        public async Task OverScheduled_hourly_on_daily_data_saves_161_runs_a_week()
        {
            await using var world = await EmptyWorld();
            var hourly = Project(world, "Hourly KPIs", EmulatorSchedule.Hourly(5));
            var daily = Project(world, "Daily KPIs", EmulatorSchedule.Daily(6, 0));
            using var host = world.Connected();
            var findings = Audit(host, "-Rule OverScheduled");
            var finding = Only(findings, "OverScheduled");
            Assert.Equal(hourly.Id, finding.Prop<string>("ProjectId"));
            Assert.Equal(168d, finding.Prop<double?>("RunsPerWeek"));
            Assert.Equal(161d, finding.Prop<double>("EstimatedRunsSavedPerWeek"));
            Assert.Equal("DAILY", finding.Prop<string>("RecommendedCadence"));
            Assert.Equal("Critical", finding.Prop<string>("Severity"));
            Assert.Null(finding.Prop<decimal?>("EstimatedMonthlySavings"));
            Assert.Contains("168", finding.Prop<string>("Evidence"));
            Assert.DoesNotContain(findings, f => f.Prop<string>("ProjectId") == daily.Id);
            Shape.AssertFlat(finding);
            Assert.Contains("HexCost.ScheduleFinding", finding.TypeNames);
        }

        [Fact]
        public async Task The_refresh_interval_comes_from_the_override_then_the_ledger_then_the_default()
        {
            await using var world = await EmptyWorld();
            var learned = Project(world, "Learned", EmulatorSchedule.Hourly(0));
            var overridden = Project(world, "Overridden", EmulatorSchedule.Hourly(0));
            var defaulted = Project(world, "Defaulted", EmulatorSchedule.Daily(3, 0));
            using var host = world.Connected();
            host.Run("Get-HexProject | Out-Null").ThrowIfErrors();
            // The ledger saw the source version of both hourly projects change every 6 hours.
            var dir = System.IO.Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);
            var start = TestClock.Now.AddDays(-2);
            foreach (var id in new[] { learned.Id, overridden.Id })
                for (var i = 0; i < 8; i++)
                    LedgerFile.AppendRaw(dir, new LedgerRecord { Type = LedgerRecordTypes.CacheHit, At = start.AddHours(6 * i), ProjectId = id, SourceVersion = "v" + i });

            var findings = Audit(host, "-Rule OverScheduled -DataRefreshInterval $args[0]", new Hashtable { [overridden.Id] = "1h", ["Default"] = "1w" });
            var fromLedger = Only(findings, "OverScheduled", learned.Id);
            Assert.Equal(140d, fromLedger.Prop<double>("EstimatedRunsSavedPerWeek"));
            Assert.Equal("CUSTOM (0 */6 * * *)", fromLedger.Prop<string>("RecommendedCadence"));
            Assert.Contains("learned from 7 source-version changes", fromLedger.Prop<string>("Evidence"));
            Assert.DoesNotContain(findings, f => f.Prop<string>("ProjectId") == overridden.Id);
            var fromDefault = Only(findings, "OverScheduled", defaulted.Id);
            Assert.Equal(6d, fromDefault.Prop<double>("EstimatedRunsSavedPerWeek"));
            Assert.Equal("WEEKLY", fromDefault.Prop<string>("RecommendedCadence"));
        }

        [Fact]
        public async Task RunBudgetOverrun_counts_scheduled_plus_API_runs()
        {
            await using var world = await EmptyWorld();
            var over = Project(world, "Busy", EmulatorSchedule.Daily(1, 0));
            var within = Project(world, "Fine", EmulatorSchedule.Daily(2, 0));
            var now = TestClock.Now;
            for (var i = 0; i < 56; i++) world.Workspace.AddRun(over.Id, "API", now.AddHours(-11 * (i + 1)));  // 14 a week
            for (var i = 0; i < 52; i++) world.Workspace.AddRun(within.Id, "API", now.AddHours(-12 * (i + 1))); // 13 a week
            using var host = world.Connected();
            var findings = Audit(host, "-Rule RunBudgetOverrun");
            var finding = Only(findings, "RunBudgetOverrun");
            Assert.Equal(over.Id, finding.Prop<string>("ProjectId"));
            Assert.Equal(1d, finding.Prop<double>("EstimatedRunsSavedPerWeek"));
            Assert.Contains("21 runs a week (7 scheduled + 14 API", finding.Prop<string>("Evidence"));
            Assert.Empty(Audit(host, "-Rule RunBudgetOverrun -MaxRunsPerWeek 21"));
        }

        [Fact]
        public async Task Abandoned_needs_no_views_and_an_old_last_view()
        {
            await using var world = await EmptyWorld();
            var abandoned = Project(world, "Forgotten", EmulatorSchedule.Daily(4, 0));
            abandoned.AppViews = new EmulatorAppViews(50, 0, 0, 0);
            abandoned.LastViewedAt = TestClock.Now.AddDays(-60);
            var recentlyViewed = Project(world, "Glanced at", EmulatorSchedule.Daily(4, 0));
            recentlyViewed.AppViews = new EmulatorAppViews(50, 0, 0, 0);
            recentlyViewed.LastViewedAt = TestClock.Now.AddDays(-10);
            Project(world, "Popular", EmulatorSchedule.Daily(4, 0));
            using var host = world.Connected();
            var finding = Only(Audit(host, "-Rule Abandoned"), "Abandoned");
            Assert.Equal(abandoned.Id, finding.Prop<string>("ProjectId"));
            Assert.Equal(7d, finding.Prop<double>("EstimatedRunsSavedPerWeek"));
            Assert.Equal("DISABLED", finding.Prop<string>("RecommendedCadence"));
            Assert.Contains("60 days ago", finding.Prop<string>("Evidence"));
            Assert.Equal(2, Audit(host, "-Rule Abandoned -IdleDays 7").Count);
        }

        [Fact]
        public async Task ScheduledButArchived_catches_archived_trashed_and_never_published_projects_that_still_fire()
        {
            await using var world = await EmptyWorld();
            var archived = Project(world, "Old", EmulatorSchedule.Weekly("MONDAY", 1, 0));
            archived.ArchivedAt = TestClock.Now.AddDays(-3);
            var trashed = Project(world, "Binned", EmulatorSchedule.Daily(1, 0));
            trashed.TrashedAt = TestClock.Now.AddDays(-3);
            var draft = Project(world, "Draft", EmulatorSchedule.Hourly(0));
            draft.LastPublishedAt = null;
            var quiet = Project(world, "Archived and off", EmulatorSchedule.Daily(1, 0, enabled: false));
            quiet.ArchivedAt = TestClock.Now.AddDays(-3);
            Project(world, "Live", EmulatorSchedule.Daily(1, 0));
            using var host = world.Connected();
            var findings = Audit(host, "-Rule ScheduledButArchived");
            Assert.Equal(new[] { draft.Id, trashed.Id, archived.Id }, findings.Select(f => f.Prop<string>("ProjectId")));
            Assert.All(findings, f => Assert.Equal("Critical", f.Prop<string>("Severity")));
            Assert.Equal(new[] { 168d, 7d, 1d }, findings.Select(f => f.Prop<double>("EstimatedRunsSavedPerWeek")));
            Assert.Contains("never published", findings[0].Prop<string>("Evidence"));
            var info = Only(Audit(host, "-Rule DisabledSchedule"), "DisabledSchedule");
            Assert.Equal(quiet.Id, info.Prop<string>("ProjectId"));
            Assert.Equal("Info", info.Prop<string>("Severity"));
            Assert.Equal(0d, info.Prop<double?>("RunsPerWeek"));
        }

        [Fact]
        public async Task FailingSchedule_flags_a_schedule_whose_runs_mostly_fail()
        {
            await using var world = await EmptyWorld();
            var failing = Project(world, "Flaky", EmulatorSchedule.Daily(5, 0));
            var healthy = Project(world, "Solid", EmulatorSchedule.Daily(5, 30));
            var now = TestClock.Now;
            string[] failingOutcomes = { "ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL", "COMPLETED" };
            string[] healthyOutcomes = { "ERRORED", "COMPLETED", "COMPLETED", "COMPLETED" };
            for (var i = 0; i < 4; i++)
            {
                world.Workspace.AddRun(failing.Id, "SCHEDULED", now.AddDays(-(i + 1)).AddHours(-12), failingOutcomes[i]); // mid-day: clear of any look-back edge
                world.Workspace.AddRun(healthy.Id, "SCHEDULED", now.AddDays(-(i + 1)).AddHours(-12), healthyOutcomes[i]);
            }
            world.Workspace.AddRun(failing.Id, "SCHEDULED", now.AddDays(-40), "COMPLETED"); // outside the look-back
            using var host = world.Connected();
            var finding = Only(Audit(host, "-Rule FailingSchedule"), "FailingSchedule");
            Assert.Equal(failing.Id, finding.Prop<string>("ProjectId"));
            Assert.Equal(0.75, finding.Prop<double>("EstimatedRunsSavedPerWeek")); // 3 failed runs in 4 weeks
            Assert.Equal("Warning", finding.Prop<string>("Severity"));
            Assert.Contains("3 of 4 scheduled runs", finding.Prop<string>("Evidence"));
            Assert.Empty(Audit(host, "-Rule FailingSchedule -Days 2")); // one run in 2 days: too few to judge
        }

        [Fact]
        public async Task ScheduleCollision_recommends_concrete_staggered_minutes()
        {
            await using var world = await EmptyWorld();
            var crowd = Enumerable.Range(0, 7).Select(i => Project(world, "Crowd " + i, EmulatorSchedule.Daily(9, 0))).ToList();
            var five = Enumerable.Range(0, 5).Select(i => Project(world, "Five " + i, EmulatorSchedule.Daily(10, 0))).ToList();
            using var host = world.Connected();
            var findings = Audit(host, "-Rule ScheduleCollision");
            Assert.Equal(2, findings.Count);
            Assert.All(findings, f => Assert.Contains(f.Prop<string>("ProjectId"), crowd.Select(p => p.Id)));
            Assert.Equal(new[] { "DAILY at minute 01", "DAILY at minute 02" }, findings.Select(f => f.Prop<string>("RecommendedCadence")).OrderBy(r => r));
            Assert.Contains("7 schedules fire at", findings[0].Prop<string>("Evidence"));
            Assert.Contains("09:00 UTC (limit 5)", findings[0].Prop<string>("Evidence"));
            Assert.Empty(Audit(host, "-Rule ScheduleCollision -MaxConcurrentSchedules 7"));
        }

        [Fact]
        public async Task IdleEditorSeat_prices_idle_editor_seats_only()
        {
            await using var world = await EmptyWorld();
            var idle = world.Workspace.AddUser("Idle Ed", "idle.ed@example.com", "EDITOR", TestClock.Now.AddDays(-45));
            world.Workspace.AddUser("Busy Bee", "busy@example.com", "EDITOR", TestClock.Now.AddDays(-2));
            world.Workspace.AddUser("Idle Explorer", "explorer@example.com", "EXPLORER", TestClock.Now.AddDays(-90));
            using var host = world.Connected();
            var all = Audit(host, "-Rule IdleEditorSeat -EditorSeatPrice 30");
            var finding = Only(all, "IdleEditorSeat", null!);
            finding = Assert.Single(all, f => f.Prop<string>("Owner") == idle.Email);
            Assert.Equal(30m, finding.Prop<decimal?>("EstimatedMonthlySavings"));
            Assert.Null(finding.Prop<string>("ProjectId"));
            Assert.Contains("45 days ago", finding.Prop<string>("Evidence"));
            Assert.DoesNotContain(all, f => f.Prop<string>("Owner") == "explorer@example.com" || f.Prop<string>("Owner") == "busy@example.com");
        }

        [Fact]
        public async Task An_empty_workspace_audits_to_nothing()
        {
            await using var world = await EmptyWorld();
            using var host = world.Connected();
            Assert.Empty(Audit(host, "-Rule OverScheduled, RunBudgetOverrun, Abandoned, ScheduledButArchived, FailingSchedule, ScheduleCollision, DuplicateProject"));
        }

        [Fact]
        public async Task Piped_projects_are_audited_alone_and_filtered_with_Where_Object()
        {
            await using var world = await EmptyWorld();
            var hourly = Project(world, "Hourly", EmulatorSchedule.Hourly(0));
            Project(world, "Other hourly", EmulatorSchedule.Hourly(30));
            using var host = world.Connected();
            var findings = host.Run("Get-HexProject -ProjectId $args[0] | Get-HexScheduleAudit | Where-Object { $_.Severity -ne 'Info' -and $_.Rule -eq 'OverScheduled' }", hourly.Id)
                .ThrowIfErrors().Output;
            Assert.Equal(hourly.Id, Assert.Single(findings).Prop<string>("ProjectId"));
            Assert.Equal(hourly.Id, Assert.Single(host.Run("$args[0] | Get-HexScheduleAudit -Rule OverScheduled", hourly.Id).ThrowIfErrors().Output).Prop<string>("ProjectId"));
        }

        [Fact]
        public async Task Findings_come_most_savings_first()
        {
            await using var world = await EmptyWorld();
            Project(world, "Weekly on hourly data", EmulatorSchedule.Hourly(0));
            Project(world, "Six-hourly", EmulatorSchedule.Custom("0 */6 * * *"));
            world.Workspace.AddUser("Idle", "idle@example.com", "ADMIN", null);
            using var host = world.Connected();
            var findings = Audit(host);
            var saved = findings.Select(f => f.Prop<double>("EstimatedRunsSavedPerWeek")).ToList();
            Assert.Equal(saved.OrderByDescending(s => s), saved);
            Assert.Equal(161d, saved[0]);
        }

        [Fact]
        public async Task An_unquoted_day_interval_which_PowerShell_reads_as_a_decimal_means_days()
        {
            await using var world = await EmptyWorld();
            var hourly = Project(world, "Hourly", EmulatorSchedule.Hourly(0));
            using var host = world.Connected();
            foreach (var (literal, quoted) in new[] { ("1.5d", "'36h'"), ("2d", "'2d'"), ("@{ Default = 0.5d }", "'12h'") })
            {
                var unquoted = Only(Audit(host, "-Rule OverScheduled -DataRefreshInterval " + literal), "OverScheduled", hourly.Id);
                var expected = Only(Audit(host, "-Rule OverScheduled -DataRefreshInterval " + quoted), "OverScheduled", hourly.Id);
                Assert.Equal(expected.Prop<string>("RecommendedCadence"), unquoted.Prop<string>("RecommendedCadence"));
                Assert.Equal(expected.Prop<double>("EstimatedRunsSavedPerWeek"), unquoted.Prop<double>("EstimatedRunsSavedPerWeek"));
            }
            Assert.NotEqual(
                Only(Audit(host, "-Rule OverScheduled -DataRefreshInterval '36h'"), "OverScheduled", hourly.Id).Prop<string>("RecommendedCadence"),
                Only(Audit(host, "-Rule OverScheduled -DataRefreshInterval '12h'"), "OverScheduled", hourly.Id).Prop<string>("RecommendedCadence"));
        }

        [Fact]
        public async Task A_bad_refresh_interval_is_a_clear_parameter_error()
        {
            await using var world = await EmptyWorld();
            using var host = world.Connected();
            var result = host.Run("Get-HexScheduleAudit -DataRefreshInterval 'daily'");
            Assert.StartsWith("HexInvalidDataRefreshInterval,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("'1d'", result.Terminating!.Exception.Message);
        }
    }
}
