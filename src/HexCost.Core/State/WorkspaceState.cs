using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;

namespace HexCost.State
{
    /// <summary>
    /// One account's side of the shared state: records and decisions go through the store as optimistic, atomic steps
    /// (read the entries a decision needs, decide, commit only if none of them changed meanwhile, else decide again), so
    /// every process sees the same claims, runs and budgets in the store's order. Holds no lock of its own.
    /// </summary>
    public sealed class WorkspaceState
    {
        /// <summary>How long a lease lasts without a heartbeat: a process that dies frees its claims and reservations after it.</summary>
        public static readonly TimeSpan OwnerLease = TimeSpan.FromSeconds(30);
        /// <summary>How often a live owner renews its lease.</summary>
        public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);

        public WorkspaceState(IHexStateStore store, string owner, string? user)
        {
            Store = store;
            Owner = owner;
            User = user;
        }

        public IHexStateStore Store { get; }

        /// <summary>This account instance's owner id: its claims and reservations live while its lease is renewed.</summary>
        public string Owner { get; }

        public string? User { get; }

        private readonly object _outboxSync = new object();
        private readonly Queue<(LedgerRecord Record, string? EndReservation)> _outbox = new Queue<(LedgerRecord, string?)>();
        private readonly CancellationTokenSource _closing = new CancellationTokenSource();
        private Task _flushing = Task.CompletedTask;

        /// <summary>Appends <paramref name="record"/> and applies it to the index entries it changes, in one atomic step. A
        /// record of something that already happened (a run Hex started) is never lost to a store that is out of reach for a
        /// while: it is held here, in order, and written when the store answers again (said on <paramref name="sink"/>).</summary>
        /// <param name="endReservation">The run-budget reservation the record fulfils.</param>
        public async Task<LedgerRecord> RecordAsync(LedgerRecord record, CancellationToken cancellationToken, string? endReservation = null, Infrastructure.IHexEventSink? sink = null)
        {
            lock (_outboxSync)
            {
                if (_outbox.Count > 0)
                {
                    Stamp(record);
                    _outbox.Enqueue((record, endReservation));
                    return record;
                }
            }
            try
            {
                await DecideAsync(Array.Empty<string>(), _ => (true, record), cancellationToken, endReservation).ConfigureAwait(false);
            }
            catch (StateStoreException lost) when (lost is StateStoreUnavailableException || lost is StateStoreBusyException)
            {
                lock (_outboxSync)
                {
                    _outbox.Enqueue((record, endReservation));
                    if (_flushing.IsCompleted) _flushing = Task.Run(FlushAsync);
                }
                sink?.Warning($"{lost.Message} The {record.Type} record{(record.RunId != null ? " of run " + record.RunId : "")} is held by this session "
                              + "and written to the state store as soon as it answers again; keep this session open until then.");
            }
            return record;
        }

        /// <summary>Records held while the store was out of reach, not yet written.</summary>
        public int Held
        {
            get { lock (_outboxSync) return _outbox.Count; }
        }

        /// <summary>Writes the held records, oldest first, retrying every second while the store stays out of reach.</summary>
        private async Task FlushAsync()
        {
            while (true)
            {
                (LedgerRecord Record, string? EndReservation) next;
                lock (_outboxSync)
                {
                    if (_outbox.Count == 0) return;
                    next = _outbox.Peek();
                }
                try
                {
                    await DecideAsync(Array.Empty<string>(), _ => (true, next.Record), _closing.Token, next.EndReservation).ConfigureAwait(false);
                    lock (_outboxSync) _outbox.Dequeue();
                }
                catch (OperationCanceledException) when (_closing.IsCancellationRequested)
                {
                    return;
                }
                catch (StateStoreException)
                {
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), _closing.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }

        /// <summary>Waits up to <paramref name="timeout"/> for held records to be written, then stops trying (the account is
        /// closing). Returns how many could not be written.</summary>
        public int Close(TimeSpan timeout)
        {
            Task flushing;
            lock (_outboxSync) flushing = _flushing;
            if (!flushing.IsCompleted) flushing.Wait(timeout);
            _closing.Cancel();
            return Held;
        }

        /// <summary>
        /// Reads <paramref name="keys"/>, lets <paramref name="decide"/> choose a result and the record it appends (or none),
        /// and commits that record with its index changes only if no entry read or changed moved on meanwhile; otherwise
        /// reads and decides again. <paramref name="decide"/> must not have side effects: it may run more than once.
        /// </summary>
        public async Task<T> DecideAsync<T>(IReadOnlyCollection<string> keys, Func<StoreView, (T Result, LedgerRecord? Record)> decide,
            CancellationToken cancellationToken, string? endReservation = null)
        {
            for (var attempt = 0; ; attempt++)
            {
                var view = await Store.ReadAsync(keys, cancellationToken).ConfigureAwait(false);
                var (result, record) = decide(view);
                if (record == null) return result;
                Stamp(record);
                var entries = await ReadTouchedAsync(Store, view.Entries, new[] { record }, cancellationToken).ConfigureAwait(false);
                var commit = CommitOf(entries, new[] { record });
                commit.EndReservation = endReservation;
                if ((await Store.CommitAsync(commit, cancellationToken).ConfigureAwait(false)).Committed) return result;
                if (attempt >= 1000) throw new StateStoreBusyException($"The state at {Store.Location} changed under 1000 decisions in a row; another process may be looping.");
            }
        }

        /// <summary>The entries <paramref name="read"/> plus every other entry <paramref name="records"/> change, applied in
        /// order (a completion can change the cache entry of its run, which only the run's entry names), read from the store.</summary>
        internal static async Task<Dictionary<string, StoreEntry>> ReadTouchedAsync(IHexStateStore store, IReadOnlyDictionary<string, StoreEntry> read,
            IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken)
        {
            var entries = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
            foreach (var pair in read) entries[pair.Key] = pair.Value;
            var missing = new HashSet<string>(records.SelectMany(LedgerIndex.KeysOf).Where(k => !entries.ContainsKey(k)), StringComparer.Ordinal);
            while (true)
            {
                if (missing.Count > 0)
                {
                    var more = await store.ReadAsync(missing, cancellationToken).ConfigureAwait(false);
                    foreach (var key in missing) entries[key] = more[key];
                }
                var trial = entries.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal);
                missing.Clear();
                foreach (var record in records)
                {
                    foreach (var key in LedgerIndex.RelatedKeys(trial, record).Where(k => !trial.ContainsKey(k)))
                    {
                        missing.Add(key);
                        trial[key] = null;
                    }
                    LedgerIndex.Apply(trial, record, new List<BudgetEntry>());
                }
                if (missing.Count == 0) return entries;
            }
        }

        /// <summary>The commit that appends <paramref name="records"/> with the index changes they make to <paramref name="entries"/>
        /// (which hold every entry they touch): valid only while none of those entries moved on.</summary>
        internal static StoreCommit CommitOf(IReadOnlyDictionary<string, StoreEntry> entries, IReadOnlyList<LedgerRecord> records)
        {
            var values = entries.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal);
            var before = new Dictionary<string, string?>(values, StringComparer.Ordinal);
            var commit = new StoreCommit();
            foreach (var record in records)
            {
                LedgerIndex.Apply(values, record, commit.BudgetAdds);
                commit.Records.Add(record);
            }
            foreach (var entry in entries.Values) commit.Expect.Add(new KeyValuePair<string, long>(entry.Key, entry.Version));
            foreach (var pair in values)
            {
                if (!before.TryGetValue(pair.Key, out var old) || !string.Equals(old, pair.Value, StringComparison.Ordinal))
                    commit.Writes.Add(new KeyValuePair<string, string?>(pair.Key, pair.Value));
            }
            return commit;
        }

        /// <summary>Every record from the first, in store order, read with a cursor of its own (no one else's moves).</summary>
        public async Task<IReadOnlyList<LedgerRecord>> ReadHistoryAsync(CancellationToken cancellationToken, Func<LedgerRecord, bool>? keep = null) =>
            (await ReadHistoryWithDamageAsync(cancellationToken, keep).ConfigureAwait(false)).Records;

        /// <summary>Every record from the first, and how many damaged ones were skipped.</summary>
        public async Task<(IReadOnlyList<LedgerRecord> Records, int Skipped)> ReadHistoryWithDamageAsync(CancellationToken cancellationToken, Func<LedgerRecord, bool>? keep = null)
        {
            var records = new List<LedgerRecord>();
            var skipped = 0;
            string? cursor = null;
            while (true)
            {
                var page = await Store.ReadRecordsAsync(cursor, 5000, cancellationToken).ConfigureAwait(false);
                skipped += page.Skipped;
                foreach (var record in page.Records)
                {
                    if (keep == null || keep(record)) records.Add(record);
                }
                if (page.Records.Count == 0 || page.Next == cursor) return (records, skipped);
                cursor = page.Next;
            }
        }

        private void Stamp(LedgerRecord record)
        {
            record.Id ??= Guid.NewGuid().ToString("N");
            record.User ??= User;
            record.Owner ??= Owner;
            record.ProcessId ??= Infrastructure.CurrentProcess.Id;
        }
    }
}
