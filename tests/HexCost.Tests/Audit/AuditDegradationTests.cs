using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Audit
{
    /// <summary>
    /// The audit degrades, it does not fall over: a read only some rules need (a project's runs, its queried tables, the users)
    /// that fails after HexCost's retries, or a project deleted mid-audit, is one non-terminating error naming the project, and
    /// every rule still runs for every other project, the workspace-wide ones included. Faults come from the emulator's
    /// Intercept hook; the session retries at test speed.
    /// </summary>
    public class AuditDegradationTests
    {
        /// <summary>A workspace where every rule across projects finds something: two duplicate pairs, seven schedules in one
        /// minute, an idle editor; plus an hourly project over its run budget, which a test makes fail.</summary>
        private sealed class Workspace : IAsyncDisposable
        {
            private Workspace(HexWorld world, HexSession session)
            {
                World = world;
                Session = session;
            }

            public HexWorld World { get; }
            public HexSession Session { get; }
            public EmulatorProject Victim { get; private set; } = null!;
            public EmulatorProject Busy { get; private set; } = null!;
            public EmulatorProject OpsCopy { get; private set; } = null!;
            public List<EmulatorProject> Crowd { get; } = new List<EmulatorProject>();
            public const string IdleEditor = "idle.ed@example.com";

            public static async Task<Workspace> StartAsync()
            {
                var world = await HexWorld.StartAsync(o => o.ProjectCount = 0);
                var workspace = new Workspace(world, await world.SessionAsync());
                workspace.Fill();
                return workspace;
            }

            private EmulatorProject Add(string title, params EmulatorSchedule[] schedules) => World.NewProject(title, p =>
            {
                p.Schedules = schedules;
                p.AppViews = new EmulatorAppViews(100, 10, 20, 40);
                p.LastViewedAt = TestClock.Now.AddDays(-1);
            });

            private void Fill()
            {
                var now = TestClock.Now;
                Victim = Add("Victim", EmulatorSchedule.Hourly(7));
                Busy = Add("Busy", EmulatorSchedule.Hourly(11));
                for (var i = 0; i < 8; i++)
                {
                    World.Workspace.AddRun(Victim.Id, "API", now.AddHours(-12 * (i + 1)));
                    World.Workspace.AddRun(Busy.Id, "API", now.AddHours(-12 * (i + 1)));
                }
                var revenue = new[] { new EmulatorQueriedTable("dc-1", "Snowflake prod", "SALES.ORDERS") };
                var ops = new[] { new EmulatorQueriedTable("dc-1", "Snowflake prod", "OPS.TICKETS") };
                Add("Revenue dashboard", EmulatorSchedule.Daily(6, 0)).QueriedTables = revenue;
                var revenueCopy = Add("Copy of Revenue dashboard", EmulatorSchedule.Daily(7, 0));
                revenueCopy.QueriedTables = revenue;
                revenueCopy.AppViews = new EmulatorAppViews(3, 1, 1, 1);
                Add("Ops report", EmulatorSchedule.Daily(5, 0)).QueriedTables = ops;
                OpsCopy = Add("Ops report 2", EmulatorSchedule.Daily(5, 30));
                OpsCopy.QueriedTables = ops;
                OpsCopy.AppViews = new EmulatorAppViews(3, 1, 1, 1);
                for (var i = 0; i < 7; i++) Crowd.Add(Add("Standup " + (char)('A' + i), EmulatorSchedule.Daily(9, 0)));
                World.Workspace.AddUser("Idle Ed", IdleEditor, "EDITOR", now.AddDays(-45));
            }

            /// <summary>From now on, requests of <paramref name="operation"/> (for <paramref name="projectId"/>, if given) answer
            /// <paramref name="status"/>.</summary>
            public void Fail(string operation, string? projectId, int status) =>
                World.Emulator.Options.Intercept = r => r.Operation == operation && (projectId == null || r.ProjectId == projectId) ? status : null;

            public PsResult Audit(string arguments = "")
            {
                using var host = new PsHost();
                return host.Run("Get-HexScheduleAudit -Session $args[0] " + arguments, Session);
            }

            public ValueTask DisposeAsync() => World.DisposeAsync();
        }

        private static IEnumerable<PSObject> Of(PsResult result, string rule) => result.Output.Where(f => f.Prop<string>("Rule") == rule);

        /// <summary>Every rule across projects, and the project rules of the projects that did not fail, found what they find.</summary>
        private static void AssertEveryOtherRuleRan(PsResult result, Workspace workspace, int collisions = 2)
        {
            Assert.Null(result.Terminating);
            Assert.Contains(Of(result, "RunBudgetOverrun"), f => f.Prop<string>("ProjectId") == workspace.Busy.Id);
            Assert.Contains(Of(result, "OverScheduled"), f => f.Prop<string>("ProjectId") == workspace.Busy.Id);
            Assert.Equal(collisions, Of(result, "ScheduleCollision").Count());
            Assert.Contains(Of(result, "DuplicateProject"), f => f.Prop<string>("ProjectTitle") == "Copy of Revenue dashboard");
            Assert.Contains(Of(result, "IdleEditorSeat"), f => f.Prop<string>("Owner") == Workspace.IdleEditor);
        }

        [Fact]
        public async Task The_workspace_audits_whole_when_nothing_fails()
        {
            await using var workspace = await Workspace.StartAsync();
            var result = workspace.Audit();
            Assert.Empty(result.AllErrors);
            AssertEveryOtherRuleRan(result, workspace);
            Assert.Contains(Of(result, "RunBudgetOverrun"), f => f.Prop<string>("ProjectId") == workspace.Victim.Id);
            Assert.Contains(Of(result, "DuplicateProject"), f => f.Prop<string>("ProjectTitle") == "Ops report 2");
        }

        [Theory]
        [InlineData(500, "HexServerError")]
        [InlineData(502, "HexServerError")]
        [InlineData(403, "HexForbidden")]
        [InlineData(400, "HexBadRequest")]
        public async Task A_project_whose_runs_cannot_be_read_is_one_error_and_the_rest_of_the_audit_runs(int status, string id)
        {
            await using var workspace = await Workspace.StartAsync();
            workspace.Fail("GetProjectRuns", workspace.Victim.Id, status);
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith(id + ",", error.FullyQualifiedErrorId);
            Assert.Equal(workspace.Victim.Id, error.TargetObject);
            var message = error.ErrorDetails?.Message ?? error.Exception.Message;
            Assert.Contains("'Victim' (" + workspace.Victim.Id + ")", message);
            Assert.Contains("FailingSchedule and RunBudgetOverrun skipped this project; every other rule ran.", message);
            AssertEveryOtherRuleRan(result, workspace);
            Assert.DoesNotContain(Of(result, "RunBudgetOverrun"), f => f.Prop<string>("ProjectId") == workspace.Victim.Id);
            Assert.Contains(Of(result, "OverScheduled"), f => f.Prop<string>("ProjectId") == workspace.Victim.Id);
        }

        [Fact]
        public async Task A_project_deleted_mid_audit_is_one_error_and_is_left_out_of_every_rule()
        {
            await using var workspace = await Workspace.StartAsync();
            var doomed = workspace.Crowd[0];
            workspace.World.Emulator.Options.Intercept = r =>
            {
                if (r.Operation == "GetProjectRuns" && r.ProjectId == doomed.Id) workspace.World.Workspace.RemoveProject(doomed.Id);
                return null;
            };
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexProjectNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(doomed.Id, error.TargetObject);
            Assert.Contains("was deleted during the audit", error.ErrorDetails?.Message ?? error.Exception.Message);
            AssertEveryOtherRuleRan(result, workspace, collisions: 1);
            Assert.DoesNotContain(result.Output, f => f.Prop<string>("ProjectId") == doomed.Id);
            Assert.All(Of(result, "ScheduleCollision"), f => Assert.Contains("6 schedules fire at", f.Prop<string>("Evidence")));
        }

        [Theory]
        [InlineData(500, "HexServerError")]
        [InlineData(400, "HexBadRequest")]
        public async Task A_project_whose_queried_tables_cannot_be_read_is_left_out_of_DuplicateProject_only(int status, string id)
        {
            await using var workspace = await Workspace.StartAsync();
            workspace.Fail("GetQueriedTables", workspace.OpsCopy.Id, status);
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith(id + ",", error.FullyQualifiedErrorId);
            Assert.Equal(workspace.OpsCopy.Id, error.TargetObject);
            Assert.Contains("DuplicateProject skipped this project; every other rule ran.", error.ErrorDetails?.Message ?? error.Exception.Message);
            Assert.Empty(result.Warnings);
            AssertEveryOtherRuleRan(result, workspace);
            Assert.DoesNotContain(Of(result, "DuplicateProject"), f => f.Prop<string>("ProjectId") == workspace.OpsCopy.Id);
            Assert.Contains(Of(result, "RunBudgetOverrun"), f => f.Prop<string>("ProjectId") == workspace.Victim.Id);
        }

        [Fact]
        public async Task A_project_whose_queried_tables_answer_404_was_deleted_and_is_left_out()
        {
            await using var workspace = await Workspace.StartAsync();
            workspace.Fail("GetQueriedTables", workspace.OpsCopy.Id, 404);
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexProjectNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(workspace.OpsCopy.Id, error.TargetObject);
            AssertEveryOtherRuleRan(result, workspace);
            Assert.DoesNotContain(result.Output, f => f.Prop<string>("ProjectId") == workspace.OpsCopy.Id);
        }

        [Fact]
        public async Task Users_that_cannot_be_listed_skip_IdleEditorSeat_only()
        {
            await using var workspace = await Workspace.StartAsync();
            workspace.Fail("ListUsers", null, 500);
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexServerError,", error.FullyQualifiedErrorId);
            Assert.Contains("IdleEditorSeat was skipped; every other rule ran.", error.ErrorDetails?.Message ?? error.Exception.Message);
            Assert.Empty(Of(result, "IdleEditorSeat"));
            Assert.Equal(2, Of(result, "ScheduleCollision").Count());
            Assert.Equal(2, Of(result, "DuplicateProject").Count());
            Assert.Equal(2, Of(result, "RunBudgetOverrun").Count());
        }

        [Fact]
        public async Task Runs_failing_for_three_projects_in_a_row_are_not_asked_for_again()
        {
            await using var workspace = await Workspace.StartAsync();
            workspace.Fail("GetProjectRuns", null, 500);
            var result = workspace.Audit();

            Assert.Equal(3, result.Errors.Count);
            Assert.All(result.Errors, e => Assert.StartsWith("HexServerError,", e.FullyQualifiedErrorId));
            Assert.Equal(3, result.Errors.Select(e => e.TargetObject).Distinct().Count());
            Assert.Contains("the runs of the remaining projects are not read", result.Errors[2].ErrorDetails?.Message ?? result.Errors[2].Exception.Message);
            Assert.Equal(3 * new Api.HexClientOptions().MaxAttempts, workspace.World.Stats.RequestsFor("GetProjectRuns"));
            Assert.Empty(Of(result, "RunBudgetOverrun"));
            Assert.Equal(2, Of(result, "OverScheduled").Count());
            Assert.Equal(2, Of(result, "ScheduleCollision").Count());
            Assert.Equal(2, Of(result, "DuplicateProject").Count());
            Assert.Single(Of(result, "IdleEditorSeat"), f => f.Prop<string>("Owner") == Workspace.IdleEditor);
        }

        [Fact]
        public async Task A_schedule_HexCost_cannot_read_is_one_error_and_the_project_s_other_schedules_are_audited()
        {
            await using var workspace = await Workspace.StartAsync();
            var odd = workspace.World.NewProject("Odd schedules", p =>
            {
                p.Schedules = new[]
                {
                    EmulatorSchedule.Hourly(33),
                    EmulatorSchedule.Custom("every tuesday"),
                    EmulatorSchedule.Daily(3, 0) with { Timezone = "Mars/Olympus" },
                    EmulatorSchedule.Hourly(75),
                    new EmulatorSchedule { Cadence = "FORTNIGHTLY" },
                };
                p.AppViews = new EmulatorAppViews(100, 10, 20, 40);
                p.LastViewedAt = TestClock.Now.AddDays(-1);
            });
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexUnexpectedResponse,", error.FullyQualifiedErrorId);
            Assert.Equal(odd.Id, error.TargetObject);
            var message = error.ErrorDetails?.Message ?? error.Exception.Message;
            Assert.Contains("4 schedules HexCost cannot read", message);
            Assert.Contains("'every tuesday'", message);
            Assert.Contains("'Mars/Olympus'", message);
            Assert.Contains("FORTNIGHTLY", message);
            AssertEveryOtherRuleRan(result, workspace);
            var overScheduled = Assert.Single(Of(result, "OverScheduled"), f => f.Prop<string>("ProjectId") == odd.Id);
            Assert.Equal(168d, overScheduled.Prop<double?>("RunsPerWeek"));
        }

        [Fact]
        public async Task A_listing_that_fails_after_the_first_page_still_writes_what_was_audited_and_says_it_is_partial()
        {
            await using var workspace = await Workspace.StartAsync();
            for (var i = 0; i < 100; i++) workspace.World.NewProject("Filler " + i, p => p.Schedules = new[] { EmulatorSchedule.Hourly(i % 60) });
            var listed = 0;
            workspace.World.Emulator.Options.Intercept = r => r.Operation == "ListProjects" && Interlocked.Increment(ref listed) > 1 ? 500 : null;
            var result = workspace.Audit();

            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexServerError,", error.FullyQualifiedErrorId);
            Assert.Contains(result.Warnings, w => w.Contains("failed after 100") && w.Contains("cover only those"));
            Assert.Contains(Of(result, "IdleEditorSeat"), f => f.Prop<string>("Owner") == Workspace.IdleEditor);
            Assert.Contains(Of(result, "OverScheduled"), f => f.Prop<string>("ProjectId") != null);
        }
    }
}
