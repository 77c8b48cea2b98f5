using System;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    public class ProjectTests
    {
        [Fact]
        public async Task Lists_every_project_across_pages_flat_and_typed()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 230);
            using var host = world.Connected();
            var projects = host.Run("Get-HexProject").ThrowIfErrors().Output;
            var visible = world.Workspace.Projects.Count(p => p.ArchivedAt == null && p.TrashedAt == null && p.Type == "PROJECT");
            Assert.Equal(visible, projects.Count);
            Assert.Equal(visible, projects.Select(p => p.Prop<string>("ProjectId")).Distinct().Count());
            Assert.All(projects, p => Assert.Contains("HexCost.Project", p.TypeNames));
            Assert.True(world.Stats.RequestsFor("ListProjects") >= 3);
            Shape.AssertFlat(projects[0]);

            var all = host.Run("Get-HexProject -IncludeArchived -IncludeTrashed -IncludeComponents").ThrowIfErrors().Output;
            Assert.Equal(world.Workspace.Projects.Count, all.Count);
        }

        [Fact]
        public async Task Project_properties_come_from_Hex_fields()
        {
            await using var world = await HexWorld.StartAsync();
            var source = world.Project(p => p.Schedules.Count > 0);
            using var host = world.Connected();
            var project = host.Run("Get-HexProject -ProjectId $args[0]", source.Id).ThrowIfErrors().Output.Single();
            Assert.Equal(source.Title, project.Prop<string>("Title"));
            Assert.Equal(source.OwnerEmail, project.Prop<string>("Owner"));
            Assert.Equal(source.Schedules.Count, project.Prop<int>("ScheduleCount"));
            Assert.Equal(string.Join(";", source.Schedules.Select(s => s.Cadence).Distinct()), project.Prop<string>("Cadences"));
            Assert.Equal(source.AppViews.LastThirtyDays, project.Prop<int?>("AppViewsLast30Days"));
            Assert.Equal(source.LastPublishedAt!.Value.UtcDateTime, project.Prop<DateTime?>("LastPublishedAt"));
            var schedules = host.Run("(Get-HexProject -ProjectId $args[0]).GetSchedules()", source.Id).ThrowIfErrors().Output;
            Assert.Equal(source.Schedules.Count, schedules.Count);
        }

        [Fact]
        public async Task An_unknown_project_is_one_error_per_item_and_the_rest_still_comes()
        {
            await using var world = await HexWorld.StartAsync();
            var known = world.Project();
            using var host = world.Connected();
            var result = host.Run("$args[0], $args[1] | Get-HexProject", Guid.NewGuid().ToString(), known.Id);
            Assert.Single(result.Output);
            var error = Assert.Single(result.Errors);
            Assert.StartsWith("HexProjectNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        }
    }
}
