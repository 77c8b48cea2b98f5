using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Audit
{
    /// <summary>
    /// Several findings of one project can save the same runs. A project's biggest saving counts whole and each other finding
    /// only what it saves beyond the bigger ones, so summing EstimatedRunsSavedPerWeek (Measure-Object -Sum) never counts a run
    /// twice: over a project it never exceeds the project's scheduled runs a week.
    /// </summary>
    public class AuditSavingsTests
    {
        private static EmulatorProject Project(HexWorld world, string title, params EmulatorSchedule[] schedules) =>
            world.NewProject(title, p =>
            {
                p.Schedules = schedules;
                p.AppViews = new EmulatorAppViews(100, 10, 20, 40);
                p.LastViewedAt = TestClock.Now.AddDays(-1);
            });

        /// <summary>Adds <paramref name="count"/> API runs 7 hours apart: all within the 28-day look-back up to 95 of them.</summary>
        private static void AddApiRuns(HexWorld world, EmulatorProject project, int count)
        {
            for (var i = 0; i < count; i++) world.Workspace.AddRun(project.Id, "API", TestClock.Now.AddHours(-7 * (i + 1)));
        }

        private static double Saved(PSObject finding) => finding.Prop<double>("EstimatedRunsSavedPerWeek");

        private static void AssertNoProjectSavesMoreThanItRuns(IEnumerable<PSObject> findings)
        {
            foreach (var project in findings.Where(f => f.Prop<string>("ProjectId") != null && f.Prop<string>("Rule") != "ScheduleCollision").GroupBy(f => f.Prop<string>("ProjectId")))
            {
                var scheduled = project.First().Prop<double?>("RunsPerWeek") ?? 0;
                var sum = project.Sum(Saved);
                Assert.True(sum <= scheduled + 1e-9,
                    $"{project.Key} runs {scheduled} a week, yet its findings save {sum}: {string.Join(", ", project.Select(f => f.Prop<string>("Rule") + " " + Saved(f)))}");
            }
        }

        [Fact]
        public async Task OverScheduled_and_RunBudgetOverrun_of_175_scheduled_runs_add_up_to_no_more_than_175()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 0);
            var project = Project(world, "Marketing attribution", EmulatorSchedule.Hourly(0), EmulatorSchedule.Daily(6, 30));
            AddApiRuns(world, project, 6); // 1.5 a week over the 28-day look-back
            using var host = world.Connected();
            var findings = host.Run("Get-HexScheduleAudit -Rule OverScheduled, RunBudgetOverrun").ThrowIfErrors().Output;

            var overScheduled = Assert.Single(findings, f => f.Prop<string>("Rule") == "OverScheduled");
            var overrun = Assert.Single(findings, f => f.Prop<string>("Rule") == "RunBudgetOverrun");
            Assert.Equal(175d, overScheduled.Prop<double?>("RunsPerWeek"));
            Assert.Equal(168d, Saved(overScheduled));
            Assert.Equal(0d, Saved(overrun)); // at the 7 runs a week OverScheduled leaves, 8.5 with the API runs, it is within the budget
            Assert.Contains("Counted once: 156.5 runs a week on its own, 0 beyond what OverScheduled already saves.", overrun.Prop<string>("Evidence"));
            Assert.DoesNotContain("Counted once", overScheduled.Prop<string>("Evidence"));
            Assert.Equal(168d, findings.Sum(Saved)); // Measure-Object -Sum in real pwsh: BadInput.Audit.Tests.ps1
        }

        [Fact]
        public async Task Each_finding_counts_only_what_it_saves_beyond_the_bigger_ones()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 0);
            // 168 scheduled + 21 API runs a week against a budget of 20: the API runs alone are over it.
            var busy = Project(world, "Busy", EmulatorSchedule.Hourly(0));
            AddApiRuns(world, busy, 84);
            // Abandoned, over-scheduled and failing all at once: disabling it saves everything.
            var forgotten = Project(world, "Forgotten", EmulatorSchedule.Hourly(20));
            forgotten.AppViews = EmulatorAppViews.None;
            forgotten.LastViewedAt = TestClock.Now.AddDays(-90);
            for (var i = 0; i < 20; i++) world.Workspace.AddRun(forgotten.Id, "SCHEDULED", TestClock.Now.AddHours(-30 * (i + 1)), "ERRORED");
            using var host = world.Connected();
            var findings = host.Run("Get-HexScheduleAudit").ThrowIfErrors().Output;
            AssertNoProjectSavesMoreThanItRuns(findings);

            PSObject Of(EmulatorProject p, string rule) => Assert.Single(findings, f => f.Prop<string>("ProjectId") == p.Id && f.Prop<string>("Rule") == rule);
            Assert.Equal(168d, Saved(Of(busy, "RunBudgetOverrun"))); // 169 over the budget, but a schedule can save only its own 168
            Assert.Contains("API runs alone exceed it", Of(busy, "RunBudgetOverrun").Prop<string>("Evidence"));
            Assert.Equal(0d, Saved(Of(busy, "OverScheduled")));
            Assert.Contains("161 runs a week on its own, 0 beyond what RunBudgetOverrun already saves", Of(busy, "OverScheduled").Prop<string>("Evidence"));
            Assert.Equal(168d, Saved(Of(forgotten, "Abandoned")));
            foreach (var rule in new[] { "OverScheduled", "RunBudgetOverrun", "FailingSchedule" })
            {
                var finding = Of(forgotten, rule);
                Assert.Equal(0d, Saved(finding));
                Assert.Contains("beyond what Abandoned", finding.Prop<string>("Evidence"));
            }
            var saved = findings.Select(Saved).ToList();
            Assert.Equal(saved.OrderByDescending(s => s), saved);
        }

        [Fact]
        public async Task A_duplicate_that_is_also_over_scheduled_saves_its_runs_once()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 0);
            var tables = new[] { new EmulatorQueriedTable("dc-1", "Snowflake prod", "FIN.CLOSE") };
            Project(world, "Finance close", EmulatorSchedule.Hourly(5)).QueriedTables = tables;
            var copy = Project(world, "Finance close (copy)", EmulatorSchedule.Hourly(20));
            copy.QueriedTables = tables;
            copy.AppViews = new EmulatorAppViews(1, 1, 1, 1);
            using var host = world.Connected();
            var findings = host.Run("Get-HexScheduleAudit -Rule DuplicateProject, OverScheduled").ThrowIfErrors().Output;
            AssertNoProjectSavesMoreThanItRuns(findings);
            var ofCopy = findings.Where(f => f.Prop<string>("ProjectId") == copy.Id).ToList();
            Assert.Equal(new[] { ("DuplicateProject", 168d), ("OverScheduled", 0d) }, ofCopy.Select(f => (f.Prop<string>("Rule"), Saved(f))));
            Assert.Contains("161 runs a week on its own, 0 beyond what DuplicateProject already saves", ofCopy[1].Prop<string>("Evidence"));
        }

        [Fact]
        public async Task No_project_of_a_generated_workspace_saves_more_runs_than_it_schedules()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 400);
            using var host = world.Connected();
            var findings = host.Run("Get-HexScheduleAudit").ThrowIfErrors().Output;
            Assert.Contains(findings, f => f.Prop<string>("Evidence").Contains("Counted once"));
            AssertNoProjectSavesMoreThanItRuns(findings);
        }
    }
}
