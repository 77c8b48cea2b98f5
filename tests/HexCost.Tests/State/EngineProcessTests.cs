using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.Runs;
using HexCost.State;
using HexCost.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace HexCost.Tests.State
{
    /// <summary>
    /// The six holes of HexCost before the state engine (commit 0bad49b), each as the scenario that showed it, with real
    /// processes (runspaces for the one about runspaces) on the emulator: what the engine must do now.
    /// </summary>
    public class EngineProcessHoleTests
    {
        private readonly ITestOutputHelper _output;

        public EngineProcessHoleTests(ITestOutputHelper output) => _output = output;

        private static string WorkspaceDir(HexWorld world) => Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);

        private static string Field(string line, int index) => line.Split(' ')[index];

        /// <summary>Hole 1: reading the whole history (Get-HexSpendLimit -History) reset the cursor the account read other
        /// processes' records with, so a run another process had completed meanwhile was not a cache hit and a new billable
        /// run started. Now no reader moves anyone's cursor and the cache is the store's index.</summary>
        [Fact]
        public async Task Hole1_a_history_read_does_not_hide_a_run_another_process_completed()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("History");
            using var reader = EngineScript.Start(world, "reader", @"
WaitFor 'go'
Get-HexSpendLimit -History | Out-Null
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v1' -Verbose 4>&1 | LogVerbose
""run $($run.RunId) $($run.FromCache)""");
            await reader.WaitForLogAsync("connected");

            using (var other = EngineScript.Start(world, "other", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v1' -Wait
""run $($run.RunId) $($run.Status)"""))
            {
                var otherRun = (await other.SucceedAsync()).Single(l => l.StartsWith("run "));
                Assert.EndsWith("COMPLETED", otherRun);
                EngineScript.Go(world, "go");
                var lines = await reader.SucceedAsync();
                var run = lines.Single(l => l.StartsWith("run "));
                Assert.Equal(Field(otherRun, 1), Field(run, 1));
                Assert.Equal("True", Field(run, 2));
            }
            Assert.Equal(1, world.Stats.RunsCreated);
        }

        /// <summary>Hole 2: run budgets were counted per process, so two processes on one state folder with WeeklyRunBudget 1
        /// started 2 runs (5 rounds of 5). Now the budget is reserved in the store before the trigger.</summary>
        [Fact]
        public async Task Hole2_two_processes_with_a_weekly_budget_of_one_start_one_run_per_round()
        {
            const int rounds = 5;
            await using var world = await HexWorld.StartAsync();
            var projects = Enumerable.Range(0, rounds).Select(i => world.NewProject("Budget " + i)).ToList();
            var body = @"
$projects = @('" + string.Join("','", projects.Select(p => p.Id)) + @"')
foreach ($round in 0.." + (rounds - 1) + @") {
    Connect ([System.IO.Path]::Combine($StatePath, ""round$round""))
    Set-HexSpendLimit -WeeklyRunBudget 1 -Confirm:$false
    Barrier ""round$round"" 2
    try { $run = Invoke-HexRun -ProjectId $projects[$round]; ""round $round run $($run.RunId)"" }
    catch { ""round $round refused $($_.FullyQualifiedErrorId)"" }
}";
            var hosts = Enumerable.Range(0, 2).Select(i => EngineScript.Start(world, "p" + i, body, connect: false)).ToList();
            try
            {
                var outputs = (await Task.WhenAll(hosts.Select(h => h.FinishAsync()))).SelectMany(r => r.Lines).Where(l => l.StartsWith("round ")).ToList();
                _output.WriteLine(string.Join("\n", outputs));
                for (var round = 0; round < rounds; round++)
                {
                    var mine = outputs.Where(l => Field(l, 1) == round.ToString()).ToList();
                    Assert.Single(mine, l => Field(l, 2) == "run");
                    Assert.Single(mine, l => Field(l, 2) == "refused" && Field(l, 3).StartsWith("HexRunBudgetExceeded,"));
                    Assert.Single(world.Workspace.RunsOf(projects[round].Id), r => r.RunTrigger == "API");
                }
                Assert.Equal(rounds, world.Stats.RunsCreated);
            }
            finally
            {
                foreach (var host in hosts) host.Dispose();
            }
        }

        /// <summary>Hole 3, Ctrl+C: with another process stuck holding the state lock, a runspace waiting for the store ends
        /// within a second of its Stop; another runspace waiting meanwhile is not stalled by it and goes on once the stuck
        /// process is gone.</summary>
        [Fact]
        public async Task Hole3_a_wait_for_a_stuck_process_ends_within_a_second_of_ctrl_c()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Stuck");
            using var first = new ConnectedRunspace(world);
            using var second = new ConnectedRunspace(world);
            using var stuck = StoreHostProcess.Start("hold", WorkspaceDir(world));
            await stuck.ReadyAsync();

            // Both wait for the store: the first for the lock file, the second behind it in this process.
            var (stopped, stoppedHandle) = first.Host.Start("Invoke-HexRun -ProjectId $args[0]", project.Id);
            await Poll.UntilAsync(() => first.Store.Waiting >= 1, "the first runspace waits for the store");
            var (waiting, waitingHandle) = second.Host.Start("Invoke-HexRun -ProjectId $args[0] -SourceVersion b", project.Id);
            using (stopped)
            using (waiting)
            {
                await Poll.UntilAsync(() => first.Store.Waiting >= 2, "both runspaces wait for the store");
                Assert.False(stoppedHandle.IsCompleted || waitingHandle.IsCompleted);

                var clock = Stopwatch.StartNew();
                stopped.BeginStop(null, null);
                await Poll.UntilAsync(() => stoppedHandle.IsCompleted, "the stopped runspace ends", TimeSpan.FromSeconds(25));
                var took = clock.Elapsed;
                _output.WriteLine($"ended {took.TotalMilliseconds:0} ms after Stop");
                Assert.True(took < TimeSpan.FromSeconds(1), $"the stopped runspace ended {took.TotalMilliseconds:0} ms after Stop");
                Assert.Equal(PSInvocationState.Stopped, stopped.InvocationStateInfo.State);
                Assert.False(waitingHandle.IsCompleted, "the other runspace stopped too");

                stuck.CloseInput();
                var output = await Task.Factory.FromAsync(waitingHandle, waiting.EndInvoke);
                Assert.Empty(waiting.Streams.Error);
                Assert.Equal(project.Id, output.Single().Prop<string>("ProjectId"));
            }
            Assert.Equal(1, world.Stats.RunsCreated);
        }

        /// <summary>Hole 3, the timeout: a store that stays busy past the wait is a non-terminating HexStateBusy (it was a
        /// terminating HexStateError). The busy timeout is shortened to 2 s in that process.</summary>
        [Fact]
        public async Task Hole3_a_store_busy_past_the_wait_is_a_non_terminating_HexStateBusy()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Busy");
            using var host = EngineScript.Start(world, "busy", @"
[HexCost.State.FileStateStore].GetProperty('DefaultBusyTimeout', [System.Reflection.BindingFlags]'Static,NonPublic').SetValue($null, [TimeSpan]::FromSeconds(2))
Connect
Get-HexProject | Out-Null
Log 'ready'
WaitFor 'go'
$clock = [System.Diagnostics.Stopwatch]::StartNew()
Invoke-HexRun -ProjectId '" + project.Id + @"' -ErrorAction Continue
""after $($Error[0].FullyQualifiedErrorId) $($clock.Elapsed.TotalSeconds)""
Log 'done'", connect: false);
            await host.WaitForLogAsync("ready");
            using var stuck = StoreHostProcess.Start("hold", WorkspaceDir(world));
            await stuck.ReadyAsync();
            EngineScript.Go(world, "go");
            await host.WaitForLogAsync("done");
            stuck.CloseInput();
            var (_, lines) = await host.FinishAsync();
            _output.WriteLine(string.Join("\n", lines));
            Assert.Contains(lines, l => l.StartsWith("after HexStateBusy,", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.StartsWith("error ", StringComparison.Ordinal) && !l.StartsWith("error HexStateBusy,", StringComparison.Ordinal));
            Assert.Equal(0, world.Stats.RunsCreated);
        }

        /// <summary>Hole 4: a flight shared by runspaces ran on the first caller's token, so its Ctrl+C cancelled the run the
        /// others had joined (OperationCanceledException). Now the flight runs on the account's lifetime: the stopped caller
        /// leaves within a second, the other gets the run.</summary>
        [Fact]
        public async Task Hole4_ctrl_c_in_one_runspace_leaves_another_runspace_s_shared_run_alone()
        {
            var answers = new HeldRunAnswers();
            await using var world = await HexWorld.StartAsync(o => o.HoldRunProjectAnswer = answers.Hold);
            var project = world.NewProject("Shared flight");
            using var first = new ConnectedRunspace(world);
            using var second = new ConnectedRunspace(world);
            Assert.Same(first.Account, second.Account);
            var key = InputCanonicalizer.CacheKey(project.Id, "{}", "v", false, false);

            var (stopped, stoppedHandle) = first.Host.Start("Invoke-HexRun -ProjectId $args[0] -SourceVersion v -Wait", project.Id);
            using (stopped)
            {
                await Poll.UntilAsync(() => world.Stats.RunsCreated == 1, "the first runspace's trigger reaches Hex");
                var (joined, joinedHandle) = second.Host.Start("Invoke-HexRun -ProjectId $args[0] -SourceVersion v -Wait -Verbose", project.Id);
                using (joined)
                {
                    await Poll.UntilAsync(() => first.Account.Flights.TryGetValue(key, out var flight) && flight.Waiters == 2, "the second runspace joins the flight");

                    var clock = Stopwatch.StartNew();
                    stopped.BeginStop(null, null);
                    await Poll.UntilAsync(() => stoppedHandle.IsCompleted, "the stopped runspace ends", TimeSpan.FromSeconds(25));
                    var took = clock.Elapsed;
                    _output.WriteLine($"ended {took.TotalMilliseconds:0} ms after Stop");
                    Assert.True(took < TimeSpan.FromSeconds(1), $"the stopped runspace ended {took.TotalMilliseconds:0} ms after Stop");
                    Assert.False(joinedHandle.IsCompleted, "the joined runspace ended with the stopped one");

                    answers.Release();
                    var output = await Task.Factory.FromAsync(joinedHandle, joined.EndInvoke);
                    Assert.True(joined.Streams.Error.Count == 0, string.Join("\n", joined.Streams.Error.Select(e => e.FullyQualifiedErrorId + ": " + e)));
                    var run = output.Single();
                    Assert.Equal("COMPLETED", run.Prop<string>("Status"));
                    Assert.True(run.Prop<bool>("FromCache"));
                    Assert.Equal(world.Workspace.RunsOf(project.Id).Single(r => r.RunTrigger == "API").RunId, run.Prop<string>("RunId"));
                }
            }
            Assert.Equal(1, world.Stats.RunsCreated);
        }

        /// <summary>Hole 5: every connect replayed the whole ledger (and kept every trigger ever made), and records applied out
        /// of order left stale claims. Now a connect to a workspace whose ledger holds 100,000 records parses none of them (the
        /// migration of the legacy ledger, once, does), a completed run of that history is a cache hit from the index, the
        /// budget keeps only the last week's runs, and an Intent, Trigger and Complete another process has just written is a
        /// cache hit at once, with no wait for a claim.</summary>
        [Fact]
        public async Task Hole5_a_connect_reads_no_history_and_what_another_process_just_wrote_is_a_hit_at_once()
        {
            const int records = 100_000;
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Long history");
            var dir = WorkspaceDir(world);
            var now = TestClock.Now;
            var legacyKey = InputCanonicalizer.CacheKey(project.Id, "{}", "legacy", false, false);
            var legacyRun = Guid.NewGuid().ToString();
            // 50,000 runs, one every 90 s back from now (about 52 days): a trigger and a completion each; the run of the
            // "legacy" source version sits in the middle.
            LedgerFile.WriteLegacy(dir, Enumerable.Range(0, records / 2).SelectMany(i =>
            {
                var at = now - TimeSpan.FromSeconds(90) * (records / 2 - i);
                var middle = i == records / 4;
                var runId = middle ? legacyRun : Guid.NewGuid().ToString();
                var key = middle ? legacyKey : "old-" + i;
                return new[]
                {
                    new LedgerRecord { Id = "t" + i, Type = LedgerRecordTypes.Trigger, Outcome = TriggerOutcomes.Created, At = at, ProjectId = project.Id, RunId = runId, CacheKey = key, SourceVersion = middle ? "legacy" : null, InputParameters = "{}" },
                    new LedgerRecord { Id = "c" + i, Type = LedgerRecordTypes.Complete, Status = "COMPLETED", At = at + TimeSpan.FromSeconds(30), ProjectId = project.Id, RunId = runId, CacheKey = key, SourceVersion = middle ? "legacy" : null, InputParameters = "{}" },
                };
            }));

            // The first connect migrates the legacy ledger: the one time it is read.
            using (var migrating = EngineScript.Start(world, "migrating", "\"parsed $(Parsed)\"", connect: true))
            {
                var parsed = (await migrating.SucceedAsync(TimeSpan.FromMinutes(3))).Single(l => l.StartsWith("parsed "));
                Assert.Equal(records.ToString(), Field(parsed, 1));
            }
            var budget = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "state", "budget.json"))).RootElement.GetProperty("runs");
            var weekAgo = (now - TimeSpan.FromDays(8) - TimeSpan.FromMinutes(5)).UtcTicks;
            Assert.InRange(budget.GetArrayLength(), 1, 8 * 24 * 40 + 100);
            Assert.All(budget.EnumerateArray(), r => Assert.True(r.GetProperty("at").GetInt64() > weekAgo));

            using var asker = EngineScript.Start(world, "asker", @"
""parsed-at-connect $(Parsed)""
WaitFor 'go'
$legacy = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'legacy' -Verbose 4>&1 | LogVerbose
""legacy $($legacy.RunId) $($legacy.FromCache)""
$fresh = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'fresh' -Verbose 4>&1 | LogVerbose
""fresh $($fresh.RunId) $($fresh.FromCache)""
""parsed-after $(Parsed)""");
            await asker.WaitForLogAsync("connected");
            using (var writer = EngineScript.Start(world, "writer", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'fresh' -Wait
""fresh $($run.RunId) $($run.Status)"""))
            {
                var written = (await writer.SucceedAsync()).Single(l => l.StartsWith("fresh "));
                EngineScript.Go(world, "go");
                var lines = await asker.SucceedAsync();
                _output.WriteLine(string.Join("\n", lines.Concat(asker.Log())));
                Assert.Contains("parsed-at-connect 0", lines);
                Assert.Contains($"legacy {legacyRun} True", lines);
                Assert.Contains($"fresh {Field(written, 1)} True", lines);
                Assert.Contains("parsed-after 0", lines);
                Assert.DoesNotContain(asker.Log(), l => l.Contains("waiting for it") || l.Contains("waiting for its answer"));
            }
            Assert.Equal(1, world.Stats.RunsCreated);
        }

        /// <summary>Hole 6: a claim was live while a process with its id ran here and had started when the record said, which
        /// means nothing for a process on another host (or in another PID namespace: here its id is another process's). Now a
        /// claim is held by its owner's lease: a live session's claim is waited for, whatever its process id, and its run
        /// taken instead of starting another.</summary>
        [Fact]
        public async Task Hole6_a_live_claim_from_another_pid_namespace_is_waited_for_and_its_run_taken()
        {
            var answers = new HeldRunAnswers();
            await using var world = await HexWorld.StartAsync(o => o.HoldRunProjectAnswer = answers.Hold);
            var project = world.NewProject("Other host");
            var otherHost = EngineScript.CanUsePidNamespace;
            _output.WriteLine(otherHost ? "the claiming process runs in a PID namespace of its own" : "unshare is not usable here: the claiming process shares this PID namespace");
            using var claimer = EngineScript.Start(world, "claimer", @"
""pid $PID""
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v'
""run $($run.RunId)""", otherPidNamespace: otherHost);
            await answers.Held.WaitAsync(TimeSpan.FromMinutes(1));

            using var waiter = EngineScript.Start(world, "waiter", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v' -Wait -Verbose 4>&1 | LogVerbose
""run $($run.RunId) $($run.Status)""");
            await waiter.WaitForLogAsync(l => l.Contains("waiting for it"));
            answers.Release();

            var claimed = await claimer.SucceedAsync();
            var waited = await waiter.SucceedAsync();
            _output.WriteLine(string.Join("\n", claimed.Concat(waited)));
            if (otherHost) Assert.Contains("pid 1", claimed);
            var runId = Field(claimed.Single(l => l.StartsWith("run ")), 1);
            Assert.Equal($"run {runId} COMPLETED", waited.Single(l => l.StartsWith("run ")));
            Assert.Equal(1, world.Stats.RunsCreated);
        }
    }
}

namespace HexCost.Tests.State
{
    /// <summary>Processes racing round after round (each round starts them together at a barrier) on one state folder:
    /// one run per idempotency key, one per cache key, none over a run budget, none answered 429.</summary>
    public class EngineProcessRaceTests
    {
        private readonly ITestOutputHelper _output;

        public EngineProcessRaceTests(ITestOutputHelper output) => _output = output;

        private static string WorkspaceDir(HexWorld world) => Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);

        private static List<string> Lines(IEnumerable<IReadOnlyList<string>> outputs, string prefix) =>
            outputs.SelectMany(o => o).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToList();

        /// <summary>The ledger agrees with Hex: every run the emulator created is one Trigger Created or Adopt record.</summary>
        private static void LedgerAgrees(HexWorld world)
        {
            var ledger = LedgerFile.ReadAll(WorkspaceDir(world));
            var started = ledger.Where(LedgerIndex.StartsRun).Select(r => r.RunId).ToList();
            Assert.Equal(world.Stats.RunsCreated, started.Count);
            Assert.Equal(started.Count, started.Distinct().Count());
        }

        /// <param name="refusals">Errors are expected (and caught by the script): the exit code says nothing then.</param>
        private static async Task<IReadOnlyList<string>[]> RaceAsync(HexWorld world, int processes, Func<int, string> body, string limits = EngineScript.Limits,
            bool refusals = false)
        {
            var hosts = Enumerable.Range(0, processes).Select(i => EngineScript.Start(world, "p" + i, body(i), limits)).ToList();
            try
            {
                if (refusals) return (await Task.WhenAll(hosts.Select(h => h.FinishAsync(TimeSpan.FromMinutes(3))))).Select(r => r.Lines).ToArray();
                return await Task.WhenAll(hosts.Select(h => h.SucceedAsync(TimeSpan.FromMinutes(3))));
            }
            finally
            {
                foreach (var host in hosts) host.Dispose();
            }
        }

        [Fact]
        public async Task Three_processes_racing_for_one_idempotency_key_a_round_start_one_run_per_key()
        {
            const int rounds = 50, processes = 3;
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Keyed");
            var outputs = await RaceAsync(world, processes, _ => @"
foreach ($round in 1.." + rounds + @") {
    Barrier ""round$round"" " + processes + @"
    $run = Invoke-HexRun -ProjectId '" + project.Id + @"' -IdempotencyKey ""race-$round""
    ""key $round $($run.RunId)""
}");
            var lines = Lines(outputs, "key ");
            Assert.Equal(rounds * processes, lines.Count);
            Assert.All(lines.GroupBy(l => l.Split(' ')[1]), round => Assert.Single(round.Select(l => l.Split(' ')[2]).Distinct()));
            Assert.Equal(rounds, lines.Select(l => l.Split(' ')[2]).Distinct().Count());
            Assert.Equal(rounds, world.Stats.RunsCreated);
            LedgerAgrees(world);
        }

        [Fact]
        public async Task Three_processes_racing_for_one_cache_key_a_round_start_one_run_per_key()
        {
            const int rounds = 50, processes = 3;
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Cached");
            var outputs = await RaceAsync(world, processes, _ => @"
foreach ($round in 1.." + rounds + @") {
    Barrier ""round$round"" " + processes + @"
    $run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion ""v$round""
    ""version $round $($run.RunId)""
}");
            var lines = Lines(outputs, "version ");
            Assert.Equal(rounds * processes, lines.Count);
            Assert.All(lines.GroupBy(l => l.Split(' ')[1]), round => Assert.Single(round.Select(l => l.Split(' ')[2]).Distinct()));
            Assert.Equal(rounds, world.Stats.RunsCreated);
            LedgerAgrees(world);
        }

        /// <summary>50 projects capped at one run a week each; three processes try every project at once.</summary>
        [Fact]
        public async Task Three_processes_trying_every_project_capped_at_one_run_start_one_run_per_project()
        {
            const int projects = 50, processes = 3;
            await using var world = await HexWorld.StartAsync();
            var capped = Enumerable.Range(0, projects).Select(i => world.NewProject("Capped " + i)).ToList();
            var outputs = await RaceAsync(world, processes, i => (i == 0 ? "Set-HexSpendLimit -MaxRunsPerProjectPerWeek 1 -Confirm:$false\n" : "") + @"
Barrier 'policy' " + processes + @"
foreach ($project in @('" + string.Join("','", capped.Select(p => p.Id)) + @"')) {
    Barrier $project " + processes + @"
    try { $run = Invoke-HexRun -ProjectId $project; ""run $project $($run.RunId)"" }
    catch { ""refused $project $($_.FullyQualifiedErrorId)"" }
}", refusals: true);
            var runs = Lines(outputs, "run ");
            var refused = Lines(outputs, "refused ");
            Assert.Equal(projects, runs.Count);
            Assert.Equal(projects * (processes - 1), refused.Count);
            Assert.All(refused, l => Assert.StartsWith("HexRunBudgetExceeded,", l.Split(' ')[2]));
            Assert.All(capped, p => Assert.Single(world.Workspace.RunsOf(p.Id), r => r.RunTrigger == "API"));
            Assert.Equal(projects, world.Stats.RunsCreated);
            LedgerAgrees(world);
        }

        /// <summary>Four processes take the last permits of RunProject 3/1s together, with the emulator enforcing it (fixed
        /// windows from the first request): no 429, and no 4 runs created within any second.</summary>
        [Fact]
        public async Task Four_processes_taking_the_last_permits_of_a_window_get_no_429()
        {
            const int processes = 4, perProcess = 6;
            await using var world = await HexWorld.StartAsync(o =>
            {
                o.RateLimitsEnabled = true;
                o.RunsPerMinute = 3;
                o.RunMinuteWindow = TimeSpan.FromSeconds(1);
                o.RunsPerHour = 1000;
                o.RequestsPerWindow = 60;
                o.RequestWindow = TimeSpan.FromSeconds(1);
                o.ReadsPerMinute = 30;
                o.ReadMinuteWindow = TimeSpan.FromSeconds(1);
            });
            var projects = Enumerable.Range(0, processes * perProcess).Select(i => world.NewProject("Paced " + i)).ToList();
            var outputs = await RaceAsync(world, processes, i => @"
Barrier 'start' " + processes + @"
foreach ($project in @('" + string.Join("','", projects.Skip(i * perProcess).Take(perProcess).Select(p => p.Id)) + @"')) {
    $run = Invoke-HexRun -ProjectId $project -IdempotencyKey ""paced-$project""
    ""run $project $($run.RunId)""
}", limits: "@{ RunProject = '3/1s'; Read = '30/1s'; Request = '60/1s' }");
            _output.WriteLine(string.Join(", ", world.Stats.RunCreationTimes.Select(t => t.ToString("ss.fff"))));
            Assert.Equal(processes * perProcess, Lines(outputs, "run ").Count);
            Assert.Equal(0, world.Stats.Throttled429);
            Assert.Equal(processes * perProcess, world.Stats.RunsCreated);
            Assert.All(projects, p => Assert.Single(world.Workspace.RunsOf(p.Id), r => r.RunTrigger == "API"));
            var times = world.Stats.RunCreationTimes.OrderBy(t => t).ToList();
            for (var i = 3; i < times.Count; i++)
                Assert.True(times[i] - times[i - 3] >= TimeSpan.FromSeconds(1), $"4 runs within a second at {times[i - 3]:ss.fff}..{times[i]:ss.fff}");
            LedgerAgrees(world);
        }
    }
}

namespace HexCost.Tests.State
{
    /// <summary>kill -9 at every step of a trigger with an idempotency key, then the same keys run again: at most one run per
    /// key, and the ledger agrees with Hex.</summary>
    public class EngineProcessKillTests
    {
        private readonly ITestOutputHelper _output;

        public EngineProcessKillTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public async Task A_process_killed_at_any_step_of_a_trigger_and_rerun_starts_at_most_one_run_per_key()
        {
            var lostAnswer = HeldRunAnswers.OfOneProject();
            await using var world = await HexWorld.StartAsync(o => o.HoldRunProjectAnswer = lostAnswer.Hold);
            var steps = new[] { "before-claim", "waiting-for-permit", "after-post", "after-record" };
            var projects = steps.ToDictionary(s => s, s => world.NewProject("Killed " + s));
            var spare = world.NewProject("Spends the permit");
            lostAnswer.Project = projects["after-post"].Id;
            string Invoke(string step, string extra = "") =>
                $"Invoke-HexRun -ProjectId '{projects[step].Id}' -IdempotencyKey 'key-{step}'{extra}";

            var doomed = new List<EngineScript>
            {
                // Connected, about to run, killed before it claims the key.
                EngineScript.Start(world, "before-claim", "Log 'ready'\nWaitFor 'never'\n" + Invoke("before-claim")),
                // Claims the key, then waits for a RunProject permit (the one of this 20 s window went to another project).
                EngineScript.Start(world, "waiting-for-permit", $"Invoke-HexRun -ProjectId '{spare.Id}' | Out-Null\n" + Invoke("waiting-for-permit", " -Verbose 4>&1 | LogVerbose"),
                    limits: "@{ RunProject = '1/20s'; Read = '600/1m'; Request = '600/1m' }"),
                // Its RunProject created the run; the answer is held until the process is killed.
                EngineScript.Start(world, "after-post", Invoke("after-post")),
                // The run is triggered and recorded; killed before anything else.
                EngineScript.Start(world, "after-record", $"$run = {Invoke("after-record")}\nLog \"recorded $($run.RunId)\"\nWaitFor 'never'"),
            };
            try
            {
                await doomed[0].WaitForLogAsync("ready");
                await doomed[1].WaitForLogAsync(l => l.Contains("Waiting for a rate-limit permit"));
                await lostAnswer.Held.WaitAsync(TimeSpan.FromMinutes(1));
                await doomed[3].WaitForLogAsync("recorded ");
                foreach (var host in doomed) host.Kill();
            }
            finally
            {
                foreach (var host in doomed) host.Dispose();
            }
            var createdBeforeRerun = world.Stats.RunsCreated;
            _output.WriteLine($"{createdBeforeRerun} runs created before the rerun");
            Assert.Equal(3, createdBeforeRerun); // the spare project's, after-post's and after-record's

            var rerun = string.Join("\n", steps.Select(step => $"$run = {Invoke(step, " -Wait")}\n\"key {step} $($run.RunId) $($run.Status)\""));
            var first = await RunAsync("rerun", rerun);
            var again = await RunAsync("rerun-again", rerun);
            Assert.Equal(first, again);
            Assert.All(first, l => Assert.EndsWith(" COMPLETED", l));
            foreach (var step in steps)
            {
                var runs = world.Workspace.RunsOf(projects[step].Id).Where(r => r.RunTrigger == "API").ToList();
                Assert.True(runs.Count == 1, $"{step}: {runs.Count} runs");
                Assert.Contains($"key {step} {runs[0].RunId} COMPLETED", first);
            }
            Assert.Equal(5, world.Stats.RunsCreated);

            var ledger = LedgerFile.ReadAll(Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId));
            var started = ledger.Where(LedgerIndex.StartsRun).Select(r => r.RunId).ToList();
            Assert.Equal(world.Stats.RunsCreated, started.Count);
            Assert.Equal(started.Count, started.Distinct().Count());
            Assert.Contains(ledger, r => r.Type == LedgerRecordTypes.Adopt && r.ProjectId == projects["after-post"].Id);

            async Task<List<string>> RunAsync(string name, string body)
            {
                using var host = EngineScript.Start(world, name, body);
                var lines = (await host.SucceedAsync(TimeSpan.FromMinutes(2))).Where(l => l.StartsWith("key ")).ToList();
                _output.WriteLine(string.Join("\n", lines));
                return lines;
            }
        }
    }
}

namespace HexCost.Tests.State
{
    public class EngineProcessSkewTests
    {
        private readonly ITestOutputHelper _output;

        public EngineProcessSkewTests(ITestOutputHelper output) => _output = output;

        /// <summary>Hole 6, clocks: two hosts on one state folder (a file share) whose clocks differ by two minutes, or one
        /// host whose wall clock stepped forward between a heartbeat and a read. The file store judges leases on each reader's
        /// own clock, so the waiter may find the claimer's lease ended; it then looks in Hex for the run the claim may have
        /// started (on Hex's clock, from its Date header) and adopts it instead of sending its own.</summary>
        [Fact]
        public async Task A_live_claim_is_waited_for_by_a_process_whose_clock_runs_two_minutes_ahead()
        {
            var answers = new HeldRunAnswers();
            await using var world = await HexWorld.StartAsync(o => o.HoldRunProjectAnswer = answers.Hold);
            var project = world.NewProject("Skewed host");
            using var claimer = EngineScript.Start(world, "claimer", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v'
""run $($run.RunId)""");
            await answers.Held.WaitAsync(TimeSpan.FromMinutes(1));
            using var waiter = EngineScript.Start(world, "waiter", @"
$run = Invoke-HexRun -ProjectId '" + project.Id + @"' -SourceVersion 'v' -Wait -Verbose 4>&1 | LogVerbose
""run $($run.RunId) $($run.Status)""", clockSkew: TimeSpan.FromMinutes(2));
            var waited = waiter.WaitForLogAsync(l => l.Contains("waiting for it"));
            var finished = waiter.FinishAsync();
            await Task.WhenAny(waited, finished);
            answers.Release();
            await claimer.FinishAsync();
            var (_, lines) = await finished;
            _output.WriteLine(string.Join("\n", lines.Concat(waiter.Log())));
            Assert.Equal(1, world.Stats.RunsCreated);
        }
    }
}
