using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using HexCost.Emulator;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.Emulator;

/// <summary>A started emulator on a fake clock plus an authenticated HttpClient.</summary>
internal sealed class EmulatorHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 9, 15, 6, 337, TimeSpan.Zero);

    private EmulatorHarness(HexEmulator emulator, FakeTimeProvider time)
    {
        Emulator = emulator;
        Time = time;
        Http = new HttpClient { BaseAddress = new Uri(emulator.BaseUri + "/") };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Token);
    }

    public HexEmulator Emulator { get; }
    public FakeTimeProvider Time { get; }
    public HttpClient Http { get; }
    public EmulatorWorkspace Workspace => Emulator.Workspace;
    public EmulatorStats Stats => Emulator.Stats;

    public static async Task<EmulatorHarness> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var time = new FakeTimeProvider(Start);
        var options = new EmulatorOptions { Time = time };
        configure?.Invoke(options);
        return new EmulatorHarness(await HexEmulator.StartAsync(options), time);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(path.TrimStart('/'));

    public Task<HttpResponseMessage> PostAsync(string path, string? json = null) =>
        Http.PostAsync(path.TrimStart('/'), json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> DeleteAsync(string path) => Http.DeleteAsync(path.TrimStart('/'));

    public async Task<JsonNode> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await GetAsync(path);
        return await ReadAsync(response, expected);
    }

    public async Task<JsonNode> TriggerAsync(string projectId, string? json = null)
    {
        using var response = await PostAsync($"projects/{projectId}/runs", json);
        return await ReadAsync(response, HttpStatusCode.Created);
    }

    public static async Task<JsonNode> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected} but got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public EmulatorProject AddProject(string title = "Test project", Action<EmulatorProject>? configure = null) =>
        Workspace.AddProject(title, configure);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}
