using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;
using Xunit;

namespace HexCost.Tests.Emulator;

public sealed class EmulatorRunTests
{
    [Fact]
    public async Task RunProject_Returns201AndStatusProgressesWithTheClock()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject(configure: p => p.ProjectVersion = 7);

        var created = await h.TriggerAsync(project.Id, """{"inputParams":{"region":"EU","limit":10},"updateCache":true}""");
        var runId = (string)created["runId"]!;
        Assert.Equal(project.Id, (string?)created["projectId"]);
        Assert.Equal(7, (int?)created["projectVersion"]);
        Assert.Equal($"{h.Emulator.BaseUri}/projects/{project.Id}/runs/{runId}", (string?)created["runStatusUrl"]);
        Assert.EndsWith($"/hex/{project.Id}/run/{runId}", (string?)created["runUrl"]);
        Assert.NotNull((string?)created["traceId"]);

        var pending = await h.GetJsonAsync($"projects/{project.Id}/runs/{runId}");
        Assert.Equal("PENDING", (string?)pending["status"]);
        Assert.Equal("API", (string?)pending["runTrigger"]);
        foreach (var key in new[] { "startTime", "endTime", "elapsedTime" })
        {
            Assert.True(pending.AsObject().ContainsKey(key));
            Assert.Null(pending[key]);
        }

        h.Time.Advance(TimeSpan.FromMilliseconds(200));
        var running = await h.GetJsonAsync($"projects/{project.Id}/runs/{runId}");
        Assert.Equal("RUNNING", (string?)running["status"]);
        Assert.Equal("2026-11-23T09:15:06.537Z", (string?)running["startTime"]);
        Assert.Null(running["endTime"]);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        var done = await h.GetJsonAsync($"projects/{project.Id}/runs/{runId}");
        Assert.Equal("COMPLETED", (string?)done["status"]);
        Assert.Equal("2026-11-23T09:15:07.537Z", (string?)done["endTime"]);
        Assert.Equal(1000.0, (double?)done["elapsedTime"]);

        var run = Assert.Single(h.Workspace.RunsOf(project.Id));
        Assert.Equal("EU", (string?)run.InputParams!["region"]);
        Assert.False(run.UpdatePublishedResults);
        Assert.Equal(1, h.Stats.RunsCreated);
        Assert.Equal(EmulatorHarness.Start, Assert.Single(h.Stats.RunCreationTimes));
    }

    [Theory]
    [InlineData("ERRORED")]
    [InlineData("KILLED")]
    [InlineData("UNABLE_TO_ALLOCATE_KERNEL")]
    public async Task RunOutcome_IsTheTerminalStatus(string outcome)
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject(configure: p => p.RunOutcome = outcome);
        var runId = (string)(await h.TriggerAsync(project.Id))["runId"]!;
        h.Time.Advance(TimeSpan.FromSeconds(5));
        var status = await h.GetJsonAsync($"projects/{project.Id}/runs/{runId}");
        Assert.Equal(outcome, (string?)status["status"]);
        Assert.NotNull(status["endTime"]);
    }

    [Fact]
    public async Task FailingDemoProject_RunsEndErrored()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var failing = h.Workspace.Projects.Single(p => p.Title.StartsWith("Failing"));
        Assert.Equal("ERRORED", failing.RunOutcome);
        var runId = (string)(await h.TriggerAsync(failing.Id))["runId"]!;
        h.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("ERRORED", (string?)(await h.GetJsonAsync($"projects/{failing.Id}/runs/{runId}"))["status"]);
    }

    [Fact]
    public async Task CancelRun_Returns204_RunIsKilledAndKernelFreed()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject(configure: p => p.RunDurationOverride = Timeout.InfiniteTimeSpan);
        var runId = (string)(await h.TriggerAsync(project.Id))["runId"]!;
        h.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("RUNNING", (string?)(await h.GetJsonAsync($"projects/{project.Id}/runs/{runId}"))["status"]);
        Assert.Equal(1, h.Workspace.LiveRunCount());

        using (var cancel = await h.DeleteAsync($"projects/{project.Id}/runs/{runId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
            Assert.Empty(await cancel.Content.ReadAsByteArrayAsync());
        }
        var killed = await h.GetJsonAsync($"projects/{project.Id}/runs/{runId}");
        Assert.Equal("KILLED", (string?)killed["status"]);
        Assert.Equal(Iso(h.Time.GetUtcNow()), (string?)killed["endTime"]);
        Assert.Equal(600_000 - 200, (double?)killed["elapsedTime"]);
        Assert.Equal(0, h.Workspace.LiveRunCount());

        using var again = await h.DeleteAsync($"projects/{project.Id}/runs/{runId}");
        var body = await EmulatorHarness.ReadAsync(again, HttpStatusCode.UnprocessableEntity);
        Assert.NotNull((string?)body["reason"]);
        using var unknown = await h.DeleteAsync($"projects/{project.Id}/runs/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task UnpublishedProject_Returns422ForRunAndRunList()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var draft = h.Workspace.Projects.First(p => !p.IsPublished);
        using var trigger = await h.PostAsync($"projects/{draft.Id}/runs");
        var body = await EmulatorHarness.ReadAsync(trigger, HttpStatusCode.UnprocessableEntity);
        Assert.Contains("not published", (string?)body["reason"]);
        Assert.NotNull((string?)body["traceId"]);
        await h.GetJsonAsync($"projects/{draft.Id}/runs", HttpStatusCode.UnprocessableEntity);
        Assert.Equal(0, h.Stats.RunsCreated);
    }

    [Fact]
    public async Task UnknownInputParam_Returns422InvalidParamPayload()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject();
        using var response = await h.PostAsync($"projects/{project.Id}/runs", """{"inputParams":{"region":"EU","colour":"red"}}""");
        var body = await EmulatorHarness.ReadAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(["colour"], body["notFound"]!.AsArray().Select(n => (string)n!));
        Assert.Empty(body["invalid"]!.AsArray());
        Assert.NotNull((string?)body["traceId"]);
        Assert.Empty(h.Workspace.RunsOf(project.Id));
    }

    [Theory]
    [InlineData("""{"inputParams":{},"bogus":true}""")]
    [InlineData("""{"inputParams":{"region":"EU"},"viewId":"v1"}""")]
    [InlineData("""{"dryRun":"yes"}""")]
    [InlineData("""{"notifications":[{"type":"SOMETIMES","includeSuccessScreenshot":false}]}""")]
    [InlineData("[1,2]")]
    [InlineData("{not json")]
    public async Task InvalidBody_Returns400Tsoa(string json)
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject();
        using var response = await h.PostAsync($"projects/{project.Id}/runs", json);
        var body = await EmulatorHarness.ReadAsync(response, HttpStatusCode.BadRequest);
        Assert.NotNull((string?)body["reason"]);
        Assert.NotNull((string?)body["traceId"]);
        Assert.Equal(0, h.Stats.RunsCreated);
    }

    [Fact]
    public async Task DocumentedBodyFields_AreAccepted()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject();
        await h.TriggerAsync(project.Id, """
            {"updatePublishedResults":true,"useCachedSqlResults":false,"viewId":"saved-view",
             "notifications":[{"type":"ALL","includeSuccessScreenshot":true,"screenshotFormat":"pdf","userIds":[],"subject":"s"}]}
            """);
        var run = Assert.Single(h.Workspace.RunsOf(project.Id));
        Assert.True(run.UpdatePublishedResults);
        Assert.False(run.UseCachedSqlResults);
        Assert.Equal("saved-view", run.ViewId);

        h.Time.Advance(TimeSpan.FromSeconds(2));
        var p = await h.GetJsonAsync($"projects/{project.Id}");
        Assert.Equal(Iso(run.EndTime!.Value), (string?)p["analytics"]!["publishedResultsUpdatedAt"]);
    }

    [Fact]
    public async Task UnknownProjectOrRun_Returns404Tsoa()
    {
        await using var h = await EmulatorHarness.StartAsync();
        using var trigger = await h.PostAsync($"projects/{Guid.NewGuid()}/runs");
        Assert.NotNull((string?)(await EmulatorHarness.ReadAsync(trigger, HttpStatusCode.NotFound))["reason"]);
        var project = h.AddProject();
        await h.GetJsonAsync($"projects/{project.Id}/runs/{Guid.NewGuid()}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task KernelLimit_Returns503AndCreatesNoRun()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.MaxKernels = 3);
        var project = h.AddProject(configure: p => p.RunDurationOverride = Timeout.InfiniteTimeSpan);
        var runIds = new List<string>();
        for (var i = 0; i < 3; i++)
            runIds.Add((string)(await h.TriggerAsync(project.Id))["runId"]!);

        using (var full = await h.PostAsync($"projects/{project.Id}/runs"))
        {
            var body = await EmulatorHarness.ReadAsync(full, HttpStatusCode.ServiceUnavailable);
            Assert.NotNull((string?)body["reason"]);
        }
        Assert.Equal(3, h.Workspace.RunsOf(project.Id).Count);
        Assert.Equal(3, h.Stats.RunsCreated);
        Assert.Equal(1, h.Stats.Kernel503);

        using (await h.DeleteAsync($"projects/{project.Id}/runs/{runIds[0]}")) { }
        await h.TriggerAsync(project.Id);
        Assert.Equal(4, h.Stats.RunsCreated);
    }

    [Fact]
    public async Task FinishedRuns_FreeTheirKernels()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.MaxKernels = 2);
        var project = h.AddProject();
        await h.TriggerAsync(project.Id);
        await h.TriggerAsync(project.Id);
        using (var full = await h.PostAsync($"projects/{project.Id}/runs"))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        h.Time.Advance(TimeSpan.FromSeconds(2));
        await h.TriggerAsync(project.Id);
    }

    [Fact]
    public async Task DryRun_Returns201WithoutCreatingARun()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject();
        var dummy = await h.TriggerAsync(project.Id, """{"dryRun":true,"inputParams":{"region":"US"}}""");
        Assert.Equal(project.Id, (string?)dummy["projectId"]);
        Assert.NotNull((string?)dummy["runId"]);
        Assert.Empty(h.Workspace.RunsOf(project.Id));
        Assert.Equal(0, h.Stats.RunsCreated);
        await h.GetJsonAsync($"projects/{project.Id}/runs/{(string)dummy["runId"]!}", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task GetProjectRuns_OffsetPaginationNewestFirst()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.RunDuration = TimeSpan.FromMilliseconds(100));
        var project = h.AddProject();
        var created = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            created.Add((string)(await h.TriggerAsync(project.Id))["runId"]!);
            h.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var seen = new List<string>();
        var url = $"projects/{project.Id}/runs?limit=3";
        JsonNode page;
        var pages = 0;
        do
        {
            page = await h.GetJsonAsync(url);
            pages++;
            seen.AddRange(page["runs"]!.AsArray().Select(r => (string)r!["runId"]!));
            Assert.NotNull((string?)page["traceId"]);
            url = (string?)page["nextPage"] ?? "";
        } while (url.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(created), seen);
        Assert.NotNull((string?)page["previousPage"]);
        Assert.Contains("offset=3", (string?)page["previousPage"]);
        var first = await h.GetJsonAsync($"projects/{project.Id}/runs?limit=3");
        Assert.Null(first["previousPage"]);
        Assert.All(first["runs"]!.AsArray(), r => Assert.Equal("COMPLETED", (string?)r!["status"]));

        await h.GetJsonAsync($"projects/{project.Id}/runs?limit=101", HttpStatusCode.BadRequest);
        await h.GetJsonAsync($"projects/{project.Id}/runs?statusFilter=FAILED", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GetProjectRuns_IncludesScheduledHistoryAndFilters()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var scheduled = h.Workspace.Projects.Where(p => p.IsPublished && p.Type == "PROJECT" && p.Schedules.Count > 0).ToList();
        Assert.All(scheduled, p => Assert.Contains(h.Workspace.RunsOf(p.Id), r => r.RunTrigger == "SCHEDULED"));
        Assert.Contains(h.Workspace.Runs, r => r.RunTrigger == "SCHEDULED" && r.Status == "ERRORED");

        var project = scheduled[0];
        var api = (string)(await h.TriggerAsync(project.Id))["runId"]!;
        var all = await h.GetJsonAsync($"projects/{project.Id}/runs?limit=100");
        Assert.Equal(api, (string?)all["runs"]![0]!["runId"]);
        Assert.Contains(all["runs"]!.AsArray(), r => (string?)r!["runTrigger"] == "SCHEDULED");

        var onlyScheduled = await h.GetJsonAsync($"projects/{project.Id}/runs?limit=100&runTriggerFilter=SCHEDULED");
        Assert.All(onlyScheduled["runs"]!.AsArray(), r => Assert.Equal("SCHEDULED", (string?)r!["runTrigger"]));
        var pending = await h.GetJsonAsync($"projects/{project.Id}/runs?statusFilter=PENDING");
        Assert.Equal(api, (string?)Assert.Single(pending["runs"]!.AsArray())!["runId"]);

        h.Emulator.Options.LegacyApiRunsOnly = true;
        var legacy = await h.GetJsonAsync($"projects/{project.Id}/runs?limit=100");
        Assert.All(legacy["runs"]!.AsArray(), r => Assert.Equal("API", (string?)r!["runTrigger"]));
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
}
