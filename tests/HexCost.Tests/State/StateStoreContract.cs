using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.State;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>
    /// What every <see cref="IHexStateStore"/> must do, in terms of the interface only: a store plugs in how it opens a
    /// workspace, how its clock moves on and how a StoreHost process finds the same workspace. Host processes run on the
    /// store's own clock, so tests that race them count outcomes and compare the store's instants, never the test's timing.
    /// </summary>
    public abstract class StateStoreContract : IDisposable
    {
        private readonly List<IHexStateStore> _opened = new List<IHexStateStore>();
        private readonly List<StoreHostProcess> _hosts = new List<StoreHostProcess>();
        private readonly CancellationTokenSource _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        /// <summary>A store on <paramref name="workspace"/> (a fresh name per test; opening one name twice gives two
        /// clients of the same state, as two processes would be).</summary>
        protected abstract Task<IHexStateStore> OpenAsync(string workspace);

        /// <summary>Moves the store's clock on by at least <paramref name="by"/>.</summary>
        protected abstract Task AdvanceAsync(IHexStateStore store, TimeSpan by);

        /// <summary>The location a StoreHost process opens <paramref name="workspace"/> with.</summary>
        protected abstract string HostLocation(string workspace);

        protected CancellationToken Ct => _timeout.Token;

        protected static string NewWorkspace() => "ws-" + Guid.NewGuid().ToString("N").Substring(0, 12);

        protected async Task<IHexStateStore> OpenTrackedAsync(string workspace)
        {
            var store = await OpenAsync(workspace);
            lock (_opened) _opened.Add(store);
            return store;
        }

        private async Task<StoreHostProcess[]> StartHostsAsync(int count, Func<int, StoreHostProcess> start)
        {
            var hosts = await StoreHostProcess.StartTogetherAsync(count, n =>
            {
                var host = start(n);
                lock (_hosts) _hosts.Add(host);
                return host;
            });
            return hosts;
        }

        private StoreHostProcess StartHost(string script, string workspace, params string[] options)
        {
            var host = StoreHostProcess.Start(script, HostLocation(workspace), options);
            lock (_hosts) _hosts.Add(host);
            return host;
        }

        public virtual void Dispose()
        {
            foreach (var host in _hosts) host.Dispose();
            foreach (var store in _opened) store.Dispose();
            _timeout.Dispose();
        }

        // ---- Helpers ----------------------------------------------------------------------------------------------

        private static LedgerRecord Record(string id, DateTimeOffset at, string? key = null, string? note = null) => new LedgerRecord
        {
            Id = id, Type = LedgerRecordTypes.Intent, At = at, IdempotencyKey = key, Note = note,
        };

        private static StoreCommit Claim(string key, long expect, string owner, DateTimeOffset at, string? recordId = null)
        {
            var commit = new StoreCommit();
            commit.Expect.Add(new KeyValuePair<string, long>(key, expect));
            commit.Records.Add(Record(recordId ?? Guid.NewGuid().ToString("N"), at, key, owner));
            commit.Writes.Add(new KeyValuePair<string, string?>(key, Owner(owner)));
            return commit;
        }

        private static string Owner(string owner) => JsonSerializer.Serialize(new { owner });

        private static string? OwnerOf(StoreEntry entry) =>
            entry.Value == null ? null : JsonDocument.Parse(entry.Value).RootElement.GetProperty("owner").GetString();

        private async Task<List<LedgerRecord>> ReadAllAsync(IHexStateStore store, int page = 1000)
        {
            var records = new List<LedgerRecord>();
            string? cursor = null;
            while (true)
            {
                var result = await store.ReadRecordsAsync(cursor, page, Ct);
                records.AddRange(result.Records);
                if (result.Records.Count == 0) return records;
                cursor = result.Next;
            }
        }

        private static PermitRequest Permit(string id, TimeSpan inFlight, params PermitWindow[] windows) => new PermitRequest(id, "owner", windows, inFlight);

        private async Task<DateTimeOffset> NowAsync(IHexStateStore store) => await store.NowAsync(Ct);

        // ---- Atomicity across processes ---------------------------------------------------------------------------

        [Fact]
        public async Task Claims_raced_by_processes_have_one_winner_per_key_and_one_record_each_in_each_process_order()
        {
            const int rounds = 50;
            var workspace = NewWorkspace();
            var store = await OpenTrackedAsync(workspace);
            var hosts = await StartHostsAsync(3, n => StoreHostProcess.Start("claim", HostLocation(workspace), "id=host" + n, "rounds=" + rounds));
            foreach (var host in hosts) await host.FinishAsync();

            var winners = new Dictionary<int, string>();
            for (var n = 0; n < hosts.Length; n++)
            {
                foreach (var result in hosts[n].Results("claim").Where(r => r.GetProperty("won").GetBoolean()))
                {
                    var round = result.GetProperty("round").GetInt32();
                    Assert.False(winners.ContainsKey(round), $"round {round} was won by host{n} and {(winners.TryGetValue(round, out var w) ? w : "")}");
                    winners[round] = "host" + n;
                }
            }
            Assert.Equal(rounds, winners.Count);

            var records = (await ReadAllAsync(store, page: 7)).Where(r => r.IdempotencyKey?.StartsWith("claim:", StringComparison.Ordinal) == true).ToList();
            Assert.Equal(rounds, records.Count);
            Assert.Equal(rounds, records.Select(r => r.IdempotencyKey).Distinct().Count());
            foreach (var record in records) Assert.Equal(winners[record.Attempts!.Value], record.Note);
            foreach (var group in records.GroupBy(r => r.Note))
            {
                var order = group.Select(r => r.Attempts!.Value).ToList();
                Assert.Equal(order.OrderBy(r => r), order);
            }

            var view = await store.ReadAsync(Enumerable.Range(0, rounds).Select(r => "claim:" + r).ToList(), Ct);
            for (var round = 0; round < rounds; round++)
            {
                Assert.Equal(1, view["claim:" + round].Version);
                Assert.Equal(winners[round], OwnerOf(view["claim:" + round]));
            }
        }

        [Fact]
        public async Task Budget_reservations_raced_by_processes_reserve_exactly_one_run_per_round()
        {
            const int rounds = 20;
            var workspaces = Enumerable.Range(0, rounds).Select(_ => NewWorkspace()).ToList();
            foreach (var workspace in workspaces) await OpenTrackedAsync(workspace);
            var list = Path.Combine(Path.GetTempPath(), "hexcost-tests", "locations-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path.GetDirectoryName(list)!);
            File.WriteAllLines(list, workspaces.Select(HostLocation));
            try
            {
                var hosts = await StartHostsAsync(3, n => StoreHostProcess.Start("reserve", "@" + list, "id=host" + n));
                foreach (var host in hosts) await host.FinishAsync();
                var reserved = hosts.SelectMany(h => h.Results("reserve")).Where(r => r.GetProperty("reserved").GetBoolean())
                    .Select(r => r.GetProperty("round").GetInt32()).ToList();
                Assert.Equal(Enumerable.Range(0, rounds), reserved.OrderBy(r => r));
                Assert.All(hosts.SelectMany(h => h.Results("reserve")), r => Assert.Equal(r.GetProperty("reserved").GetBoolean(), r.GetProperty("total").GetInt32() == 0));
            }
            finally
            {
                File.Delete(list);
            }

            var check = await OpenTrackedAsync(workspaces[0]);
            await check.RenewOwnerAsync("checker", TimeSpan.FromMinutes(1), Ct);
            var late = await check.ReserveRunAsync(new BudgetRequest { ReservationId = "late", Owner = "checker", ProjectId = "project", WeeklyLimit = 1 }, Ct);
            Assert.False(late.Reserved);
            Assert.Equal(1, late.Total);
        }

        [Fact]
        public async Task Permits_raced_by_processes_never_exceed_the_limit_within_any_window_span()
        {
            const int limit = 3, perHost = 4;
            var window = TimeSpan.FromMilliseconds(300);
            var workspace = NewWorkspace();
            await OpenTrackedAsync(workspace);
            var hosts = await StartHostsAsync(3, n => StoreHostProcess.Start("permit", HostLocation(workspace),
                "id=host" + n, "grants=" + perHost, "limit=" + limit, "windowMs=" + (int)window.TotalMilliseconds));
            foreach (var host in hosts) await host.FinishAsync();

            var grants = hosts.SelectMany(h => h.Results("permit")).Select(r => r.GetProperty("at").GetInt64()).OrderBy(t => t).ToList();
            Assert.Equal(3 * perHost, grants.Count);
            foreach (var at in grants)
            {
                var inSpan = grants.Count(t => t >= at && t < at + window.Ticks);
                Assert.True(inSpan <= limit, $"{inSpan} permits granted within {window.TotalMilliseconds} ms of {new DateTimeOffset(at, TimeSpan.Zero):O}");
            }
        }

        // ---- Owners -----------------------------------------------------------------------------------------------

        [Fact]
        public async Task An_owner_lease_ends_after_its_ttl_and_its_reservation_stops_counting()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var ttl = TimeSpan.FromSeconds(2);
            await store.RenewOwnerAsync("a", ttl, Ct);
            await store.RenewOwnerAsync("b", TimeSpan.FromMinutes(10), Ct);
            var first = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r-a", Owner = "a", ProjectId = "p", WeeklyLimit = 1 }, Ct);
            Assert.True(first.Reserved);
            Assert.Equal(0, first.Total);
            var blocked = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r-b", Owner = "b", ProjectId = "p", WeeklyLimit = 1 }, Ct);
            Assert.False(blocked.Reserved);
            Assert.True(blocked.OverLimit);
            Assert.Equal(1, blocked.Total);
            Assert.Contains("a", (await store.ReadAsync(Array.Empty<string>(), Ct)).LiveOwners);

            await AdvanceAsync(store, ttl + TimeSpan.FromMilliseconds(1));
            var view = await store.ReadAsync(Array.Empty<string>(), Ct);
            Assert.DoesNotContain("a", view.LiveOwners);
            Assert.Contains("b", view.LiveOwners);
            var after = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r-b", Owner = "b", ProjectId = "p", WeeklyLimit = 1 }, Ct);
            Assert.True(after.Reserved);
            Assert.Equal(0, after.Total);
        }

        [Fact]
        public async Task Ending_an_owner_frees_its_reservations_at_once()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            await store.RenewOwnerAsync("a", TimeSpan.FromMinutes(10), Ct);
            await store.RenewOwnerAsync("b", TimeSpan.FromMinutes(10), Ct);
            Assert.True((await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r-a", Owner = "a", ProjectId = "p", WeeklyLimit = 1 }, Ct)).Reserved);
            await store.EndOwnerAsync("a", Ct);
            Assert.DoesNotContain("a", (await store.ReadAsync(Array.Empty<string>(), Ct)).LiveOwners);
            Assert.True((await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r-b", Owner = "b", ProjectId = "p", WeeklyLimit = 1 }, Ct)).Reserved);
        }

        [Fact]
        public async Task A_claim_of_a_killed_process_can_be_taken_over_once_its_lease_ends()
        {
            var workspace = NewWorkspace();
            var store = await OpenTrackedAsync(workspace);
            var host = StartHost("lease", workspace, "id=doomed", "key=claim:crash", "ttlMs=5000");
            await host.ReadyAsync();
            host.Go();
            var claimed = await host.WaitForAsync(l => l.GetProperty("op").GetString() == "lease");
            host.Kill();
            Assert.True(claimed.GetProperty("committed").GetBoolean());
            var expires = new DateTimeOffset(claimed.GetProperty("expires").GetInt64(), TimeSpan.Zero);

            var before = await store.ReadAsync(new[] { "claim:crash" }, Ct);
            Assert.Equal("doomed", OwnerOf(before["claim:crash"]));
            Assert.True(before.Now < expires, "the test's view came after the lease ended; the host was too slow for this test");
            Assert.Contains("doomed", before.LiveOwners);
            var record = Assert.Single(await ReadAllAsync(store), r => r.IdempotencyKey == "claim:crash");
            Assert.Equal("doomed", record.Note);

            await AdvanceAsync(store, expires - before.Now + TimeSpan.FromMilliseconds(1));
            var after = await store.ReadAsync(new[] { "claim:crash" }, Ct);
            Assert.DoesNotContain("doomed", after.LiveOwners);
            var entry = after["claim:crash"];
            Assert.True((await store.CommitAsync(Claim("claim:crash", entry.Version, "heir", after.Now), Ct)).Committed);
            Assert.False((await store.CommitAsync(Claim("claim:crash", entry.Version, "other", after.Now), Ct)).Committed);
            Assert.Equal("heir", OwnerOf((await store.ReadAsync(new[] { "claim:crash" }, Ct))["claim:crash"]));
        }

        // ---- Index entries and commits ----------------------------------------------------------------------------

        [Fact]
        public async Task A_commit_whose_expectation_fails_changes_nothing()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var now = await NowAsync(store);
            await store.RenewOwnerAsync("o", TimeSpan.FromMinutes(5), Ct);
            Assert.True((await store.CommitAsync(Claim("k", 0, "first", now), Ct)).Committed);

            var stale = Claim("k", 0, "second", now);
            stale.Writes.Add(new KeyValuePair<string, string?>("other", "\"x\""));
            stale.BudgetAdds.Add(new BudgetEntry("run-1", "p", now));
            var result = await store.CommitAsync(stale, Ct);
            Assert.False(result.Committed);

            var view = await store.ReadAsync(new[] { "k", "other" }, Ct);
            Assert.Equal(1, view["k"].Version);
            Assert.Equal("first", OwnerOf(view["k"]));
            Assert.Equal(0, view["other"].Version);
            Assert.Null(view["other"].Value);
            Assert.False(view["other"].Exists);
            Assert.Equal(new[] { "first" }, (await ReadAllAsync(store)).Select(r => r.Note));
            var budget = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r", Owner = "o", ProjectId = "p" }, Ct);
            Assert.Equal(0, budget.Total);
        }

        [Fact]
        public async Task Writes_raise_versions_and_a_null_value_deletes_an_entry_without_reviving_version_zero()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var now = await NowAsync(store);
            Assert.True((await store.CommitAsync(Claim("k", 0, "a", now), Ct)).Committed);
            Assert.True((await store.CommitAsync(Claim("k", 1, "b", now), Ct)).Committed);
            var delete = new StoreCommit();
            delete.Expect.Add(new KeyValuePair<string, long>("k", 2));
            delete.Writes.Add(new KeyValuePair<string, string?>("k", null));
            Assert.True((await store.CommitAsync(delete, Ct)).Committed);

            var entry = (await store.ReadAsync(new[] { "k" }, Ct))["k"];
            Assert.Equal(3, entry.Version);
            Assert.Null(entry.Value);
            Assert.False(entry.Exists);
            Assert.False((await store.CommitAsync(Claim("k", 0, "c", now), Ct)).Committed);
            Assert.True((await store.CommitAsync(Claim("k", 3, "c", now), Ct)).Committed);
            Assert.Equal(4, (await store.ReadAsync(new[] { "k" }, Ct))["k"].Version);
        }

        // ---- Ordering and cursors ---------------------------------------------------------------------------------

        [Fact]
        public async Task Records_read_back_in_commit_order_and_each_writer_in_its_own_order()
        {
            var workspace = NewWorkspace();
            var writers = new List<IHexStateStore>();
            for (var n = 0; n < 3; n++) writers.Add(await OpenTrackedAsync(workspace));
            var now = await NowAsync(writers[0]);
            await Task.WhenAll(writers.Select((w, n) => Task.Run(async () =>
            {
                for (var i = 0; i < 20; i++)
                {
                    var commit = new StoreCommit();
                    commit.Records.Add(Record($"w{n}-{i}-a", now, note: "w" + n));
                    commit.Records.Add(Record($"w{n}-{i}-b", now, note: "w" + n));
                    Assert.True((await w.CommitAsync(commit, Ct)).Committed);
                }
            })));

            var records = await ReadAllAsync(writers[0], page: 6);
            Assert.Equal(120, records.Count);
            for (var i = 0; i < records.Count; i += 2)
            {
                Assert.EndsWith("-a", records[i].Id);
                Assert.Equal(records[i].Id!.Replace("-a", "-b"), records[i + 1].Id);
            }
            foreach (var group in records.GroupBy(r => r.Note))
                Assert.Equal(Enumerable.Range(0, 20).SelectMany(i => new[] { $"{group.Key}-{i}-a", $"{group.Key}-{i}-b" }), group.Select(r => r.Id));
        }

        [Fact]
        public async Task Readers_keep_their_own_cursors_and_a_reader_from_the_end_sees_only_later_records()
        {
            var workspace = NewWorkspace();
            var writer = await OpenTrackedAsync(workspace);
            var readerA = await OpenTrackedAsync(workspace);
            var readerB = await OpenTrackedAsync(workspace);
            var now = await NowAsync(writer);
            async Task Append(params string[] ids)
            {
                var commit = new StoreCommit();
                foreach (var id in ids) commit.Records.Add(Record(id, now));
                Assert.True((await writer.CommitAsync(commit, Ct)).Committed);
            }

            await Append("r1", "r2", "r3", "r4", "r5");
            var seenA = new List<string>();
            var seenB = new List<string>();
            string? cursorA = null, cursorB = null;
            async Task<string?> Read(IHexStateStore reader, string? cursor, int max, List<string> seen)
            {
                var page = await reader.ReadRecordsAsync(cursor, max, Ct);
                Assert.True(page.Records.Count <= max);
                seen.AddRange(page.Records.Select(r => r.Id!));
                if (page.Records.Count == 0) Assert.Equal(cursor, page.Next);
                return page.Next;
            }

            cursorA = await Read(readerA, cursorA, 2, seenA);
            cursorB = await Read(readerB, cursorB, 3, seenB);
            cursorA = await Read(readerA, cursorA, 2, seenA);
            var end = await readerB.EndCursorAsync(Ct);
            await Append("r6", "r7");
            for (var i = 0; i < 5; i++)
            {
                cursorA = await Read(readerA, cursorA, 2, seenA);
                cursorB = await Read(readerB, cursorB, 3, seenB);
            }
            var expected = new[] { "r1", "r2", "r3", "r4", "r5", "r6", "r7" };
            Assert.Equal(expected, seenA);
            Assert.Equal(expected, seenB);

            var fromEnd = await readerB.ReadRecordsAsync(end, 100, Ct);
            Assert.Equal(new[] { "r6", "r7" }, fromEnd.Records.Select(r => r.Id));
            var atEnd = await readerA.EndCursorAsync(Ct);
            Assert.Empty((await readerA.ReadRecordsAsync(atEnd, 100, Ct)).Records);
            await Append("r8");
            Assert.Equal(new[] { "r8" }, (await readerA.ReadRecordsAsync(atEnd, 100, Ct)).Records.Select(r => r.Id));
        }

        // ---- Compaction -------------------------------------------------------------------------------------------

        [Fact]
        public async Task Expired_permits_old_runs_and_dead_owners_stop_counting_while_entries_and_records_stay()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var now = await NowAsync(store);
            var window = new PermitWindow("compact", TimeSpan.FromMilliseconds(500), 3);
            for (var i = 0; i < 3; i++)
            {
                var permit = await store.TakePermitAsync(Permit("p" + i, TimeSpan.FromSeconds(1), window), Ct);
                Assert.True(permit.Granted);
                await store.AnswerPermitAsync("p" + i, new[] { window }, Ct);
            }
            Assert.False((await store.TakePermitAsync(Permit("p3", TimeSpan.FromSeconds(1), window), Ct)).Granted);
            await store.RenewOwnerAsync("short", TimeSpan.FromSeconds(1), Ct);
            await store.RenewOwnerAsync("long", TimeSpan.FromHours(1), Ct);

            var commit = Claim("kept", 0, "short", now);
            commit.BudgetAdds.Add(new BudgetEntry("ancient", "p", now - TimeSpan.FromDays(9)));
            commit.BudgetAdds.Add(new BudgetEntry("last-week", "p", now - TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1)));
            commit.BudgetAdds.Add(new BudgetEntry("recent", "p", now - TimeSpan.FromDays(6)));
            Assert.True((await store.CommitAsync(commit, Ct)).Committed);
            Assert.True((await store.ReserveRunAsync(new BudgetRequest { ReservationId = "res-short", Owner = "short", ProjectId = "p" }, Ct)).Reserved);

            await AdvanceAsync(store, TimeSpan.FromSeconds(1.5));
            var view = await store.ReadAsync(new[] { "kept" }, Ct);
            Assert.Equal(new[] { "long" }, view.LiveOwners.OrderBy(o => o));
            Assert.Equal("short", OwnerOf(view["kept"]));
            Assert.Equal(1, view["kept"].Version);
            var permitAfter = await store.TakePermitAsync(Permit("p4", TimeSpan.FromSeconds(1), window), Ct);
            Assert.True(permitAfter.Granted);
            Assert.Equal(2, permitAfter.Remaining[window.Key]);
            var budget = await store.ReserveRunAsync(new BudgetRequest { ReservationId = "res-long", Owner = "long", ProjectId = "p" }, Ct);
            Assert.Equal(1, budget.Total);
            Assert.Equal(1, budget.Project);
            Assert.Single(await ReadAllAsync(store), r => r.IdempotencyKey == "kept");
        }

        // ---- Documents --------------------------------------------------------------------------------------------

        [Fact]
        public async Task Documents_are_written_and_read_with_their_records()
        {
            var workspace = NewWorkspace();
            var store = await OpenTrackedAsync(workspace);
            var other = await OpenTrackedAsync(workspace);
            var now = await NowAsync(store);
            Assert.Null(await store.ReadDocumentAsync("spend-policy", Ct));

            await store.WriteDocumentAsync("spend-policy", "{\"weeklyRunBudget\": 5}", new[] { Record("d1", now, note: "policy"), Record("d2", now, note: "policy") }, Ct);
            await store.WriteDocumentAsync("credit-snapshot", "{\"addOnSpend\": 1.5}", Array.Empty<LedgerRecord>(), Ct);
            Assert.Equal("{\"weeklyRunBudget\": 5}", await other.ReadDocumentAsync("spend-policy", Ct));
            Assert.Equal(new[] { "d1", "d2" }, (await ReadAllAsync(other)).Select(r => r.Id));

            await other.WriteDocumentAsync("spend-policy", "{\"weeklyRunBudget\": 7, \"note\": \"é ✓\"}", new[] { Record("d3", now) }, Ct);
            Assert.Equal("{\"weeklyRunBudget\": 7, \"note\": \"é ✓\"}", await store.ReadDocumentAsync("spend-policy", Ct));
            Assert.Equal("{\"addOnSpend\": 1.5}", await store.ReadDocumentAsync("credit-snapshot", Ct));
            Assert.Equal(new[] { "d1", "d2", "d3" }, (await ReadAllAsync(store)).Select(r => r.Id));
        }

        // ---- Permits ----------------------------------------------------------------------------------------------

        [Fact]
        public async Task A_permit_takes_every_window_of_its_request_or_none()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var wide = new PermitWindow("g", TimeSpan.FromSeconds(1), 5);
            var narrow = new PermitWindow("g", TimeSpan.FromSeconds(10), 1);
            var first = await store.TakePermitAsync(Permit("a", TimeSpan.FromSeconds(5), wide, narrow), Ct);
            Assert.True(first.Granted);
            Assert.Equal(4, first.Remaining[wide.Key]);
            Assert.Equal(0, first.Remaining[narrow.Key]);

            var second = await store.TakePermitAsync(Permit("b", TimeSpan.FromSeconds(5), wide, narrow), Ct);
            Assert.False(second.Granted);
            Assert.False(second.Paused);
            Assert.Equal(narrow.Key, second.Blocker);

            var third = await store.TakePermitAsync(Permit("c", TimeSpan.FromSeconds(5), wide), Ct);
            Assert.True(third.Granted);
            Assert.Equal(3, third.Remaining[wide.Key]);
        }

        [Fact]
        public async Task A_refusal_says_exactly_when_a_slot_frees_and_an_answer_shortens_the_hold()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var window = new PermitWindow("g", TimeSpan.FromSeconds(1), 2);
            var inFlight = TimeSpan.FromSeconds(30);
            var a = await store.TakePermitAsync(Permit("a", inFlight, window), Ct);
            var b = await store.TakePermitAsync(Permit("b", inFlight, window), Ct);
            Assert.True(a.Granted && b.Granted);
            Assert.Equal(0, b.Remaining[window.Key]);

            var refused = await store.TakePermitAsync(Permit("c", inFlight, window), Ct);
            Assert.False(refused.Granted);
            Assert.Equal(window.Key, refused.Blocker);
            Assert.True(refused.BlockedByInFlight);
            Assert.Equal(a.Now + window.Hold + inFlight, refused.RetryAt);

            var before = await NowAsync(store);
            await store.AnswerPermitAsync("a", new[] { window }, Ct);
            var after = await NowAsync(store);
            var shorter = await store.TakePermitAsync(Permit("c", inFlight, window), Ct);
            Assert.False(shorter.Granted);
            Assert.False(shorter.BlockedByInFlight);
            Assert.InRange(shorter.RetryAt!.Value, before + window.Hold, after + window.Hold);

            await AdvanceAsync(store, shorter.RetryAt.Value - shorter.Now);
            var granted = await store.TakePermitAsync(Permit("c", inFlight, window), Ct);
            Assert.True(granted.Granted);
            Assert.Equal(0, granted.Remaining[window.Key]);
            await store.AnswerPermitAsync("gone", new[] { window }, Ct);
        }

        [Fact]
        public async Task A_refusal_over_several_windows_waits_for_the_latest_of_them()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var shortWindow = new PermitWindow("g", TimeSpan.FromSeconds(1), 1);
            var longWindow = new PermitWindow("g", TimeSpan.FromSeconds(3), 1);
            var a = await store.TakePermitAsync(Permit("a", TimeSpan.FromSeconds(2), shortWindow, longWindow), Ct);
            Assert.True(a.Granted);
            var refused = await store.TakePermitAsync(Permit("b", TimeSpan.FromSeconds(2), shortWindow, longWindow), Ct);
            Assert.False(refused.Granted);
            Assert.Equal(longWindow.Key, refused.Blocker);
            Assert.Equal(a.Now + longWindow.Hold + TimeSpan.FromSeconds(2), refused.RetryAt);
        }

        [Fact]
        public async Task A_pause_refuses_every_permit_until_its_end_and_only_extends()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            var window = new PermitWindow("g", TimeSpan.FromSeconds(1), 10);
            var now = await NowAsync(store);
            var until = now + TimeSpan.FromSeconds(2);
            await store.PauseUntilAsync(until, Ct);
            await store.PauseUntilAsync(now + TimeSpan.FromSeconds(1), Ct);
            var refused = await store.TakePermitAsync(Permit("a", TimeSpan.FromSeconds(1), window), Ct);
            Assert.False(refused.Granted);
            Assert.True(refused.Paused);
            Assert.Equal(until, refused.RetryAt);

            await AdvanceAsync(store, until - refused.Now);
            var granted = await store.TakePermitAsync(Permit("a", TimeSpan.FromSeconds(1), window), Ct);
            Assert.True(granted.Granted);
            Assert.Equal(9, granted.Remaining[window.Key]);
        }

        // ---- Run budget -------------------------------------------------------------------------------------------

        [Fact]
        public async Task Reservations_count_against_limits_until_their_run_is_committed_once_or_released()
        {
            var store = await OpenTrackedAsync(NewWorkspace());
            await store.RenewOwnerAsync("me", TimeSpan.FromMinutes(10), Ct);
            BudgetRequest Ask(string id, string project, bool force = false) => new BudgetRequest
            {
                ReservationId = id, Owner = "me", ProjectId = project, WeeklyLimit = 3, ProjectLimit = 1, Force = force,
            };

            var r1 = await store.ReserveRunAsync(Ask("r1", "Alpha"), Ct);
            Assert.True(r1.Reserved);
            Assert.False(r1.OverLimit);
            var r2 = await store.ReserveRunAsync(Ask("r2", "ALPHA"), Ct);
            Assert.False(r2.Reserved);
            Assert.True(r2.OverLimit);
            Assert.Equal(1, r2.Project);

            var run = new StoreCommit { EndReservation = "r1" };
            run.Records.Add(Record("trigger-1", r1.Now));
            run.BudgetAdds.Add(new BudgetEntry("r1", "alpha", r1.Now));
            Assert.True((await store.CommitAsync(run, Ct)).Committed);
            var afterRun = await store.ReserveRunAsync(Ask("r3", "beta"), Ct);
            Assert.True(afterRun.Reserved);
            Assert.Equal(1, afterRun.Total);
            Assert.Equal(0, afterRun.Project);

            var forced = await store.ReserveRunAsync(Ask("r4", "alpha", force: true), Ct);
            Assert.True(forced.Reserved);
            Assert.True(forced.OverLimit);
            Assert.Equal(2, forced.Total);
            Assert.Equal(1, forced.Project);

            var full = await store.ReserveRunAsync(Ask("r5", "gamma"), Ct);
            Assert.False(full.Reserved);
            Assert.Equal(3, full.Total);
            await store.ReleaseRunAsync("r4", Ct);
            await store.ReleaseRunAsync("never-made", Ct);
            var freed = await store.ReserveRunAsync(Ask("r5", "gamma"), Ct);
            Assert.True(freed.Reserved);
            Assert.Equal(2, freed.Total);
        }
    }
}
