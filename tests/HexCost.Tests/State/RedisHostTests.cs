using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Ledger;
using HexCost.State;
using HexCost.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace HexCost.Tests.State
{
    /// <summary>
    /// Hosts on one Redis state store: separate HexCost.ModuleHost processes, each with a home folder of its own (no state
    /// folder is shared), one real redis-server (AOF, flushed on every write), one token on the emulator. Rate limits are
    /// Hex's 20/min + 60/h scaled to RunProject 20/1s + 60/20s (60/5s where only the limits matter), enforced by the
    /// emulator per token.
    /// </summary>
    [Collection(TimedCollection.Name)]
    public sealed class RedisHostTests : IDisposable
    {
        /// <summary>Hex's RunProject limits, scaled: 20 a second and 60 in 20 seconds (the second window binds after 60 runs).
        /// The least 120 runs take is 22 s: 5 % of it leaves room for what three hops of a 2-core machine's scheduling add.</summary>
        private static readonly (int Limit, TimeSpan Window)[] RunWindows = { (20, TimeSpan.FromSeconds(1)), (60, TimeSpan.FromSeconds(20)) };

        /// <summary>The same, shorter, where only the limits are checked (7 s for 120 runs).</summary>
        private static readonly (int Limit, TimeSpan Window)[] ShortRunWindows = { (20, TimeSpan.FromSeconds(1)), (60, TimeSpan.FromSeconds(5)) };

        /// <summary>The windows as Connect-Hex -RateLimit takes them; the other groups generous.</summary>
        private static string ClientLimits((int Limit, TimeSpan Window)[] windows) =>
            "@{ RunProject = " + string.Join(",", windows.Select(w => $"'{w.Limit}/{w.Window.TotalSeconds}s'")) + "; Read = '3000/1s'; Request = '6000/1s' }";

        private readonly ITestOutputHelper _output;
        private readonly RedisServer _redis = new RedisServer();

        public RedisHostTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _redis.Dispose();

        private static Task<HexWorld> WorldAsync(bool limits, Action<EmulatorOptions>? configure = null, (int Limit, TimeSpan Window)[]? windows = null) => HexWorld.StartAsync(o =>
        {
            windows ??= RunWindows;
            o.MaxKernels = 1000;
            o.RateLimitsEnabled = limits;
            o.RunsPerMinute = windows[0].Limit;
            o.RunMinuteWindow = windows[0].Window;
            o.RunsPerHour = windows[1].Limit;
            o.RunHourWindow = windows[1].Window;
            o.RequestsPerWindow = 6000;
            o.RequestWindow = TimeSpan.FromSeconds(1);
            o.ReadsPerMinute = 3000;
            o.ReadMinuteWindow = TimeSpan.FromSeconds(1);
            o.ReadsPerHour = 100_000;
            o.ReadHourWindow = windows[1].Window;
            configure?.Invoke(o);
        });

        private EngineScript Host(HexWorld world, string name, string body, string limits = EngineScript.Limits, TimeSpan clockSkew = default) =>
            EngineScript.Start(world, name, body, limits, clockSkew: clockSkew, stateStore: _redis.Uri);

        private static List<string> Lines(IEnumerable<IReadOnlyList<string>> outputs, string prefix) =>
            outputs.SelectMany(o => o).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();

        private static string Field(string line, int index) => line.Split(' ')[index];

        /// <summary>The workspace's ledger: every record of the Redis stream, in order.</summary>
        private async Task<List<LedgerRecord>> LedgerAsync(HexWorld world)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            using var store = await RedisStateStore.ConnectAsync(new RedisStoreOptions(_redis.Uri), world.Workspace.OrgId, timeout.Token);
            var records = new List<LedgerRecord>();
            string? cursor = null;
            while (true)
            {
                var page = await store.ReadRecordsAsync(cursor, 1000, timeout.Token);
                Assert.Equal(0, page.Skipped);
                if (page.Records.Count == 0) return records;
                records.AddRange(page.Records);
                cursor = page.Next;
            }
        }

        /// <summary>The ledger agrees with Hex: every run the emulator created is one Trigger Created or Adopt record of the
        /// stream, and no run has two.</summary>
        private async Task<List<LedgerRecord>> LedgerAgreesAsync(HexWorld world, IEnumerable<EmulatorProject> projects)
        {
            var ledger = await LedgerAsync(world);
            var started = ledger.Where(LedgerIndex.StartsRun).Select(r => r.RunId).ToList();
            Assert.Equal(world.Stats.RunsCreated, started.Count);
            Assert.Equal(started.Count, started.Distinct().Count());
            Assert.Equal(projects.SelectMany(p => world.Workspace.RunsOf(p.Id)).Where(r => r.RunTrigger == "API").Select(r => r.RunId).OrderBy(r => r, StringComparer.Ordinal),
                started.OrderBy(r => r, StringComparer.Ordinal));
            return ledger;
        }

        /// <summary>No host kept state in a folder: each home holds no workspace state, and no state folder was made under the
        /// world's root either.</summary>
        private static void NoStateFolders(HexWorld world, IEnumerable<string> hosts)
        {
            foreach (var host in hosts)
            {
                var home = EngineScript.HomeOf(world, host);
                Assert.False(Directory.Exists(Path.Combine(home, "workspaces")), host + " kept state in its home folder");
            }
            Assert.False(Directory.Exists(Path.Combine(world.State.Path, "workspaces")), "a host kept state in a folder");
        }

        /// <summary>Every run creation the emulator saw, checked against each window as a sliding window (stricter than the
        /// emulator's fixed ones): no window ever held more than its limit.</summary>
        private static void WithinEveryWindow(IReadOnlyList<DateTimeOffset> created, (int Limit, TimeSpan Window)[] windows)
        {
            var times = created.OrderBy(t => t).ToList();
            foreach (var (limit, window) in windows)
            {
                for (var i = limit; i < times.Count; i++)
                    Assert.True(times[i] - times[i - limit] >= window,
                        $"{limit + 1} runs within {window.TotalSeconds} s: {times[i - limit]:ss.fff}..{times[i]:ss.fff}");
            }
        }

        /// <summary>The earliest the last of <paramref name="runs"/> permits can be taken after the first when every window
        /// is a sliding log: permit k goes at max over the windows of (permit k - limit) + window.</summary>
        internal static TimeSpan Bound(int runs, IReadOnlyList<(int Limit, TimeSpan Window)> windows)
        {
            var at = new TimeSpan[runs];
            for (var k = 0; k < runs; k++)
                at[k] = windows.Select(w => k >= w.Limit ? at[k - w.Limit] + w.Window : TimeSpan.Zero).Max();
            return at[runs - 1];
        }

        /// <summary>Waits until no RunProject permit of the store counts any more (every log's last expiry has passed on the
        /// server's clock), so a measured batch starts on empty windows, at the emulator too (its windows are shorter than the
        /// permits' holds and opened no later).</summary>
        private async Task PermitsDrainedAsync()
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            while (true)
            {
                var time = await _redis.AdminListAsync("TIME");
                var now = long.Parse(time[0]) * 1_000_000 + long.Parse(time[1]);
                var live = 0L;
                foreach (var key in await _redis.AdminListAsync("KEYS", "hexcost:*permits:*"))
                    live += long.Parse(await _redis.AdminAsync("ZCOUNT", key, "(" + now, "+inf"));
                if (live == 0) return;
                if (DateTime.UtcNow > deadline) Assert.Fail($"{live} permits still count after a minute");
                await Task.Delay(50);
            }
        }

        private static string Items(IEnumerable<(string Project, string Key)> items) =>
            "@(" + string.Join(",", items.Select(i => $"[pscustomobject]@{{ ProjectId = '{i.Project}'; IdempotencyKey = '{i.Key}' }}")) + ")";

        /// <summary>Four hosts, 30 runs each under the scaled limits, racing from warm processes and empty windows.</summary>
        private async Task<(TimeSpan Makespan, TimeSpan Bound)> RaceUnderLimitsAsync(HexWorld world, string prefix, Func<int, TimeSpan> skew,
            (int Limit, TimeSpan Window)[] windows)
        {
            const int hosts = 4, perHost = 30;
            var projects = Enumerable.Range(0, hosts * perHost).Select(i => world.NewProject("Paced " + i)).ToList();
            var warm = world.NewProject("Warm-up");
            var names = Enumerable.Range(0, hosts).Select(i => prefix + i).ToList();
            var started = names.Select((name, i) => Host(world, name, @"
Invoke-HexRun -ProjectId '" + warm.Id + @"' -IdempotencyKey ""warm-$Name"" | Out-Null
$items = " + Items(Enumerable.Range(0, perHost).Select(j => (projects[i * perHost + j].Id, $"{name}-run{j}"))) + @"
Log 'warm'
WaitFor '" + prefix + @"go'
$runs = $items | Invoke-HexRun -ThrottleLimit 5
foreach ($run in $runs) { ""run $($run.ProjectId) $($run.RunId)"" }", ClientLimits(windows), skew(i))).ToList();
            try
            {
                foreach (var host in started) await host.WaitForLogAsync("warm", TimeSpan.FromMinutes(2));
                await PermitsDrainedAsync();
                var before = world.Stats.RunsCreated;
                Assert.Equal(hosts, before);
                EngineScript.Go(world, prefix + "go");
                var outputs = await Task.WhenAll(started.Select(h => h.SucceedAsync(TimeSpan.FromMinutes(2))));

                var runs = Lines(outputs, "run ");
                Assert.Equal(hosts * perHost, runs.Count);
                Assert.Equal(hosts * perHost, runs.Select(l => Field(l, 2)).Distinct().Count());
                Assert.Equal(hosts * perHost + before, world.Stats.RunsCreated);
                Assert.Equal(0, world.Stats.Throttled429);
                var created = world.Stats.RunCreationTimes;
                WithinEveryWindow(created, windows);
                var batch = created.Skip(before).OrderBy(t => t).ToList();
                var makespan = batch[^1] - batch[0];
                var bound = Bound(hosts * perHost, windows);
                _output.WriteLine($"makespan {makespan.TotalSeconds:0.000} s, bound {bound.TotalSeconds:0.000} s, ratio {makespan / bound:0.000}; "
                                  + $"{world.Stats.TotalRequests} requests: " + string.Join(", ", world.Stats.RequestsByOperation.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));
                _output.WriteLine("bursts of 20 (first-last s): " + string.Join(", ", batch.Select((t, i) => (t, i)).GroupBy(p => p.i / 20)
                    .Select(g => $"{(g.First().t - batch[0]).TotalSeconds:0.000}-{(g.Last().t - batch[0]).TotalSeconds:0.000}")));
                await LedgerAgreesAsync(world, projects.Append(warm));
                NoStateFolders(world, names);
                return (makespan, bound);
            }
            finally
            {
                foreach (var host in started) host.Dispose();
            }
        }

        /// <summary>1: four hosts, 30 runs each, under RunProject 20/1s + 60/20s: the combined rate stays within every window
        /// (no 429 at the emulator) and the batch takes at most 1.05 times the least the windows allow.</summary>
        [Fact]
        public async Task Four_hosts_share_the_run_windows_no_429_and_makespan_within_5_percent_of_the_bound()
        {
            await using var world = await WorldAsync(limits: true);
            var (makespan, bound) = await RaceUnderLimitsAsync(world, "h", _ => TimeSpan.Zero, RunWindows);
            Assert.Equal(TimeSpan.FromSeconds(22), bound);
            Assert.True(makespan <= bound * 1.05, $"makespan {makespan.TotalSeconds:0.000} s > 1.05 x {bound.TotalSeconds:0.000} s");
        }

        /// <summary>5: the same race with the hosts' clocks seconds apart (-3 s, 0, +2 s, +5 s): permits are timed by the
        /// server's clock, so still no 429 and every window within its limit.</summary>
        [Fact]
        public async Task Hosts_whose_clocks_are_seconds_apart_still_get_no_429_and_stay_within_the_limits()
        {
            var skews = new[] { TimeSpan.FromSeconds(-3), TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5) };
            await using var world = await WorldAsync(limits: true, windows: ShortRunWindows);
            var (makespan, bound) = await RaceUnderLimitsAsync(world, "skewed", i => skews[i], ShortRunWindows);
            _output.WriteLine($"skewed: ratio {makespan / bound:0.000}");
        }

        /// <summary>2: every host races through the same 30 idempotency keys at once: exactly one run per key, and every host
        /// is answered with that run.</summary>
        [Fact]
        public async Task Four_hosts_racing_through_the_same_keys_start_exactly_one_run_per_key()
        {
            const int hosts = 4, keys = 30;
            await using var world = await WorldAsync(limits: false);
            var projects = Enumerable.Range(0, keys).Select(i => world.NewProject("Keyed " + i)).ToList();
            var items = Items(projects.Select((p, i) => (p.Id, "same-" + i)));
            var names = Enumerable.Range(0, hosts).Select(i => "k" + i).ToList();
            var started = names.Select(name => Host(world, name, @"
$items = " + items + @"
Barrier 'start' " + hosts + @"
$runs = $items | Invoke-HexRun -ThrottleLimit 10
foreach ($run in $runs) { ""key $($run.ProjectId) $($run.RunId)"" }")).ToList();
            try
            {
                var outputs = await Task.WhenAll(started.Select(h => h.SucceedAsync(TimeSpan.FromMinutes(2))));
                var lines = Lines(outputs, "key ");
                Assert.Equal(hosts * keys, lines.Count);
                Assert.All(lines.GroupBy(l => Field(l, 1)), key => Assert.Single(key.Select(l => Field(l, 2)).Distinct()));
                Assert.Equal(keys, lines.Select(l => Field(l, 2)).Distinct().Count());
                Assert.Equal(keys, world.Stats.RunsCreated);
                Assert.All(projects, p => Assert.Single(world.Workspace.RunsOf(p.Id), r => r.RunTrigger == "API"));
                await LedgerAgreesAsync(world, projects);
                NoStateFolders(world, names);
            }
            finally
            {
                foreach (var host in started) host.Dispose();
            }
        }

        /// <summary>3: kill -9 one host while its RunProject answer is held (the run exists, the host never hears of it) and
        /// another while it waits for a permit with a key claimed; then the same keys again from two hosts at once: at most
        /// one run per key (the held run adopted once its owner's lease lapses on the server's clock), and the stream's
        /// Trigger Created + Adopt records are exactly the emulator's runs.</summary>
        [Fact]
        public async Task A_host_killed_mid_trigger_and_rerun_with_another_starts_at_most_one_run_per_key()
        {
            const int keys = 8, lost = 5;
            var lostAnswer = HeldRunAnswers.OfOneProject();
            await using var world = await WorldAsync(limits: false, o => o.HoldRunProjectAnswer = lostAnswer.Hold);
            var projects = Enumerable.Range(0, keys).Select(i => world.NewProject("Killed " + i)).ToList();
            var permitProject = world.NewProject("Killed waiting for a permit");
            var spare = world.NewProject("Spends the permit");
            lostAnswer.Project = projects[lost].Id;
            var items = Items(projects.Select((p, i) => (p.Id, "kill-" + i)).Append((permitProject.Id, "kill-permit")));

            // One at a time: keys 0-4 run, key 5's answer is held; killed there.
            using (var doomed = Host(world, "doomed", "$items = " + items + @"
foreach ($item in $items[0.." + (keys - 1) + @"]) { $run = $item | Invoke-HexRun; Log ""run $($item.IdempotencyKey) $($run.RunId)"" }"))
            // Claims kill-permit, then waits for a RunProject permit (the one of its 20 s window went to the spare project).
            using (var waiting = Host(world, "waiting", "$items = " + items + @"
Invoke-HexRun -ProjectId '" + spare.Id + @"' | Out-Null
$items[" + keys + "] | Invoke-HexRun -Verbose 4>&1 | LogVerbose", limits: "@{ RunProject = '1/20s'; Read = '600/1m'; Request = '600/1m' }"))
            {
                await lostAnswer.Held.WaitAsync(TimeSpan.FromMinutes(1));
                await waiting.WaitForLogAsync(l => l.Contains("Waiting for a rate-limit permit"));
                doomed.Kill();
                waiting.Kill();
                _output.WriteLine(string.Join("\n", doomed.Log().Concat(waiting.Log())));
            }
            Assert.Equal(lost + 2, world.Stats.RunsCreated); // keys 0-5 and the spare project

            // The killed host again, and another host, through the same keys at once.
            var rerun = "$items = " + items + @"
Barrier 'rerun' 2
foreach ($item in $items) { $run = $item | Invoke-HexRun -Verbose 4>&1 | LogVerbose; ""key $($item.IdempotencyKey) $($run.RunId)"" }";
            var hosts = new[] { Host(world, "doomed-again", rerun), Host(world, "other", rerun) };
            try
            {
                var outputs = await Task.WhenAll(hosts.Select(h => h.SucceedAsync(TimeSpan.FromMinutes(2))));
                _output.WriteLine(string.Join("\n", outputs.SelectMany(o => o).Where(l => l.StartsWith("key "))));
                var lines = Lines(outputs, "key ");
                Assert.Equal(2 * (keys + 1), lines.Count);
                Assert.All(lines.GroupBy(l => Field(l, 1)), key => Assert.Single(key.Select(l => Field(l, 2)).Distinct()));
                foreach (var project in projects.Append(permitProject))
                {
                    var runs = world.Workspace.RunsOf(project.Id).Where(r => r.RunTrigger == "API").ToList();
                    Assert.True(runs.Count == 1, $"{project.Title}: {runs.Count} runs");
                    Assert.Contains(lines, l => l.EndsWith(" " + runs[0].RunId, StringComparison.Ordinal));
                }
                Assert.Equal(keys + 2, world.Stats.RunsCreated);
                var ledger = await LedgerAgreesAsync(world, projects.Append(permitProject).Append(spare));
                Assert.Single(ledger, r => r.Type == LedgerRecordTypes.Adopt && r.ProjectId == projects[lost].Id);
                NoStateFolders(world, new[] { "doomed", "waiting", "doomed-again", "other" });
            }
            finally
            {
                foreach (var host in hosts) host.Dispose();
            }
        }

        /// <summary>4: redis-server killed (SIGKILL) mid-batch and started again on the same port from its append-only file:
        /// items whose store step failed meanwhile are reported (HexStateStoreUnavailable or HexStateBusy) and run again with
        /// the same keys; records of runs that happened are held and written once the server answers. No run twice, no record
        /// lost: the stream's Trigger Created + Adopt records are exactly the emulator's runs.</summary>
        [Fact]
        public async Task A_redis_restart_mid_batch_loses_no_record_and_a_rerun_of_the_same_keys_duplicates_no_run()
        {
            const int hosts = 3, perHost = 30;
            await using var world = await WorldAsync(limits: false);
            var projects = Enumerable.Range(0, hosts * perHost).Select(i => world.NewProject("Restart " + i)).ToList();
            var names = Enumerable.Range(0, hosts).Select(i => "r" + i).ToList();
            var started = names.Select((name, i) => Host(world, name, "$items = " + Items(projects.Skip(i * perHost).Take(perHost).Select(p => (p.Id, "restart-" + p.Id))) + @"
$failed = [System.Collections.Generic.List[object]]::new()
Barrier 'start' " + hosts + @"
foreach ($item in $items) {
    try { $run = $item | Invoke-HexRun -ErrorAction Stop; ""run $($item.IdempotencyKey) $($run.RunId)"" }
    catch { Log ""failed $($item.IdempotencyKey) $($_.FullyQualifiedErrorId)""; ""failed $($item.IdempotencyKey) $($_.FullyQualifiedErrorId)""; $failed.Add($item) }
}
Log 'batch'
WaitFor 'rerun'
foreach ($item in $failed) { $run = $item | Invoke-HexRun -ErrorAction Stop; ""rerun $($item.IdempotencyKey) $($run.RunId)"" }
# Records held while the server was away are written before this host goes.
$state = $Session.GetAccount().State
$deadline = [DateTime]::UtcNow.AddMinutes(1)
while ($state.Held -gt 0 -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(20) }
""held $($state.Held)""", limits: "@{ RunProject = '15/1s'; Read = '600/1s'; Request = '600/1s' }")).ToList();
            try
            {
                await Poll.UntilAsync(() => world.Stats.RunsCreated >= 20, "20 runs are created", TimeSpan.FromMinutes(2));
                _redis.Kill();
                var killedAt = world.Stats.RunsCreated;
                // Down until a host has seen it fail, or every host has finished its batch (bounded).
                await Poll.UntilAsync(() => started.Any(h => h.Log().Any(l => l.StartsWith("failed "))) || started.All(h => h.Log().Contains("batch")),
                    "a host sees the store fail", TimeSpan.FromMinutes(1));
                _redis.Start();
                foreach (var host in started) await host.WaitForLogAsync("batch", TimeSpan.FromMinutes(2));
                EngineScript.Go(world, "rerun");
                // Errors caught by the script leave the host's exit code at 1: each host's last line says it got to its end.
                var outputs = (await Task.WhenAll(started.Select(h => h.FinishAsync(TimeSpan.FromMinutes(2))))).Select(r => r.Lines).ToArray();
                Assert.All(outputs, o => Assert.Single(o, l => l.StartsWith("held ", StringComparison.Ordinal)));
                var failed = Lines(outputs, "failed ");
                _output.WriteLine($"killed at {killedAt} runs; {failed.Count} items failed: " + string.Join("; ", failed));
                Assert.All(failed, l => Assert.Matches("^failed \\S+ (HexStateStoreUnavailable|HexStateBusy),", l));
                Assert.All(Lines(outputs, "held "), l => Assert.Equal("held 0", l));
                var runs = Lines(outputs, "run ").Concat(Lines(outputs, "rerun ")).ToList();
                Assert.Equal(hosts * perHost, runs.Count);
                Assert.Equal(hosts * perHost, runs.Select(l => Field(l, 1)).Distinct().Count());
                Assert.All(projects, p => Assert.Single(world.Workspace.RunsOf(p.Id), r => r.RunTrigger == "API"));
                Assert.Equal(hosts * perHost, world.Stats.RunsCreated);
                Assert.Equal(world.Stats.RunsCreated, runs.Select(l => Field(l, 2)).Distinct().Count());
                await LedgerAgreesAsync(world, projects);
                NoStateFolders(world, names);
            }
            finally
            {
                foreach (var host in started) host.Dispose();
            }
        }

        /// <summary>6: the scenario skipped for the file store (EngineProcessSkewTests): a waiter whose clock runs two minutes
        /// ahead must wait for a live claim. On Redis, leases are judged on the server's clock and adoption on Hex's Date
        /// header, so it waits and takes the claimer's run: one run.</summary>
        [Fact]
        public async Task A_live_claim_is_waited_for_by_a_host_whose_clock_runs_two_minutes_ahead()
        {
            var answers = new HeldRunAnswers();
            await using var world = await WorldAsync(limits: false, o => o.HoldRunProjectAnswer = answers.Hold);
            var project = world.NewProject("Skewed host");
            using var claimer = Host(world, "claimer", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v'
""run $($run.RunId)""");
            await answers.Held.WaitAsync(TimeSpan.FromMinutes(1));
            using var waiter = Host(world, "waiter", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v' -Wait -Verbose 4>&1 | LogVerbose
""run $($run.RunId) $($run.Status)""", clockSkew: TimeSpan.FromMinutes(2));
            var waited = waiter.WaitForLogAsync(l => l.Contains("waiting for it"));
            var finished = waiter.FinishAsync();
            await Task.WhenAny(waited, finished);
            Assert.True(waited.IsCompletedSuccessfully, "the waiter did not wait for the live claim:\n" + string.Join("\n", waiter.Log()));
            answers.Release();
            var claimed = await claimer.SucceedAsync();
            var (code, lines) = await finished;
            _output.WriteLine(string.Join("\n", claimed.Concat(lines).Concat(waiter.Log())));
            Assert.Equal(0, code);
            var runId = Field(claimed.Single(l => l.StartsWith("run ")), 1);
            Assert.Equal($"run {runId} COMPLETED", lines.Single(l => l.StartsWith("run ")));
            Assert.Equal(1, world.Stats.RunsCreated);
            await LedgerAgreesAsync(world, new[] { project });
            NoStateFolders(world, new[] { "claimer", "waiter" });
        }
    }
}
