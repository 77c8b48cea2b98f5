using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using HexCost.Emulator;
using Xunit;

namespace HexCost.Tests.Emulator;

public sealed class EmulatorWorkspaceTests
{
    [Fact]
    public async Task MissingOrWrongToken_Returns401WithOrpcBody()
    {
        await using var h = await EmulatorHarness.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = h.Http.BaseAddress };

        using var missing = await anonymous.GetAsync("projects");
        var body = await EmulatorHarness.ReadAsync(missing, HttpStatusCode.Unauthorized);
        Assert.Equal("UNAUTHORIZED", (string?)body["code"]);
        Assert.NotNull(body["message"]);
        Assert.Empty(body["issues"]!.AsArray());

        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "hxtw_" + new string('0', 96));
        using var wrong = await anonymous.GetAsync("users/me");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(0, h.Stats.Throttled429);
    }

    [Fact]
    public async Task DefaultToken_IsWorkspaceTokenOf96HexChars()
    {
        await using var h = await EmulatorHarness.StartAsync();
        Assert.Matches("^hxtw_[0-9a-f]{96}$", h.Emulator.Token);
        Assert.Equal(EmulatorOptions.DefaultToken, h.Emulator.Token);
        Assert.EndsWith("/api/v1", h.Emulator.BaseUri.ToString());
        Assert.Equal("127.0.0.1", h.Emulator.BaseUri.Host);
    }

    [Fact]
    public async Task Me_ReturnsTokenUserOrgAndToken()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var me = await h.GetJsonAsync("users/me");
        Assert.Equal(h.Workspace.TokenUser.Id, (string?)me["id"]);
        Assert.Equal("ADMIN", (string?)me["role"]);
        Assert.Equal(h.Workspace.TokenUser.Email, (string?)me["email"]);
        Assert.Equal(h.Workspace.OrgId, (string?)me["org"]!["id"]);
        Assert.True(me["token"]!.AsObject().ContainsKey("exp"));
        Assert.Null(me["token"]!["exp"]);
    }

    [Fact]
    public async Task ListUsers_PagesThroughAllUsersByName()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var names = new List<string?>();
        string? after = null;
        do
        {
            var page = await h.GetJsonAsync("users?limit=3" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)));
            names.AddRange(page["values"]!.AsArray().Select(u => (string?)u!["name"]));
            after = (string?)page["pagination"]!["after"];
        } while (after is not null);

        Assert.Equal(h.Workspace.Users.Count, names.Count);
        Assert.True(h.Workspace.Users.Count >= 8);
        Assert.Contains(null, names);
        var roles = h.Workspace.Users.Select(u => u.Role).ToHashSet();
        Assert.Superset(new HashSet<string> { "ADMIN", "MANAGER", "EDITOR", "EXPLORER", "MEMBER", "GUEST" }, roles);
        await h.GetJsonAsync("users?limit=501", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ListProjects_CursorPagination_VisitsEveryVisibleProjectNewestFirst()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var visible = h.Workspace.Projects.Where(p => !p.IsArchived && !p.IsTrashed && p.Type == "PROJECT").ToList();

        var seen = await PageAllAsync(h, "projects?limit=4&offset=8");
        Assert.Equal(visible.Count, seen.Count);
        Assert.Equal(visible.OrderByDescending(p => p.CreatedAt).Select(p => p.Id), seen.Select(p => (string?)p["id"]));
        var created = seen.Select(p => DateTimeOffset.Parse((string)p["createdAt"]!)).ToList();
        Assert.Equal(created.OrderByDescending(t => t), created);
        Assert.All(seen, p => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string)p["createdAt"]!));

        var everything = await PageAllAsync(h, "projects?limit=5&includeArchived=true&includeTrashed=true&includeComponents=true");
        Assert.Equal(h.Workspace.Projects.Count, everything.Count);
        Assert.Contains(everything, p => p["archivedAt"] is not null);
        Assert.Contains(everything, p => p["trashedAt"] is not null);
        Assert.Contains(everything, p => (string?)p["type"] == "COMPONENT");
        Assert.Contains(everything, p => p["lastPublishedAt"] is null);
        Assert.Contains(everything, p => p["schedules"]!.AsArray().Count == 0);
        Assert.Single(await PageAllAsync(h, "projects?includeArchived=true"), p => p["archivedAt"] is not null);
        Assert.Single(await PageAllAsync(h, "projects?includeTrashed=true"), p => p["trashedAt"] is not null);
    }

    [Fact]
    public async Task ListProjects_BeforeCursorReturnsThePreviousPage()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var first = await h.GetJsonAsync("projects?limit=3");
        Assert.Null(first["pagination"]!["before"]);
        var second = await h.GetJsonAsync("projects?limit=3&after=" + Uri.EscapeDataString((string)first["pagination"]!["after"]!));
        var back = await h.GetJsonAsync("projects?limit=3&before=" + Uri.EscapeDataString((string)second["pagination"]!["before"]!));
        Assert.Equal(first["values"]!.ToJsonString(), back["values"]!.ToJsonString());
    }

    [Theory]
    [InlineData("projects?limit=0")]
    [InlineData("projects?limit=101")]
    [InlineData("projects?limit=ten")]
    [InlineData("projects?after=not-a-cursor")]
    [InlineData("projects?sortBy=TITLE")]
    public async Task ListProjects_BadQuery_Returns400Tsoa(string path)
    {
        await using var h = await EmulatorHarness.StartAsync();
        var body = await h.GetJsonAsync(path, HttpStatusCode.BadRequest);
        Assert.NotNull((string?)body["reason"]);
        Assert.NotNull((string?)body["traceId"]);
    }

    [Fact]
    public async Task GetProject_HasEveryDocumentedKeyAndOneScheduleSubObject()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var expected = new[] { "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "CUSTOM" };
        foreach (var project in h.Workspace.Projects)
        {
            var p = (await h.GetJsonAsync($"projects/{project.Id}")).AsObject();
            foreach (var key in new[] { "id", "title", "description", "type", "creator", "owner", "status", "categories", "reviews", "analytics",
                         "lastEditedAt", "lastPublishedAt", "createdAt", "archivedAt", "trashedAt", "schedules" })
                Assert.True(p.ContainsKey(key), $"missing {key}");
            Assert.Equal(project.CreatorEmail, (string?)p["creator"]!["email"]);
            var analytics = p["analytics"]!.AsObject();
            Assert.True(analytics.ContainsKey("publishedResultsUpdatedAt") && analytics.ContainsKey("lastViewedAt"));
            Assert.Equal(4, analytics["appViews"]!.AsObject().Count);
            foreach (var s in p["schedules"]!.AsArray())
            {
                var cadence = (string)s!["cadence"]!;
                Assert.Contains(cadence, expected);
                foreach (var sub in expected)
                {
                    var key = sub.ToLowerInvariant();
                    Assert.True(s.AsObject().ContainsKey(key));
                    Assert.Equal(sub == cadence, s[key] is not null);
                }
                Assert.Equal("+00:00", (string?)s[cadence.ToLowerInvariant()]!["timezone"]);
            }
        }
        var cadences = h.Workspace.Projects.SelectMany(p => p.Schedules).ToList();
        Assert.Equal(expected.ToHashSet(), cadences.Select(s => s.Cadence).ToHashSet());
        Assert.Contains(cadences, s => !s.Enabled);
        Assert.Contains(cadences, s => s.Cron == "0 */6 * * *");

        var missing = await h.GetJsonAsync($"projects/{Guid.NewGuid()}", HttpStatusCode.NotFound);
        Assert.Equal("NOT_FOUND", (string?)missing["code"]);
        Assert.Equal(HttpStatusCode.NotFound, (await h.GetAsync("nothing/here")).StatusCode);
    }

    [Fact]
    public async Task DemoWorkspace_IsDeterministicFromSeed()
    {
        await using var a = await EmulatorHarness.StartAsync();
        await using var b = await EmulatorHarness.StartAsync(o => o.ProjectCount = 30);
        await using var c = await EmulatorHarness.StartAsync(o => o.Seed = 7);
        Assert.Equal(a.Workspace.Projects.Select(p => p.Id), b.Workspace.Projects.Take(12).Select(p => p.Id));
        Assert.Equal(a.Workspace.Runs.Select(r => r.RunId), b.Workspace.Runs.Where(r => a.Workspace.FindProject(r.ProjectId) is not null).Select(r => r.RunId));
        Assert.NotEqual(a.Workspace.Projects[0].Id, c.Workspace.Projects[0].Id);
        Assert.Equal(30, b.Workspace.Projects.Count);
        Assert.Contains(a.Workspace.Projects, p => p.Title == "Revenue dashboard");
    }

    [Fact]
    public async Task LargeWorkspace_PagesThroughTenThousandProjects()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.ProjectCount = 10_000;
            o.RateLimitsEnabled = false;
        });
        var ids = new HashSet<string>();
        string? after = null;
        do
        {
            var page = await h.GetJsonAsync("projects?limit=100&includeArchived=true&includeTrashed=true&includeComponents=true"
                + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)));
            foreach (var p in page["values"]!.AsArray())
                Assert.True(ids.Add((string)p!["id"]!));
            after = (string?)page["pagination"]!["after"];
        } while (after is not null);
        Assert.Equal(10_000, ids.Count);
    }

    private static async Task<List<JsonNode>> PageAllAsync(EmulatorHarness h, string path)
    {
        var all = new List<JsonNode>();
        string? after = null;
        do
        {
            var page = await h.GetJsonAsync(path + (after is null ? "" : (path.Contains('?') ? "&" : "?") + "after=" + Uri.EscapeDataString(after)));
            all.AddRange(page["values"]!.AsArray().Select(v => v!));
            after = (string?)page["pagination"]!["after"];
        } while (after is not null);
        return all;
    }
}
