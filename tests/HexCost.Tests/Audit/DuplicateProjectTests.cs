using System;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Audit
{
    public class DuplicateProjectTests
    {
        private static EmulatorProject Project(HexWorld world, string title, int views, EmulatorSchedule schedule, params string[] tables) =>
            world.NewProject(title, p =>
            {
                p.Schedules = new[] { schedule };
                p.AppViews = new EmulatorAppViews(views, views, views, views);
                p.LastViewedAt = TestClock.Now;
                p.QueriedTables = tables.Select(t => new EmulatorQueriedTable("dc-1", "Snowflake prod", t)).ToList();
            });

        [Fact]
        public async Task Same_title_schedule_and_tables_is_a_duplicate_to_consolidate()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 0);
            var keeper = Project(world, "Revenue dashboard", 50, EmulatorSchedule.Daily(6, 0), "SALES.ORDERS", "SALES.REFUNDS");
            var copy = Project(world, "Copy of Revenue Dashboard", 3, EmulatorSchedule.Daily(7, 0), "SALES.REFUNDS", "SALES.ORDERS");
            Project(world, "Ops report", 9, EmulatorSchedule.Daily(6, 0), "OPS.TICKETS");
            Project(world, "Ops report (copy)", 1, EmulatorSchedule.Daily(6, 0), "OPS.PAGES");      // other tables
            Project(world, "Churn model", 9, EmulatorSchedule.Daily(6, 0), "ML.CHURN");
            Project(world, "Churn Model", 1, EmulatorSchedule.Weekly("MONDAY", 6, 0), "ML.CHURN"); // no overlapping cadence
            using var host = world.Connected();
            var result = host.Run("Get-HexScheduleAudit -Rule DuplicateProject").ThrowIfErrors();
            var finding = Assert.Single(result.Output);
            Assert.Equal(copy.Id, finding.Prop<string>("ProjectId"));
            Assert.Equal("Consolidate into " + keeper.Id, finding.Prop<string>("RecommendedCadence"));
            Assert.Equal(7d, finding.Prop<double>("EstimatedRunsSavedPerWeek"));
            Assert.Contains("read the same tables", finding.Prop<string>("Evidence"));
            Assert.Empty(result.Warnings);
        }

        [Fact]
        public async Task Without_Enterprise_the_403_is_noted_once_and_titles_and_schedules_decide()
        {
            await using var world = await HexWorld.StartAsync(o => { o.ProjectCount = 0; o.QueriedTablesAvailable = false; });
            Project(world, "Revenue dashboard", 50, EmulatorSchedule.Daily(6, 0));
            Project(world, "Revenue dashboard (copy)", 3, EmulatorSchedule.Daily(7, 0));
            Project(world, "Ops report", 9, EmulatorSchedule.Daily(6, 0));
            Project(world, "Ops report 2", 1, EmulatorSchedule.Daily(6, 0));
            using var host = world.Connected();
            var result = host.Run("Get-HexScheduleAudit -Rule DuplicateProject").ThrowIfErrors();
            Assert.Equal(2, result.Output.Count);
            Assert.All(result.Output, f => Assert.DoesNotContain("same tables", f.Prop<string>("Evidence")));
            Assert.Contains("403", Assert.Single(result.Warnings));
            Assert.Equal(1, world.Stats.RequestsFor("GetQueriedTables"));
        }
    }
}
