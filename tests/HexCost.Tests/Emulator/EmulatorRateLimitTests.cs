using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Xunit;

namespace HexCost.Tests.Emulator;

public sealed class EmulatorRateLimitTests
{
    [Fact]
    public async Task RunProject_21stInAMinuteIs429WithRetryAfter_ThenAllowedAfterTheWindow()
    {
        await using var h = await EmulatorHarness.StartAsync();
        var project = h.AddProject();
        for (var i = 0; i < 20; i++)
        {
            await h.TriggerAsync(project.Id);
            h.Time.Advance(TimeSpan.FromSeconds(1));
        }

        using (var throttled = await h.PostAsync($"projects/{project.Id}/runs"))
        {
            var body = await EmulatorHarness.ReadAsync(throttled, (HttpStatusCode)429);
            Assert.Equal("Rate limit exceeded", (string?)body["reason"]);
            Assert.NotNull((string?)body["traceId"]);
            Assert.Equal("40", Assert.Single(throttled.Headers.GetValues("Retry-After")));
            Assert.Equal(TimeSpan.FromSeconds(40), throttled.Headers.RetryAfter!.Delta);
            Assert.Equal("0", Header(throttled, "X-RateLimit-Remaining"));
            Assert.Equal("20", Header(throttled, "X-RateLimit-Limit"));
            var windowEnd = EmulatorHarness.Start + TimeSpan.FromMinutes(1);
            Assert.Equal((long)Math.Ceiling(windowEnd.ToUnixTimeMilliseconds() / 1000.0), long.Parse(Header(throttled, "X-RateLimit-Reset")));
        }
        Assert.Equal(1, h.Stats.Throttled429);
        Assert.Equal(20, h.Stats.RunsCreated);

        h.Time.Advance(TimeSpan.FromSeconds(39.5));
        using (var stillThrottled = await h.PostAsync($"projects/{project.Id}/runs"))
        {
            Assert.Equal((HttpStatusCode)429, stillThrottled.StatusCode);
            Assert.Equal("1", Header(stillThrottled, "Retry-After"));
        }

        h.Time.Advance(TimeSpan.FromSeconds(0.5));
        for (var i = 0; i < 20; i++)
            await h.TriggerAsync(project.Id);
        using (var throttledAgain = await h.PostAsync($"projects/{project.Id}/runs"))
            Assert.Equal((HttpStatusCode)429, throttledAgain.StatusCode);

        var times = h.Stats.RunCreationTimes;
        Assert.Equal(40, times.Count);
        Assert.True(times.Count(t => t < EmulatorHarness.Start + TimeSpan.FromMinutes(1)) <= 20);
    }

    [Fact]
    public async Task RunProject_HourWindowBlocksWithRetryAfterUntilItsReset()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.RunsPerHour = 2);
        var project = h.AddProject();
        await h.TriggerAsync(project.Id);
        h.Time.Advance(TimeSpan.FromMinutes(10));
        await h.TriggerAsync(project.Id);
        using (var throttled = await h.PostAsync($"projects/{project.Id}/runs"))
        {
            Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
            Assert.Equal("3000", Header(throttled, "Retry-After"));
            Assert.Equal("2", Header(throttled, "X-RateLimit-Limit"));
        }
        await h.GetJsonAsync("projects");
        h.Time.Advance(TimeSpan.FromMinutes(50));
        await h.TriggerAsync(project.Id);
    }

    [Fact]
    public async Task Throttled429_WithoutRetryAfter_WhenDisabled()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.SendRetryAfter = false;
            o.RunsPerMinute = 1;
        });
        var project = h.AddProject();
        await h.TriggerAsync(project.Id);
        using var throttled = await h.PostAsync($"projects/{project.Id}/runs");
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        Assert.False(throttled.Headers.Contains("Retry-After"));
        Assert.True(throttled.Headers.Contains("X-RateLimit-Reset"));

        h.Emulator.Options.SendRateLimitHeaders = false;
        using var bare = await h.PostAsync($"projects/{project.Id}/runs");
        Assert.Equal((HttpStatusCode)429, bare.StatusCode);
        Assert.DoesNotContain(bare.Headers, x => x.Key.StartsWith("X-RateLimit", StringComparison.OrdinalIgnoreCase) || x.Key == "Retry-After");
    }

    [Fact]
    public async Task RetryAfter_CanBeAnHttpDate()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.RetryAfterAsHttpDate = true;
            o.RunsPerMinute = 1;
        });
        var project = h.AddProject();
        await h.TriggerAsync(project.Id);
        using var throttled = await h.PostAsync($"projects/{project.Id}/runs");
        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        var date = throttled.Headers.RetryAfter!.Date;
        Assert.Equal(DateTimeOffset.Parse("2026-11-23T09:16:07Z", CultureInfo.InvariantCulture), date);
    }

    [Fact]
    public async Task RequestWindow_CountsEveryRequest_AndRejectedRequestsConsumeNothing()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.RequestsPerWindow = 5);
        for (var i = 0; i < 5; i++)
        {
            using var ok = await h.GetAsync("projects");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal((4 - i).ToString(CultureInfo.InvariantCulture), Header(ok, "X-RateLimit-Remaining"));
            Assert.Equal("5", Header(ok, "X-RateLimit-Limit"));
        }
        for (var i = 0; i < 3; i++)
        {
            using var throttled = await h.GetAsync("projects");
            Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        }
        h.Time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 5; i++)
            await h.GetJsonAsync("projects");
        Assert.Equal(3, h.Stats.Throttled429);
    }

    [Fact]
    public async Task ReadGroup_LimitsMeUsersAndGetProject_ButNotListProjectsOrRuns()
    {
        await using var h = await EmulatorHarness.StartAsync(o => o.ReadsPerMinute = 3);
        var project = h.Workspace.Projects[0];
        await h.GetJsonAsync("users/me");
        await h.GetJsonAsync("users");
        await h.GetJsonAsync($"projects/{project.Id}");
        using (var throttled = await h.GetAsync("users/me"))
            Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        await h.GetJsonAsync("projects");
        await h.GetJsonAsync($"projects/{project.Id}/runs");
        h.Time.Advance(TimeSpan.FromMinutes(1));
        await h.GetJsonAsync($"projects/{project.Id}");
    }

    [Fact]
    public async Task RateLimitsDisabled_NeverThrottle()
    {
        await using var h = await EmulatorHarness.StartAsync(o =>
        {
            o.RateLimitsEnabled = false;
            o.RequestsPerWindow = 1;
        });
        for (var i = 0; i < 3; i++)
            await h.GetJsonAsync("projects");
        Assert.Equal(0, h.Stats.Throttled429);
    }

    private static string Header(HttpResponseMessage response, string name) => Assert.Single(response.Headers.GetValues(name));
}
