using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Runs;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace HexCost.Tests.Hardening
{
    /// <summary>
    /// Triggers through the core API against an emulator that fails 20% of all requests, loses 10% of the trigger
    /// answers after creating the run, and answers 429 with no hint at all (no Retry-After, no rate headers). The
    /// emulator's limits are scaled to seconds so a soak ends quickly. Concurrency reorders everything, so the
    /// assertions are invariants (exact bookkeeping identities), never exact counts. The soaks run alone (no other
    /// test class in parallel): they load both cores, and timing-sensitive tests should not share them.
    /// </summary>
    [Collection(SoakCollection.Name)]
    public class SoakTests
    {
        private const int ProjectCount = 50;
        private const int Concurrency = 10;

        private readonly ITestOutputHelper _output;

        public SoakTests(ITestOutputHelper output) => _output = output;

        /// <summary>The client keeps to the emulator's limits, so 429s are rare; faults are not.</summary>
        [Fact]
        public Task Five_hundred_triggers_through_5xx_lost_answers_and_hintless_429s_create_each_run_at_most_once() =>
            SoakAsync(clientRunLimit: "50/1s", triggersPerProject: 10);

        /// <summary>The client is told Hex allows twice what it does, so hintless 429s are drawn: each must be waited out
        /// (the 300 ms default) and retried once, and still no run is created twice.</summary>
        [Fact]
        public Task Overdriven_triggers_draw_hintless_429s_each_retried_once_and_still_no_duplicate_run() =>
            SoakAsync(clientRunLimit: "100/1s", triggersPerProject: 4);

        private async Task SoakAsync(string clientRunLimit, int triggersPerProject)
        {
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.ServerErrorRate = 0.2;
                o.LostTriggerResponseRate = 0.1;
                o.RateLimitsEnabled = true;
                o.SendRetryAfter = false;
                o.SendRateLimitHeaders = false;
                o.RunsPerMinute = 50;
                o.RunMinuteWindow = TimeSpan.FromSeconds(1);
                o.RunsPerHour = 100_000;
                o.RequestsPerWindow = 200;
                o.RequestWindow = TimeSpan.FromSeconds(1);
                o.ReadsPerMinute = 100_000;
                o.ReadsPerHour = 1_000_000;
            });
            var projects = Enumerable.Range(0, ProjectCount).Select(i => world.NewProject("Soak " + i)).ToList();
            var limits = new Hashtable { ["RunProject"] = clientRunLimit, ["Request"] = "200/1s", ["Read"] = "200/1s" };
            var account = (await world.SessionAsync(limits: limits)).GetAccount(); // DefaultRetryAfter = 300 ms (HexWorld)
            try
            {
                // Only what the soak itself causes counts: connecting (GET /users/me) may already have drawn faults.
                var before = Snapshot(world);
                var sink = new CountingSink();
                var work = Enumerable.Range(0, triggersPerProject).SelectMany(_ => projects.Select(p => p.Id)).ToArray();
                var outcomes = new Outcome?[work.Length];
                var calls = new int[work.Length];
                using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(3)); // a hang fails, it does not stall the run
                var clock = Stopwatch.StartNew();

                await Parallel.ForEachAsync(Enumerable.Range(0, work.Length),
                    new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = guard.Token },
                    async (i, ct) =>
                    {
                        Interlocked.Increment(ref calls[i]);
                        try
                        {
                            var result = await RunService.RunAsync(account, new RunRequest { ProjectId = work[i] }, new RunWaitOptions(), sink, ct);
                            outcomes[i] = new Outcome(work[i], result, null);
                        }
                        catch (Exception ex) when (!guard.IsCancellationRequested)
                        {
                            outcomes[i] = new Outcome(work[i], null, ex);
                        }
                    });
                clock.Stop();

                // Every request was made once and came back with exactly one run or exactly one error.
                Assert.All(calls, c => Assert.Equal(1, c));
                Assert.All(outcomes, o => Assert.True(o != null && (o.Result == null) != (o.Error == null)));
                var ok = outcomes.Where(o => o!.Result != null).Select(o => o!).ToList();
                var failed = outcomes.Where(o => o!.Error != null).Select(o => o!).ToList();
                Assert.Equal(work.Length, ok.Count + failed.Count);
                // Failures are HexCost's own errors, never a crash (a NullReferenceException, an unwrapped HttpRequestException...).
                Assert.All(failed, f => Assert.IsType<HexException>(f.Error));
                Assert.All(ok, o =>
                {
                    Assert.Null(o.Result!.Error);
                    Assert.False(string.IsNullOrEmpty(o.Result.Run.RunId));
                    Assert.Equal(o.ProjectId, o.Result.Run.ProjectId);
                });

                // No two requests were handed the same run.
                var returned = ok.Select(o => o.Result!.Run.RunId!).ToList();
                Assert.Equal(returned.Count, returned.Distinct(StringComparer.OrdinalIgnoreCase).Count());

                // The ledger claims each returned run exactly once (a Created trigger or an Adopt), and nothing else.
                var ledger = LedgerFile.ReadAll(account.StateDirectory);
                var claims = ledger.Where(r => (r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Created) || r.Type == LedgerRecordTypes.Adopt).ToList();
                Assert.All(claims, c => Assert.False(string.IsNullOrEmpty(c.RunId)));
                Assert.Equal(claims.Count, claims.Select(c => c.RunId).Distinct(StringComparer.OrdinalIgnoreCase).Count());
                Assert.Equal(returned.OrderBy(r => r, StringComparer.Ordinal), claims.Select(c => c.RunId!).OrderBy(r => r, StringComparer.Ordinal));
                var created = ledger.Count(r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Created);
                var adopted = ledger.Count(r => r.Type == LedgerRecordTypes.Adopt);
                var unknown = ledger.Count(r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Unknown);
                var rejected = ledger.Count(r => r.Type == LedgerRecordTypes.Trigger && r.Outcome == TriggerOutcomes.Rejected);

                // The emulator's side: every run it created belongs to a soak project, each returned run is one of them
                // in the project asked for, and a run nobody claims (an orphan) can only come from a request that failed.
                var emulatorRuns = projects.ToDictionary(p => p.Id, p => world.Workspace.RunsOf(p.Id).Where(r => r.RunTrigger == "API").ToList());
                var totalEmulatorRuns = emulatorRuns.Values.Sum(r => r.Count);
                var after = Snapshot(world);
                Assert.Equal(after.RunsCreated - before.RunsCreated, totalEmulatorRuns);
                var claimed = new HashSet<string>(claims.Select(c => c.RunId!), StringComparer.OrdinalIgnoreCase);
                Assert.All(ok, o => Assert.Contains(emulatorRuns[o.ProjectId], r => string.Equals(r.RunId, o.Result!.Run.RunId, StringComparison.OrdinalIgnoreCase)));
                var orphans = 0;
                foreach (var project in projects)
                {
                    var runs = emulatorRuns[project.Id];
                    var unclaimed = runs.Count(r => !claimed.Contains(r.RunId));
                    var failedHere = failed.Count(f => f.ProjectId == project.Id);
                    Assert.True(runs.Count <= triggersPerProject, $"project {project.Id}: {runs.Count} runs for {triggersPerProject} requests");
                    Assert.True(unclaimed <= failedHere, $"project {project.Id}: {unclaimed} unclaimed runs but {failedHere} failed requests");
                    orphans += unclaimed;
                }
                // Exact bookkeeping: each run Hex created was answered (Created), or its answer was lost and it was then
                // adopted, or left an orphan by a request that failed.
                var lost = after.LostTriggerResponses - before.LostTriggerResponses;
                Assert.Equal(totalEmulatorRuns, created + adopted + orphans);
                Assert.Equal(lost, adopted + orphans);
                Assert.True(unknown >= lost, $"{unknown} Unknown trigger records for {lost} lost answers");

                // 429s: each one the emulator sent was either retried once (after the hintless default wait) or ended
                // its call with HexRateLimitExhausted; none is retried twice, none goes unaccounted.
                var throttled = after.Throttled429 - before.Throttled429;
                var exhausted = failed.Count(f => f.Error is HexException h && h.Kind == HexErrorKind.RateLimitExhausted);
                Assert.Equal(throttled, sink.RetriesAfter429 + exhausted);

                var requests = after.TotalRequests - before.TotalRequests;
                _output.WriteLine($"Soak: {work.Length} triggers ({ProjectCount} projects x {triggersPerProject}, {Concurrency} at a time, client RunProject limit {clientRunLimit} vs Hex 50/1s) in {clock.Elapsed.TotalSeconds:0.0} s");
                _output.WriteLine($"Results: {ok.Count} runs, {failed.Count} errors" + (failed.Count == 0 ? "" : " (" + string.Join(", ", failed.GroupBy(f => ((HexException)f.Error!).Kind).Select(g => g.Key + " " + g.Count())) + ")"));
                foreach (var message in failed.Select(f => f.Error!.Message).GroupBy(m => System.Text.RegularExpressions.Regex.Replace(m, "[0-9a-f]{8}-[0-9a-f-]{27}", "<id>")).Take(5))
                    _output.WriteLine($"  {message.Count()} x {message.Key}");
                _output.WriteLine($"Emulator: {requests} requests, {totalEmulatorRuns} runs created, {after.InjectedErrors - before.InjectedErrors} injected 5xx, {lost} lost trigger answers, {throttled} 429s, {after.Kernel503 - before.Kernel503} kernel 503s");
                _output.WriteLine($"Emulator requests by operation: {string.Join(", ", after.ByOperation.OrderBy(p => p.Key).Select(p => p.Key + " " + (p.Value - before.ByOperation.GetValueOrDefault(p.Key))))}");
                _output.WriteLine($"Ledger: {created} Trigger(Created), {adopted} Adopt, {unknown} Trigger(Unknown), {rejected} Trigger(Rejected); {orphans} orphan runs; {returned.Distinct().Count()} distinct run ids returned");
                _output.WriteLine($"429 handling: {throttled} 429s, {sink.RetriesAfter429} retries after a 429 ({(throttled == 0 ? "n/a" : (sink.RetriesAfter429 / (double)throttled).ToString("0.00"))} per 429), {exhausted} exhausted; {sink.OtherRetries} retries after 5xx/transport errors");
                _output.WriteLine($"Per run: {ok.Sum(o => o.Result!.Run.Attempts)} trigger attempts in all (max {ok.Max(o => (int?)o.Result!.Run.Attempts) ?? 0}), {ok.Sum(o => o.Result!.Run.ThrottledSeconds):0.0} s throttled in all");
            }
            finally
            {
                HexAccountRegistry.Release(account);
            }
        }

        private sealed record Outcome(string ProjectId, RunResult? Result, Exception? Error);

        private sealed record Stats(int TotalRequests, int RunsCreated, int Throttled429, int Kernel503, int InjectedErrors, int LostTriggerResponses,
            IReadOnlyDictionary<string, int> ByOperation);

        private static Stats Snapshot(HexWorld world) => new Stats(world.Stats.TotalRequests, world.Stats.RunsCreated, world.Stats.Throttled429,
            world.Stats.Kernel503, world.Stats.InjectedErrors, world.Stats.LostTriggerResponses, world.Stats.RequestsByOperation);

        /// <summary>Counts the client's retries as it reports them: one progress record per retry, with its reason.</summary>
        private sealed class CountingSink : IHexEventSink
        {
            private int _after429;
            private int _other;

            public int RetriesAfter429 => Volatile.Read(ref _after429);
            public int OtherRetries => Volatile.Read(ref _other);

            public void Verbose(string message) { }
            public void Warning(string message) { }

            public void Progress(HexProgress progress)
            {
                if (progress.ActivityId != ProgressIds.RateLimitWait || progress.Activity != "Waiting before retrying a Hex request") return;
                if (progress.Status == "retrying after a 429") Interlocked.Increment(ref _after429);
                else Interlocked.Increment(ref _other);
            }
        }
    }

    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class SoakCollection
    {
        public const string Name = "Hardening soak (not in parallel)";
    }
}
