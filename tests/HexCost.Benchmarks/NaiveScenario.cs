using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;

namespace HexCost.Benchmarks;

/// <summary>
/// What peer clients do, with a plain HttpClient and no HexCost: trigger in fixed batches of 20, sleep a (scaled) minute
/// between batches, retry a 429 (or 503) after its Retry-After or else a fixed (scaled) 1 s, and poll each run every
/// (scaled) 5 s until it ends. Sleeping is the point here; every loop is bounded by the deadline and an attempt cap.
/// </summary>
internal static class NaiveScenario
{
    public const int BatchSize = 20;
    private const int MaxAttemptsPerCall = 500;
    private static readonly string[] Terminal = ["COMPLETED", "ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL"];

    public static TimeSpan PollInterval(ScaledLimits limits) => limits.Of(TimeSpan.FromSeconds(5));
    public static TimeSpan FixedRetry(ScaledLimits limits) => limits.Of(TimeSpan.FromSeconds(1));

    public static async Task<Outcome> RunAsync(Settings settings, ScaledLimits limits, TimeSpan deadline)
    {
        await using var emulator = await HexEmulator.StartAsync(limits.Emulator(settings));
        var pipeline = Workload.Create(emulator, settings);
        using var cts = new CancellationTokenSource(deadline);
        using var http = new HttpClient { BaseAddress = new Uri(emulator.BaseUri.AbsoluteUri.TrimEnd('/') + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Token);
        var client = new Client(http, limits, cts.Token);

        var polls = new List<Task<Polled>>();
        string? note = null;
        try
        {
            for (var i = 0; i < pipeline.Count; i += BatchSize)
            {
                if (i > 0) await Task.Delay(limits.Minute, cts.Token);
                foreach (var projectId in pipeline.Skip(i).Take(BatchSize))
                {
                    var runId = await client.TriggerAsync(projectId);
                    polls.Add(client.PollAsync(projectId, runId));
                }
            }
            await Task.WhenAll(polls);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or InvalidOperationException)
        {
            note = cts.IsCancellationRequested ? $"stopped after the {deadline.TotalSeconds:0} s deadline" : ex.Message;
        }

        var done = polls.Where(p => p.IsCompletedSuccessfully).Select(p => p.Result).ToArray();
        var outcome = new Outcome
        {
            Name = "Naive",
            ClientDone = note == null && done.Length > 0 ? done.Max(p => p.SeenAt) : null,
            RunIds = done.Select(p => p.RunId).ToArray(),
            Completed = done.Count(p => p.Status == "COMPLETED"),
            Errors = done.Count(p => p.Status != "COMPLETED") + (note == null ? 0 : 1),
            Note = note,
        };
        outcome.ReadFrom(emulator);
        return outcome;
    }

    private sealed record Polled(string RunId, string Status, DateTimeOffset SeenAt);

    private sealed class Client(HttpClient http, ScaledLimits limits, CancellationToken ct)
    {
        public async Task<string> TriggerAsync(string projectId)
        {
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"projects/{projectId}/runs")
            {
                Content = new StringContent("{}", Encoding.UTF8, "application/json"),
            });
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            return body.RootElement.GetProperty("runId").GetString()!;
        }

        public async Task<Polled> PollAsync(string projectId, string runId)
        {
            while (true)
            {
                using (var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"projects/{projectId}/runs/{runId}")))
                {
                    using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
                    var status = body.RootElement.GetProperty("status").GetString()!;
                    if (Terminal.Contains(status)) return new Polled(runId, status, DateTimeOffset.UtcNow);
                }
                await Task.Delay(PollInterval(limits), ct);
            }
        }

        /// <summary>Sends until the answer is neither 429 nor 503, sleeping Retry-After (or the fixed retry) in between.</summary>
        private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build)
        {
            for (var attempt = 1; ; attempt++)
            {
                using var request = build();
                var response = await http.SendAsync(request, ct);
                var code = (int)response.StatusCode;
                if (code != 429 && code != 503)
                {
                    if (!response.IsSuccessStatusCode)
                        throw new InvalidOperationException($"{request.Method} {request.RequestUri} answered {code}.");
                    return response;
                }
                var wait = response.Headers.RetryAfter?.Delta ?? FixedRetry(limits);
                response.Dispose();
                if (attempt >= MaxAttemptsPerCall)
                    throw new InvalidOperationException($"{request.Method} {request.RequestUri} was throttled {attempt} times.");
                await Task.Delay(wait, ct);
            }
        }
    }
}
