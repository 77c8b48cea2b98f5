using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using HexCost.Emulator;
using Xunit;

namespace HexCost.Tests.Emulator;

/// <summary>GetQueriedTables, ListDataConnections, users' last login and roles, added run history, large workspaces.</summary>
public sealed class EmulatorCatalogTests
{
    [Fact]
    public async Task QueriedTables_PagesWithCursorsInListOrder()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var snowflake = h.Workspace.DataConnections[0];
        var tables = Enumerable.Range(1, 7).Select(i => new EmulatorQueriedTable(snowflake, $"ANALYTICS.CORE.T{i}")).ToArray();
        var project = h.AddProject("Lineage", p => p.QueriedTables = tables);

        var first = await h.GetJsonAsync($"projects/{project.Id}/queriedTables?limit=3");
        var values = first["values"]!.AsArray();
        Assert.Equal(3, values.Count);
        Assert.Equal(snowflake.Id, (string?)values[0]!["dataConnectionId"]);
        Assert.Equal("Snowflake prod", (string?)values[0]!["dataConnectionName"]);
        Assert.Equal("ANALYTICS.CORE.T1", (string?)values[0]!["tableName"]);
        Assert.Equal(3, values[0]!.AsObject().Count);
        Assert.Null(first["pagination"]!["before"]);
        Assert.NotNull((string?)first["traceId"]);

        var names = new List<string>();
        string? after = null;
        do
        {
            var page = await h.GetJsonAsync($"projects/{project.Id}/queriedTables?limit=3" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)));
            names.AddRange(page["values"]!.AsArray().Select(v => (string)v!["tableName"]!));
            after = (string?)page["pagination"]!["after"];
        } while (after is not null);
        Assert.Equal(tables.Select(t => t.TableName), names);

        var second = await h.GetJsonAsync($"projects/{project.Id}/queriedTables?limit=3&after=" + Uri.EscapeDataString((string)first["pagination"]!["after"]!));
        var back = await h.GetJsonAsync($"projects/{project.Id}/queriedTables?limit=3&before=" + Uri.EscapeDataString((string)second["pagination"]!["before"]!));
        Assert.Equal(values.ToJsonString(), back["values"]!.ToJsonString());

        var all = await h.GetJsonAsync($"projects/{project.Id}/queriedTables");
        Assert.Equal(7, all["values"]!.AsArray().Count);
        Assert.Null(all["pagination"]!["after"]);

        project.QueriedTables = [];
        var empty = await h.GetJsonAsync($"projects/{project.Id}/queriedTables");
        Assert.Empty(empty["values"]!.AsArray());
        Assert.Null(empty["pagination"]!["after"]);

        await h.GetJsonAsync($"projects/{project.Id}/queriedTables?limit=0", HttpStatusCode.BadRequest);
        await h.GetJsonAsync($"projects/{project.Id}/queriedTables?limit=101", HttpStatusCode.BadRequest);
        await h.GetJsonAsync($"projects/{project.Id}/queriedTables?after=bogus", HttpStatusCode.BadRequest);
        Assert.Equal(11, h.Stats.RequestsFor("GetQueriedTables"));
    }

    [Fact]
    public async Task QueriedTables_DemoProjectsQueryDemoConnections_AndCopiesQueryTheSameTables()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var connections = h.Workspace.DataConnections.ToDictionary(c => c.Id, c => c.Name);
        var revenue = h.Workspace.Projects.Single(p => p.Title == "Revenue dashboard");
        Assert.InRange(revenue.QueriedTables.Count, 1, 3);
        Assert.All(h.Workspace.Projects.SelectMany(p => p.QueriedTables), t => Assert.Equal(connections[t.DataConnectionId], t.DataConnectionName));
        Assert.True(h.Workspace.Projects.SelectMany(p => p.QueriedTables).Select(t => t.DataConnectionId).Distinct().Count() >= 2);

        var body = await h.GetJsonAsync($"projects/{revenue.Id}/queriedTables");
        Assert.Equal(revenue.QueriedTables.Select(t => t.TableName), body["values"]!.AsArray().Select(v => (string?)v!["tableName"]));

        var copy = h.AddProject("Revenue Dashboard (copy)");
        Assert.Equal(revenue.QueriedTables, copy.QueriedTables);
        Assert.Equal(revenue.QueriedTables, h.AddProject("Copy of revenue dashboard").QueriedTables);
        Assert.Equal(h.AddProject("Team metrics").QueriedTables, h.AddProject("Team Metrics - Copy").QueriedTables);

        await using var again = await EmulatorHarness.StartAsync();
        Assert.Equal(h.Workspace.Projects.Take(12).Select(p => p.QueriedTables.Select(t => t.TableName).ToArray()),
            again.Workspace.Projects.Select(p => p.QueriedTables.Select(t => t.TableName).ToArray()));
    }

    [Fact]
    public async Task QueriedTables_NotEnterprise_Returns403ForEveryCall()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.QueriedTablesAvailable = false);
        var project = h.AddProject();
        foreach (var path in new[] { $"projects/{project.Id}/queriedTables", $"projects/{Guid.NewGuid()}/queriedTables", $"projects/{project.Id}/queriedTables?limit=0" })
        {
            var body = (await h.GetJsonAsync(path, HttpStatusCode.Forbidden)).AsObject();
            Assert.Equal("This feature is not available on your plan", (string?)body["reason"]);
            Assert.NotNull((string?)body["traceId"]);
            Assert.False(body.ContainsKey("code"));
        }
        Assert.Equal(3, h.Stats.RequestsFor("GetQueriedTables"));

        h.Emulator.Options.QueriedTablesAvailable = true;
        await h.GetJsonAsync($"projects/{project.Id}/queriedTables");
    }

    [Fact]
    public async Task QueriedTables_UnpublishedIs422_UnknownIs404_BadIdIs400()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var draft = h.AddProject("Draft", p => p.LastPublishedAt = null);
        var unpublished = await h.GetJsonAsync($"projects/{draft.Id}/queriedTables", HttpStatusCode.UnprocessableEntity);
        Assert.NotNull((string?)unpublished["reason"]);
        Assert.NotNull((string?)unpublished["traceId"]);
        var demoDraft = h.Workspace.Projects.Single(p => p.Title == "Pricing experiment (draft)");
        await h.GetJsonAsync($"projects/{demoDraft.Id}/queriedTables", HttpStatusCode.UnprocessableEntity);

        var missing = await h.GetJsonAsync($"projects/{Guid.NewGuid()}/queriedTables", HttpStatusCode.NotFound);
        Assert.Equal("Project not found", (string?)missing["reason"]);
        Assert.NotNull((string?)missing["traceId"]);
        await h.GetJsonAsync("projects/not-a-uuid/queriedTables", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task QueriedTables_CountsInTheHexApiReadGroup()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.ReadsPerMinute = 2);
        var project = h.AddProject();
        await h.GetJsonAsync($"projects/{project.Id}/queriedTables");
        await h.GetJsonAsync("users/me");
        await h.GetJsonAsync($"projects/{project.Id}/queriedTables", (HttpStatusCode)429);
        await h.GetJsonAsync("data-connections");
        Assert.Equal(1, h.Stats.Throttled429);
    }

    [Fact]
    public async Task ListDataConnections_PagesDemoAndAddedConnections()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var demo = h.Workspace.DataConnections;
        Assert.Equal(["Snowflake prod", "Postgres app", "BigQuery marketing"], demo.Select(c => c.Name));
        Assert.Equal(["snowflake", "postgres", "bigquery"], demo.Select(c => c.Type));
        Assert.All(demo, c => Assert.True(Guid.TryParse(c.Id, out _)));
        var added = h.Workspace.AddDataConnection("Databricks lake", DataConnectionType.Databricks, "Unity catalog");
        Assert.Throws<ArgumentException>(() => h.Workspace.AddDataConnection("Oracle", "oracle"));

        var first = await h.GetJsonAsync("data-connections?limit=2");
        var values = first["values"]!.AsArray();
        Assert.Equal(2, values.Count);
        Assert.Equal(demo[0].Id, (string?)values[0]!["id"]);
        Assert.Equal("snowflake", (string?)values[0]!["type"]);
        Assert.True(values[0]!.AsObject().ContainsKey("description"));
        var second = await h.GetJsonAsync("data-connections?limit=2&after=" + Uri.EscapeDataString((string)first["pagination"]!["after"]!));
        var rest = second["values"]!.AsArray();
        Assert.Equal(["BigQuery marketing", "Databricks lake"], rest.Select(v => (string?)v!["name"]));
        Assert.Equal(added.Id, (string?)rest[1]!["id"]);
        Assert.Equal("Unity catalog", (string?)rest[1]!["description"]);
        Assert.Null(rest[0]!["description"]);
        Assert.Null(second["pagination"]!["after"]);
        Assert.NotNull((string?)second["pagination"]!["before"]);

        Assert.Equal(4, (await h.GetJsonAsync("data-connections"))["values"]!.AsArray().Count);
        await h.GetJsonAsync("data-connections?limit=101", HttpStatusCode.BadRequest);
        Assert.Equal(4, h.Stats.RequestsFor("ListDataConnections"));
    }

    [Fact]
    public async Task ListUsers_ReturnsLastLoginDate_AndTestsCanChangeRoleAndLastLogin()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var idle = h.Workspace.AddUser("Idle Editor", "idle.editor@example.com", OrgRole.Editor, EmulatorHarness.Start.AddDays(-90));
        var sam = h.Workspace.Users.Single(u => u.Email == "sam.okafor@example.com");
        var before = h.Workspace.SetUser(sam with { Role = OrgRole.Explorer, LastLoginDate = null });
        Assert.Equal(OrgRole.Editor, before.Role);
        Assert.Throws<KeyNotFoundException>(() => h.Workspace.SetUser(sam with { Id = Guid.NewGuid().ToString() }));

        var users = (await h.GetJsonAsync("users?limit=500"))["values"]!.AsArray();
        Assert.Equal(h.Workspace.Users.Count, users.Count);
        Assert.All(users, u => Assert.True(u!.AsObject().ContainsKey("lastLoginDate")));
        Assert.Contains(users, u => u!["lastLoginDate"] is not null);
        var idleJson = users.Single(u => (string?)u!["id"] == idle.Id)!;
        Assert.Equal("2026-08-25T09:15:06.337Z", (string?)idleJson["lastLoginDate"]);
        Assert.Equal("EDITOR", (string?)idleJson["role"]);
        var samJson = users.Single(u => (string?)u!["id"] == sam.Id)!;
        Assert.Equal("EXPLORER", (string?)samJson["role"]);
        Assert.Null(samJson["lastLoginDate"]);

        var me = h.Workspace.TokenUser;
        h.Workspace.SetUser(me with { LastLoginDate = EmulatorHarness.Start.AddDays(-1) });
        Assert.Equal("2026-11-22T09:15:06.337Z", (string?)(await h.GetJsonAsync("users/me"))["lastLoginDate"]);
        Assert.Equal(me.Id, h.Workspace.TokenUser.Id);
        Assert.Equal(h.Workspace.TokenUser, h.Workspace.FindUser(me.Id));
    }

    [Fact]
    public async Task AddedScheduledHistoryRuns_AreReturnedNewestFirstWithTriggerFilterAndOffsetPaging()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject("Nightly load", p => p.Schedules = [EmulatorSchedule.Daily(2, 0)]);
        var scheduled = new List<EmulatorRun>();
        for (var day = 30; day >= 1; day--)
        {
            var outcome = day % 7 == 0 ? RunStatus.Errored : RunStatus.Completed;
            scheduled.Add(h.Workspace.AddRun(project.Id, RunTrigger.Scheduled, EmulatorHarness.Start.AddDays(-day), outcome, TimeSpan.FromMinutes(3)));
        }
        h.Workspace.AddRun(project.Id, RunTrigger.Api, EmulatorHarness.Start.AddHours(-1));
        h.Workspace.AddRun(project.Id, RunTrigger.AppRefresh, EmulatorHarness.Start.AddDays(-40));

        var expected = scheduled.OrderByDescending(r => r.CreatedAt).Select(r => r.RunId).ToList();
        var seen = new List<JsonNode>();
        string? path = $"projects/{project.Id}/runs?runTriggerFilter=SCHEDULED&limit=12";
        for (var pages = 0; path is not null; pages++)
        {
            Assert.True(pages < 5);
            var page = await h.GetJsonAsync(path);
            seen.AddRange(page["runs"]!.AsArray().Select(r => r!));
            path = (string?)page["nextPage"];
        }
        Assert.Equal(expected, seen.Select(r => (string?)r["runId"]));
        Assert.All(seen, r => Assert.Equal("SCHEDULED", (string?)r["runTrigger"]));
        Assert.Equal(180_000.0, (double?)seen[0]["elapsedTime"]);
        Assert.Equal(4, seen.Count(r => (string?)r["status"] == "ERRORED"));

        var offset = await h.GetJsonAsync($"projects/{project.Id}/runs?runTriggerFilter=SCHEDULED&limit=5&offset=25");
        Assert.Equal(expected.Skip(25), offset["runs"]!.AsArray().Select(r => (string?)r!["runId"]));
        Assert.Null(offset["nextPage"]);
        Assert.NotNull(offset["previousPage"]);

        var all = await h.GetJsonAsync($"projects/{project.Id}/runs?limit=100");
        Assert.Equal(32, all["runs"]!.AsArray().Count);
        Assert.Equal("API", (string?)all["runs"]![0]!["runTrigger"]);
        Assert.Equal("APP_REFRESH", (string?)all["runs"]![31]!["runTrigger"]);
        var errored = await h.GetJsonAsync($"projects/{project.Id}/runs?runTriggerFilter=SCHEDULED&statusFilter=ERRORED");
        Assert.Equal(4, errored["runs"]!.AsArray().Count);
        Assert.Equal(0, h.Workspace.LiveRunCount());
    }

    [Fact]
    public async Task LargeWorkspace_ServesRunsOfEveryScheduledProjectCheaply()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.ProjectCount = 10_000;
            o.RateLimitsEnabled = false;
        });
        var watch = Stopwatch.StartNew();
        var scheduled = h.Workspace.Projects.Where(p => p.IsPublished && p.Schedules.Count > 0 && p.Type == "PROJECT").ToList();
        Assert.True(scheduled.Count > 5000, $"{scheduled.Count} scheduled projects");
        var runs = 0;
        foreach (var p in scheduled)
            runs += h.Workspace.RunsOf(p.Id).Count(r => r.RunTrigger == RunTrigger.Scheduled);
        Assert.True(runs >= 3 * scheduled.Count / 2, $"{runs} scheduled runs");

        foreach (var p in scheduled.Where((_, i) => i % 250 == 0))
        {
            var body = await h.GetJsonAsync($"projects/{p.Id}/runs?runTriggerFilter=SCHEDULED&limit=100");
            Assert.Equal(h.Workspace.RunsOf(p.Id).Count(r => r.RunTrigger == RunTrigger.Scheduled), body["runs"]!.AsArray().Count);
        }
        var tables = await h.GetJsonAsync($"projects/{scheduled[^1].Id}/queriedTables");
        Assert.InRange(tables["values"]!.AsArray().Count, 1, 3);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }
}
