using System;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using HexCost.Emulator;
using Xunit;

namespace HexCost.Tests.Emulator;

public sealed class EmulatorFaultTests
{
    [Fact]
    public async Task LostTriggerResponse_BadGateway_RunIsCreatedAnyway()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.LostTriggerResponseRate = 1;
            o.LostTriggerResponseMode = LostTriggerResponseKind.BadGateway;
        });
        var project = h.AddProject();
        using var response = await h.PostAsync($"projects/{project.Id}/runs");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var run = Assert.Single(h.Workspace.RunsOf(project.Id));
        Assert.Equal("PENDING", run.Status);
        Assert.Equal(1, h.Stats.RunsCreated);
        Assert.Equal(1, h.Stats.LostTriggerResponses);

        var listed = await h.GetJsonAsync($"projects/{project.Id}/runs?runTriggerFilter=API&statusFilter=PENDING");
        Assert.Equal(run.RunId, (string?)listed["runs"]![0]!["runId"]);
    }

    [Fact]
    public async Task LostTriggerResponse_Abort_ClientSeesAConnectionFailure()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.LostTriggerResponseRate = 1;
            o.LostTriggerResponseMode = LostTriggerResponseKind.Abort;
        });
        var project = h.AddProject();
        await Assert.ThrowsAsync<HttpRequestException>(() => h.PostAsync($"projects/{project.Id}/runs"));
        Assert.Single(h.Workspace.RunsOf(project.Id));
        Assert.Equal(1, h.Stats.LostTriggerResponses);

        h.Emulator.Options.LostTriggerResponseRate = 0;
        await h.TriggerAsync(project.Id);
        Assert.Equal(2, h.Workspace.RunsOf(project.Id).Count);
    }

    [Fact]
    public async Task ServerErrors_AreInjectedBeforeAnythingElse()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.ServerErrorRate = 1);
        var project = h.AddProject();
        for (var i = 0; i < 6; i++)
        {
            using var response = await h.PostAsync($"projects/{project.Id}/runs");
            Assert.True(response.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway, response.StatusCode.ToString());
        }
        Assert.Equal(6, h.Stats.InjectedErrors);
        Assert.Equal(0, h.Stats.RunsCreated);
        Assert.Equal(6, h.Stats.RequestsFor("RunProject"));

        h.Emulator.Options.ServerErrorRate = 0;
        await h.TriggerAsync(project.Id);
    }

    [Fact]
    public async Task PartialServerErrorRate_IsDeterministicForASeed()
    {
        async Task<string> PatternAsync()
        {
            await using var h = await EmulatorHarness.StartAsync(o => o.ServerErrorRate = 0.5);
            var codes = "";
            for (var i = 0; i < 12; i++)
            {
                using var response = await h.GetAsync("projects");
                codes += (int)response.StatusCode + " ";
            }
            return codes;
        }
        var first = await PatternAsync();
        Assert.Equal(first, await PatternAsync());
        Assert.Contains("200", first);
        Assert.Matches("50[02]", first);
    }

    [Fact]
    public async Task ResponseDelay_SlowsResponses()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.ResponseDelay = TimeSpan.FromMilliseconds(300));
        h.Http.Timeout = TimeSpan.FromMilliseconds(100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.GetAsync("projects"));
    }

    [Fact]
    public async Task ExpiredToken_Returns401()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.TokenExpiresAt = EmulatorHarness.Start + TimeSpan.FromDays(7));
        var me = await h.GetJsonAsync("users/me");
        Assert.Equal("2026-11-30T09:15:06.337Z", (string?)me["token"]!["exp"]);
        h.Time.Advance(TimeSpan.FromDays(7));
        await h.GetJsonAsync("users/me", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task NonLoopbackHost_IsRejected()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => HexEmulator.StartAsync(new EmulatorOptions { Host = "0.0.0.0" }));
    }
}
