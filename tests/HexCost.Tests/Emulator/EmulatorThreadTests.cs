using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using HexCost.Emulator;
using Xunit;

namespace HexCost.Tests.Emulator;

/// <summary>ListThreads (GET /threads): role check, visibility, filters, paging, the demo threads.</summary>
public sealed class EmulatorThreadTests
{
    private static readonly string[] ThreadKeys =
        ["id", "orgId", "url", "userId", "title", "creditsUsed", "type", "source", "createdAt", "sensitive", "model", "topics", "warnings", "feedback"];

    [Theory]
    [InlineData(OrgRole.Editor)]
    [InlineData(OrgRole.Explorer)]
    [InlineData(OrgRole.Member)]
    [InlineData(OrgRole.Guest)]
    public async Task BelowManager_Gets403WithOrpcBody(string role)
    {
        await using var h = await EmulatorHarness.StartAsync();
        h.Workspace.SetUser(h.Workspace.TokenUser with { Role = role });

        var body = await h.GetJsonAsync("threads", HttpStatusCode.Forbidden);

        var obj = body.AsObject();
        Assert.Equal(["code", "message", "issues"], obj.Select(p => p.Key));
        Assert.Equal("FORBIDDEN", (string?)obj["code"]);
        Assert.Contains("Manager", (string?)obj["message"]);
        Assert.Empty(obj["issues"]!.AsArray());
        // The role check comes before validation: a bad query is still 403.
        Assert.Equal("FORBIDDEN", (string?)(await h.GetJsonAsync("threads?limit=0", HttpStatusCode.Forbidden))["code"]);
        Assert.Equal(2, h.Stats.RequestsFor("ListThreads"));
    }

    [Fact]
    public async Task Admin_SeesEveryDemoThreadNewestFirst_WithEveryKey()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var expected = h.Workspace.Threads;
        Assert.Equal(40, expected.Count);

        var body = await h.GetJsonAsync("threads?limit=100");
        var threads = body["threads"]!.AsArray();
        Assert.Equal(expected.Select(t => t.Id), threads.Select(t => (string?)t!["id"]));
        Assert.Null(body["pagination"]!["after"]);
        Assert.Null(body["pagination"]!["before"]);
        Assert.Equal(["before", "after"], body["pagination"]!.AsObject().Select(p => p.Key));

        var created = threads.Select(t => DateTimeOffset.Parse((string)t!["createdAt"]!, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(created.Zip(created.Skip(1)).All(p => p.First >= p.Second), "newest first");
        foreach (var (json, thread) in threads.Zip(expected))
        {
            Assert.Equal(ThreadKeys, json!.AsObject().Select(p => p.Key));
            Assert.Equal(h.Workspace.OrgId, (string?)json["orgId"]);
            Assert.Equal(thread.UserId, (string?)json["userId"]);
            Assert.Equal(thread.Type, (string?)json["type"]);
            Assert.Equal(thread.Source, (string?)json["source"]);
            Assert.Equal(thread.CreditsUsed, (double?)json["creditsUsed"]);
            Assert.Equal(thread.Sensitive, (bool)json["sensitive"]!);
            Assert.Equal(thread.Sensitive ? null : thread.Title, (string?)json["title"]);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string)json["createdAt"]!);
            Assert.EndsWith("/threads/" + thread.Id, (string)json["url"]!);
            Assert.False(string.IsNullOrEmpty((string?)json["model"]));
            Assert.Empty(json["topics"]!.AsArray());
            Assert.Empty(json["warnings"]!.AsArray());
            Assert.Empty(json["feedback"]!.AsArray());
        }

        // The demo threads: the seat-holding demo users, the last 60 days, credits 1-10 or null, some private.
        var askers = h.Workspace.Users.Where(u => u.Role is OrgRole.Admin or OrgRole.Manager or OrgRole.Editor or OrgRole.Explorer).Select(u => u.Id).ToHashSet();
        Assert.Equal(askers, expected.Select(t => t.UserId).ToHashSet());
        Assert.All(expected, t => Assert.InRange(t.CreatedAt, EmulatorHarness.Start - TimeSpan.FromDays(60), EmulatorHarness.Start));
        Assert.All(expected.Where(t => t.CreditsUsed is not null), t => Assert.InRange(t.CreditsUsed!.Value, 1, 10));
        Assert.Contains(expected, t => t.CreditsUsed is null);
        Assert.Contains(expected, t => t.Sensitive);
        Assert.Contains(threads, t => t!["title"] is null && (bool)t["sensitive"]!);
        Assert.True(expected.Select(t => t.Type).Distinct().Count() >= 2);
        Assert.True(expected.Select(t => t.Source).Distinct().Count() >= 2);
    }

    [Fact]
    public async Task DemoThreads_AreDeterministicFromSeed_AndLeaveOtherDemoDataAlone()
    {
        await using var a = await EmulatorHarness.StartAsync();
        await using var b = await EmulatorHarness.StartAsync();
        await using var c = await EmulatorHarness.StartAsync(o => o.Seed = 7);
        Assert.Equal(a.Workspace.Threads, b.Workspace.Threads);
        Assert.NotEqual(a.Workspace.Threads.Select(t => t.Id), c.Workspace.Threads.Select(t => t.Id));
        Assert.Equal(await WithoutUrlsAsync(a), await WithoutUrlsAsync(b));

        static async Task<string> WithoutUrlsAsync(EmulatorHarness h)
        {
            var threads = (await h.GetJsonAsync("threads?limit=100"))["threads"]!.AsArray();
            foreach (var t in threads)
                t!.AsObject().Remove("url"); // the port differs
            return threads.ToJsonString();
        }
    }

    [Fact]
    public async Task Manager_SeesOwnThreadsAndEveryThreadsTypeThread()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var me = h.Workspace.SetUser(h.Workspace.TokenUser with { Role = OrgRole.Manager });
        var other = h.Workspace.Users.First(u => u.Id != me.Id && u.Role == OrgRole.Editor);
        var otherNotebook = h.Workspace.AddThread(other.Id, 3, EmulatorHarness.Start.AddHours(-1), ThreadType.Notebook);
        var ownModeling = h.Workspace.AddThread(me.Id, 4, EmulatorHarness.Start.AddHours(-2), ThreadType.Modeling);

        var seen = (await h.GetJsonAsync("threads?limit=100"))["threads"]!.AsArray().Select(t => (string)t!["id"]!).ToList();

        var expected = h.Workspace.Threads.Where(t => t.UserId == me.Id || t.Type == ThreadType.Threads).Select(t => t.Id).ToList();
        Assert.Equal(expected, seen);
        Assert.Contains(ownModeling.Id, seen);
        Assert.DoesNotContain(otherNotebook.Id, seen);
        Assert.True(seen.Count < h.Workspace.Threads.Count);
    }

    [Fact]
    public async Task NumDays_KeepsThreadsCreatedWithinTheLastDaysOfTheEmulatorClock()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var user = h.Workspace.Users[2].Id;
        var inside = h.Workspace.AddThread(user, 2, EmulatorHarness.Start - TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        var outside = h.Workspace.AddThread(user, 2, EmulatorHarness.Start - TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));

        var week = await IdsAsync(h, "threads?numDays=7&limit=100");
        var cutoff = EmulatorHarness.Start - TimeSpan.FromDays(7);
        Assert.Equal(h.Workspace.Threads.Where(t => t.CreatedAt >= cutoff).Select(t => t.Id), week);
        Assert.Contains(inside.Id, week);
        Assert.DoesNotContain(outside.Id, week);
        Assert.True(week.Count < h.Workspace.Threads.Count);

        // The window follows the emulator clock.
        h.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(inside.Id, await IdsAsync(h, "threads?numDays=7&limit=100"));
        Assert.Equal(h.Workspace.Threads.Count, (await IdsAsync(h, "threads?numDays=365&limit=100")).Count);

        foreach (var bad in new[] { "0", "-1", "1.5", "x" })
        {
            var error = await h.GetJsonAsync("threads?numDays=" + bad, HttpStatusCode.BadRequest);
            Assert.Equal("BAD_REQUEST", (string?)error["code"]);
            Assert.Contains("numDays", (string?)error["issues"]![0]!["message"]);
        }
    }

    [Fact]
    public async Task UserIdSourceAndTypeFilters()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var users = h.Workspace.Users;
        var (sam, jordan) = (users[2].Id, users[3].Id);

        var samOnly = await IdsAsync(h, $"threads?userId={sam}&limit=100");
        Assert.NotEmpty(samOnly);
        Assert.Equal(h.Workspace.Threads.Where(t => t.UserId == sam).Select(t => t.Id), samOnly);
        var both = await IdsAsync(h, $"threads?userId={sam},{jordan.ToUpperInvariant()}&limit=100");
        Assert.Equal(h.Workspace.Threads.Where(t => t.UserId == sam || t.UserId == jordan).Select(t => t.Id), both);
        Assert.Empty(await IdsAsync(h, $"threads?userId={Guid.NewGuid()}"));

        var slack = h.Workspace.AddThread(sam, 5, EmulatorHarness.Start.AddMinutes(-5), ThreadType.Modeling, ThreadSource.Slack, "From Slack");
        Assert.Equal(h.Workspace.Threads.Where(t => t.Source is ThreadSource.Slack or ThreadSource.Mcp).Select(t => t.Id),
            await IdsAsync(h, "threads?source=SLACK,MCP&limit=100"));
        Assert.Equal(h.Workspace.Threads.Where(t => t.Type == ThreadType.Modeling).Select(t => t.Id), await IdsAsync(h, "threads?type=MODELING&limit=100"));
        Assert.Equal([slack.Id], await IdsAsync(h, $"threads?userId={sam}&type=MODELING&source=SLACK&numDays=1"));

        foreach (var bad in new[] { "userId=nope", "source=EMAIL", "type=THREADS,CHAT", "limit=0", "limit=101", "after=bogus" })
            Assert.Equal("BAD_REQUEST", (string?)(await h.GetJsonAsync("threads?" + bad, HttpStatusCode.BadRequest))["code"]);
    }

    [Fact]
    public async Task Paging_AfterAndBeforeCursors_VisitEveryThreadOnce()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var first = await h.GetJsonAsync("threads");
        Assert.Equal(25, first["threads"]!.AsArray().Count);
        Assert.Null(first["pagination"]!["before"]);

        var seen = new List<string>();
        var pages = new List<JsonNode>();
        string? after = null;
        do
        {
            var page = await h.GetJsonAsync("threads?limit=7" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)));
            pages.Add(page);
            seen.AddRange(page["threads"]!.AsArray().Select(t => (string)t!["id"]!));
            after = (string?)page["pagination"]!["after"];
        } while (after is not null);
        Assert.Equal(h.Workspace.Threads.Select(t => t.Id), seen);
        Assert.Equal(6, pages.Count);

        // A thread created between pages lands on the first page and shifts nothing on later ones.
        var cursor = (string)pages[1]["pagination"]!["after"]!;
        h.Workspace.AddThread(h.Workspace.Users[1].Id, 1, EmulatorHarness.Start);
        Assert.Equal(pages[2]["threads"]!.ToJsonString(), (await h.GetJsonAsync("threads?limit=7&after=" + Uri.EscapeDataString(cursor)))["threads"]!.ToJsonString());

        var back = await h.GetJsonAsync("threads?limit=7&before=" + Uri.EscapeDataString((string)pages[2]["pagination"]!["before"]!));
        Assert.Equal(pages[1]["threads"]!.ToJsonString(), back["threads"]!.ToJsonString());

        var both = await h.GetJsonAsync("threads?after=" + Uri.EscapeDataString(cursor) + "&before=" + Uri.EscapeDataString(cursor), HttpStatusCode.BadRequest);
        Assert.Equal("BAD_REQUEST", (string?)both["code"]);
        // A cursor of another listing is rejected.
        var projects = await h.GetJsonAsync("projects?limit=1");
        await h.GetJsonAsync("threads?after=" + Uri.EscapeDataString((string)projects["pagination"]!["after"]!), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task NullCreditsUsed_IsSentAsJsonNull_AndPrivateTitlesAreRedacted()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var user = h.Workspace.Users[3].Id;
        var unknown = h.Workspace.AddThread(user, null, EmulatorHarness.Start.AddMinutes(-1), title: "No figure yet");
        var secret = h.Workspace.AddThread(user, 7.5, EmulatorHarness.Start.AddMinutes(-2), ThreadType.Notebook, ThreadSource.Mcp, "Salary bands", sensitive: true);
        Assert.Equal("Salary bands", secret.Title);

        var threads = (await h.GetJsonAsync($"threads?userId={user}&numDays=1"))["threads"]!.AsArray();
        Assert.Equal([unknown.Id, secret.Id], threads.Select(t => (string)t!["id"]!));
        var first = threads[0]!.AsObject();
        Assert.True(first.ContainsKey("creditsUsed"));
        Assert.Null(first["creditsUsed"]);
        Assert.Equal("No figure yet", (string?)first["title"]);
        Assert.False((bool)first["sensitive"]!);
        var second = threads[1]!.AsObject();
        Assert.Equal(7.5, (double)second["creditsUsed"]!);
        Assert.True(second.ContainsKey("title"));
        Assert.Null(second["title"]);
        Assert.True((bool)second["sensitive"]!);
        Assert.Equal("NOTEBOOK", (string?)second["type"]);
        Assert.Equal("MCP", (string?)second["source"]);

        Assert.Throws<ArgumentException>(() => h.Workspace.AddThread(user, 1, EmulatorHarness.Start, type: "CHAT"));
        Assert.Throws<ArgumentException>(() => h.Workspace.AddThread(user, 1, EmulatorHarness.Start, source: "EMAIL"));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Workspace.AddThread(user, -1, EmulatorHarness.Start));
    }

    [Fact]
    public async Task ListThreads_IsInTheHexApiReadGroup_AndUnauthorizedIsOrpc()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.ReadsPerMinute = 2);
        await h.GetJsonAsync("threads");
        await h.GetJsonAsync("users/me");
        using (var throttled = await h.GetAsync("threads"))
            Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        await h.GetJsonAsync("projects"); // not in the read group
        Assert.Equal(1, h.Stats.Throttled429);
        Assert.Equal(2, h.Stats.RequestsFor("ListThreads"));

        h.Http.DefaultRequestHeaders.Authorization = new("Bearer", "hxtw_wrong");
        var unauthorized = await h.GetJsonAsync("threads", HttpStatusCode.Unauthorized);
        Assert.Equal("UNAUTHORIZED", (string?)unauthorized["code"]);
    }

    private static async Task<List<string>> IdsAsync(EmulatorHarness h, string path) =>
        (await h.GetJsonAsync(path))["threads"]!.AsArray().Select(t => (string)t!["id"]!).ToList();
}
