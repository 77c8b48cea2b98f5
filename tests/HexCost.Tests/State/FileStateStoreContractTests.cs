using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.State;
using HexCost.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>The contract, on the file store: workspaces are folders of one temporary root; the clock is a fake one
    /// that starts at the real time, so host processes (on the real clock) and the tests agree on what is past.</summary>
    public sealed class FileStateStoreContractTests : StateStoreContract
    {
        private readonly TempDir _root = new TempDir();
        private readonly FakeTimeProvider _time = new FakeTimeProvider(DateTimeOffset.UtcNow);

        protected override Task<IHexStateStore> OpenAsync(string workspace) =>
            Task.FromResult<IHexStateStore>(new FileStateStore(HostLocation(workspace), _time));

        protected override Task AdvanceAsync(IHexStateStore store, TimeSpan by)
        {
            _time.Advance(by);
            return Task.CompletedTask;
        }

        protected override string HostLocation(string workspace) => Path.Combine(_root.Path, workspace);

        public override void Dispose()
        {
            base.Dispose();
            _root.Dispose();
        }
    }

    /// <summary>What only the file store has: its lock file, its files on disk and what a crash leaves in them.</summary>
    public sealed class FileStateStoreTests : IDisposable
    {
        private readonly TempDir _dir = new TempDir();
        private readonly FakeTimeProvider _time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        private readonly CancellationTokenSource _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        public void Dispose()
        {
            _timeout.Dispose();
            _dir.Dispose();
        }

        private CancellationToken Ct => _timeout.Token;
        private string Ledger => Path.Combine(_dir.Path, FileStateStore.LedgerFileName);

        private FileStateStore Open(TimeSpan? busy = null) => new FileStateStore(_dir.Path, _time, busy);

        private static LedgerRecord Record(string id, DateTimeOffset at, string? runId = null) => new LedgerRecord
        {
            Id = id, Type = LedgerRecordTypes.Trigger, At = at, RunId = runId ?? id, Outcome = TriggerOutcomes.Created,
        };

        private async Task<List<LedgerRecord>> ReadAllAsync(IHexStateStore store)
        {
            var records = new List<LedgerRecord>();
            string? cursor = null;
            while (true)
            {
                var page = await store.ReadRecordsAsync(cursor, 100, Ct);
                if (page.Records.Count == 0) return records;
                records.AddRange(page.Records);
                cursor = page.Next;
            }
        }

        // ---- The lock -------------------------------------------------------------------------------------------------

        [Fact]
        public async Task A_lock_another_process_holds_makes_the_store_busy_after_its_timeout()
        {
            var store = Open(TimeSpan.FromSeconds(1));
            await store.ReadAsync(new[] { "k" }, Ct);
            using var holder = StoreHostProcess.Start("hold", _dir.Path);
            await holder.ReadyAsync();

            var waited = Stopwatch.StartNew();
            var busy = await Assert.ThrowsAsync<StateStoreBusyException>(() => store.ReadAsync(new[] { "k" }, Ct));
            Assert.InRange(waited.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(30));
            Assert.Contains(Path.Combine(_dir.Path, FileStateStore.LockFileName), busy.Message);
            Assert.Contains("End that process", busy.Message);

            holder.CloseInput();
            await holder.FinishAsync();
            Assert.Equal(0, (await store.ReadAsync(new[] { "k" }, Ct))["k"].Version);
        }

        [Fact]
        public async Task Cancelling_ends_a_wait_for_the_lock_within_a_second_in_the_file_lock_or_behind_another_thread()
        {
            var store = Open(TimeSpan.FromSeconds(60));
            await store.ReadAsync(new[] { "k" }, Ct);
            using var holder = StoreHostProcess.Start("hold", _dir.Path);
            await holder.ReadyAsync();

            using var first = new CancellationTokenSource();
            using var second = new CancellationTokenSource();
            var onLock = store.ReadAsync(new[] { "k" }, first.Token);
            var queued = store.TakePermitAsync(new PermitRequest("p", "o", new[] { new PermitWindow("g", TimeSpan.FromSeconds(1), 1) }, TimeSpan.Zero), second.Token);
            await Task.Delay(300);
            Assert.False(onLock.IsCompleted);
            Assert.False(queued.IsCompleted);

            var waited = Stopwatch.StartNew();
            second.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(1), $"the queued wait ended {waited.Elapsed} after its cancellation");
            waited.Restart();
            first.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => onLock);
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(1), $"the wait on the lock file ended {waited.Elapsed} after its cancellation");
        }

        // ---- Crashes --------------------------------------------------------------------------------------------------

        private sealed class Crash : Exception
        {
        }

        public static IEnumerable<object[]> CrashPoints() => new[]
        {
            new object[] { "pending", "none" },
            new object[] { "ledger", "none" },
            new object[] { "ledger", "torn-first" },
            new object[] { "ledger", "torn-second" },
            new object[] { "ledger", "unterminated" },
            new object[] { "index", "none" },
            new object[] { "budget", "none" },
        };

        [Theory]
        [MemberData(nameof(CrashPoints))]
        public async Task A_commit_cut_short_at_any_point_is_finished_exactly_once_by_the_next_operation(string step, string tear)
        {
            var crashing = Open();
            var now = _time.GetUtcNow();
            await crashing.RenewOwnerAsync("me", TimeSpan.FromHours(1), Ct);
            var first = new StoreCommit();
            first.Records.Add(Record("r0", now));
            Assert.True((await crashing.CommitAsync(first, Ct)).Committed);
            Assert.True((await crashing.ReserveRunAsync(new BudgetRequest { ReservationId = "res", Owner = "me", ProjectId = "p" }, Ct)).Reserved);
            var before = new FileInfo(Ledger).Length;

            var commit = new StoreCommit { EndReservation = "res" };
            commit.Expect.Add(new KeyValuePair<string, long>("k", 0));
            commit.Records.Add(Record("r1", now));
            commit.Records.Add(Record("r2", now));
            commit.Writes.Add(new KeyValuePair<string, string?>("k", "\"mine\""));
            commit.Writes.Add(new KeyValuePair<string, string?>("other", "\"too\""));
            commit.BudgetAdds.Add(new BudgetEntry("res", "p", now));
            crashing.AfterStep = s =>
            {
                if (s != step) return;
                var full = File.ReadAllBytes(Ledger);
                var firstEnd = Array.IndexOf(full, (byte)'\n', (int)before) + 1;
                var cut = tear switch
                {
                    "torn-first" => (int)before + 10,
                    "torn-second" => firstEnd + 10,
                    "unterminated" => full.Length - 1,
                    _ => full.Length,
                };
                File.WriteAllBytes(Ledger, full.Take(cut).ToArray());
                throw new Crash();
            };
            await Assert.ThrowsAsync<Crash>(() => crashing.CommitAsync(commit, Ct));
            Assert.True(File.Exists(Path.Combine(_dir.Path, "state", "commit.pending")));

            // A redo that crashes too is finished by the one after it.
            var second = Open();
            second.AfterStep = s =>
            {
                if (s == "index") throw new Crash();
            };
            await Assert.ThrowsAsync<Crash>(() => second.ReadAsync(new[] { "k" }, Ct));

            var store = Open();
            var view = await store.ReadAsync(new[] { "k", "other" }, Ct);
            Assert.Equal(1, view["k"].Version);
            Assert.Equal("\"mine\"", view["k"].Value);
            Assert.Equal("\"too\"", view["other"].Value);
            Assert.False(File.Exists(Path.Combine(_dir.Path, "state", "commit.pending")));
            Assert.Equal(new[] { "r0", "r1", "r2" }, (await ReadAllAsync(store)).Select(r => r.Id));
            var budget = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "next", Owner = "me", ProjectId = "p" }, Ct);
            Assert.Equal(1, budget.Total);

            var again = new StoreCommit();
            again.Records.Add(Record("r3", now));
            Assert.True((await store.CommitAsync(again, Ct)).Committed);
            Assert.Equal(new[] { "r0", "r1", "r2", "r3" }, (await ReadAllAsync(store)).Select(r => r.Id));
            Assert.Equal(new[] { "r0", "r1", "r2", "r3" }, LinesOfLedger().Select(r => r.Id));
        }

        [Fact]
        public async Task A_process_killed_in_an_append_loop_leaves_whole_records_that_the_index_and_budget_agree_with()
        {
            using (var host = StoreHostProcess.Start("append", _dir.Path, "id=w"))
            {
                await host.ReadyAsync();
                host.Go();
                await host.WaitForAsync(l => l.GetProperty("op").GetString() == "append" && l.GetProperty("round").GetInt32() >= 40);
                host.Kill();
            }

            var store = new FileStateStore(_dir.Path);
            await store.RenewOwnerAsync("checker", TimeSpan.FromMinutes(1), Ct);
            var records = await ReadAllAsync(store);
            var ids = records.Select(r => r.Id!).ToList();
            Assert.True(ids.Count > 40);
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => "w-" + i), ids);
            Assert.All(records, r => Assert.Equal(2000, r.Note!.Length));

            var keys = Enumerable.Range(0, ids.Count + 3).Select(i => "run:w-" + i).ToList();
            var view = await store.ReadAsync(keys, Ct);
            Assert.Equal(ids.Select(id => "run:" + id), keys.Where(k => view[k].Exists));
            var budget = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "check", Owner = "checker", ProjectId = "project" }, Ct);
            Assert.Equal(ids.Count, budget.Total);
            Assert.Equal(ids.Count, budget.Project);
        }

        // ---- The legacy ledger ----------------------------------------------------------------------------------------

        [Fact]
        public async Task A_ledger_written_in_todays_format_reads_back_record_for_record_and_stays_readable_by_it()
        {
            var at = new DateTimeOffset(2026, 5, 1, 10, 30, 15, 123, TimeSpan.FromHours(2));
            var written = new List<LedgerRecord>
            {
                new LedgerRecord { Type = LedgerRecordTypes.Intent, At = at, ProjectId = "p1", IdempotencyKey = "nightly", InputParameters = "{\"a\":1}" },
                new LedgerRecord { Id = "t1", Type = LedgerRecordTypes.Trigger, At = at.AddSeconds(1), ProjectId = "p1", RunId = "r1", Outcome = TriggerOutcomes.Created, Attempts = 2, ThrottledSeconds = 1.5, Forced = true, ProcessStartedAt = at },
                new LedgerRecord { Id = "c1", Type = LedgerRecordTypes.CreditUsage, At = at.AddDays(1), Credits = 12.345m, UsageUser = "a@b.c", UsageKey = "row-1", Note = "ünïcode ✓ \"quoted\"\nline" },
                new LedgerRecord { Type = LedgerRecordTypes.Complete, At = at.AddDays(2), RunId = "r1", Status = "COMPLETED", ElapsedSeconds = 61.25, StartTime = at, EndTime = at.AddMinutes(1) },
            };
            LedgerFile.WriteLegacy(_dir.Path, written);
            File.AppendAllText(Ledger, "{\"v\":1,\"type\":\"Trig");

            var store = Open();
            Assert.True(store.HasLegacyLedgerOnly);
            Assert.False(store.IsInitialized);
            var expected = LinesOfLedger().Select(r => JsonSerializer.Serialize(r, FileStateStore.LedgerJson)).ToList();
            Assert.Equal(4, expected.Count);
            Assert.Equal(expected, (await ReadAllAsync(store)).Select(r => JsonSerializer.Serialize(r, FileStateStore.LedgerJson)));
            Assert.Equal(File.ReadAllLines(Ledger).Take(4), expected);

            var commit = new StoreCommit();
            commit.Records.Add(Record("new", _time.GetUtcNow()));
            Assert.True((await store.CommitAsync(commit, Ct)).Committed);
            Assert.Equal(written.Select(r => r.RunId).Append("new"), LinesOfLedger().Select(r => r.RunId));
            Assert.False(store.IsInitialized);
            Assert.True(Open().HasLegacyLedgerOnly);

            await store.SeedIndexAsync(new[] { new KeyValuePair<string, string?>("idem:nightly", "\"r1\"") }, new[] { new BudgetEntry("t1", "p1", _time.GetUtcNow()) }, Ct);
            Assert.True(store.IsInitialized);
            var reopened = Open();
            Assert.False(reopened.HasLegacyLedgerOnly);
            Assert.Equal(1, (await reopened.ReadAsync(new[] { "idem:nightly" }, Ct))["idem:nightly"].Version);
            await reopened.RenewOwnerAsync("me", TimeSpan.FromMinutes(1), Ct);
            Assert.Equal(1, (await reopened.ReserveRunAsync(new BudgetRequest { ReservationId = "x", Owner = "me", ProjectId = "P1" }, Ct)).Project);
        }

        [Fact]
        public async Task A_new_folder_is_initialized_by_its_first_operation()
        {
            var store = Open();
            Assert.False(store.HasLegacyLedgerOnly);
            Assert.False(store.IsInitialized);
            await store.NowAsync(Ct);
            await store.ReadAsync(new[] { "k" }, Ct);
            Assert.True(store.IsInitialized);
            Assert.False(Open().HasLegacyLedgerOnly);
        }

        // ---- Files ----------------------------------------------------------------------------------------------------

        [Fact]
        public async Task Permits_touch_neither_the_ledger_nor_the_index_and_every_file_is_where_the_layout_says()
        {
            var store = Open();
            var windows = new[] { new PermitWindow("g", TimeSpan.FromSeconds(1), 100) };
            for (var i = 0; i < 20; i++)
            {
                Assert.True((await store.TakePermitAsync(new PermitRequest("p" + i, "o", windows, TimeSpan.FromSeconds(1)), Ct)).Granted);
                await store.AnswerPermitAsync("p" + i, windows, Ct);
            }
            var state = Path.Combine(_dir.Path, "state");
            Assert.False(File.Exists(Ledger));
            Assert.Empty(Directory.GetFiles(Path.Combine(state, FileStateStore.IndexFolderName)));
            Assert.True(File.Exists(Path.Combine(state, "permits.json")));

            var commit = new StoreCommit();
            commit.Records.Add(Record("r", _time.GetUtcNow()));
            commit.Writes.Add(new KeyValuePair<string, string?>("k", "1"));
            await store.CommitAsync(commit, Ct);
            await store.WriteDocumentAsync("spend-policy", "{}", Array.Empty<LedgerRecord>(), Ct);
            var hash = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("k"));
            var bucket = ((hash[0] << 4) | (hash[1] >> 4)).ToString("x3");
            Assert.Equal(new[] { "permits.json", "version" }, Directory.GetFiles(state).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(new[] { bucket + ".json" }, Directory.GetFiles(Path.Combine(state, FileStateStore.IndexFolderName)).Select(Path.GetFileName));
            Assert.Equal(new[] { FileStateStore.LedgerFileName, "spend-policy.json", FileStateStore.LockFileName },
                Directory.GetFiles(_dir.Path).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            var entry = JsonDocument.Parse(File.ReadAllText(Path.Combine(state, FileStateStore.IndexFolderName, bucket + ".json"))).RootElement.GetProperty("k");
            Assert.Equal(1, entry.GetProperty("v").GetInt64());
            Assert.Equal("1", entry.GetProperty("value").GetString());
            if (!OperatingSystem.IsWindows())
            {
                foreach (var file in Directory.GetFiles(state).Concat(Directory.GetFiles(_dir.Path)))
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            foreach (var bad in new[] { "", "../x", "a/b", "x.json", "..", "con fig" })
                await Assert.ThrowsAsync<ArgumentException>(() => store.ReadDocumentAsync(bad, Ct));
        }

        [Fact]
        public async Task Leases_and_slots_end_on_the_exact_tick()
        {
            var store = Open();
            await store.RenewOwnerAsync("o", TimeSpan.FromSeconds(10), Ct);
            var window = new PermitWindow("g", TimeSpan.FromSeconds(1), 1);
            Assert.True((await store.TakePermitAsync(new PermitRequest("a", "o", new[] { window }, TimeSpan.FromSeconds(5)), Ct)).Granted);
            await store.AnswerPermitAsync("a", new[] { window }, Ct);
            var refused = await store.TakePermitAsync(new PermitRequest("b", "o", new[] { window }, TimeSpan.FromSeconds(5)), Ct);
            Assert.Equal(refused.Now + window.Hold, refused.RetryAt);

            _time.Advance(window.Hold - TimeSpan.FromTicks(1));
            Assert.False((await store.TakePermitAsync(new PermitRequest("b", "o", new[] { window }, TimeSpan.FromSeconds(5)), Ct)).Granted);
            Assert.Contains("o", (await store.ReadAsync(Array.Empty<string>(), Ct)).LiveOwners);
            _time.Advance(TimeSpan.FromTicks(1));
            Assert.True((await store.TakePermitAsync(new PermitRequest("b", "o", new[] { window }, TimeSpan.FromSeconds(5)), Ct)).Granted);

            _time.Advance(TimeSpan.FromSeconds(10) - window.Hold - TimeSpan.FromTicks(1));
            Assert.Contains("o", (await store.ReadAsync(Array.Empty<string>(), Ct)).LiveOwners);
            _time.Advance(TimeSpan.FromTicks(1));
            Assert.Empty((await store.ReadAsync(Array.Empty<string>(), Ct)).LiveOwners);
        }
    
        /// <summary>The ledger's whole lines read as records by a reader of its own (not the store): what any tool reading
        /// the JSON lines gets.</summary>
        private List<LedgerRecord> LinesOfLedger()
        {
            var records = new List<LedgerRecord>();
            var text = File.ReadAllText(Ledger);
            var whole = text.Substring(0, text.LastIndexOf('\n') + 1);
            foreach (var line in whole.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                try
                {
                    var record = JsonSerializer.Deserialize<LedgerRecord>(line, FileStateStore.LedgerJson);
                    if (record != null && record.Type.Length > 0) records.Add(record);
                }
                catch (JsonException)
                {
                }
            }
            return records;
        }
}
}
