using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Ledger;

namespace HexCost.State
{
    /// <summary>
    /// The state one Hex workspace's accounts share across threads, processes and hosts. Every cross-process decision is
    /// one atomic operation of the store: a conditional commit (records + index entries, checked against the versions a
    /// decision read), taking rate permits for every window of a chain at once, reserving run budget, owner leases and
    /// documents. Times are the store's clock (<see cref="StoreView.Now"/>): the host's TimeProvider for the file store,
    /// the server's for a shared one, so hosts whose clocks differ still agree.
    /// Every method honours its cancellation token (a wait for a busy store ends within a second of it) and throws
    /// <see cref="StateStoreBusyException"/> when the store stays busy, <see cref="StateStoreException"/> when it fails.
    /// Implementations: <see cref="FileStateStore"/> (the default, a workspace folder), the Redis store.
    /// </summary>
    public interface IHexStateStore : IPermitStore, IDisposable
    {
        /// <summary>Where the state is, for the session and messages: a folder, or a server without credentials.</summary>
        string Location { get; }

        /// <summary>The store's clock now.</summary>
        Task<DateTimeOffset> NowAsync(CancellationToken cancellationToken);

        // ---- Index entries and the ledger -------------------------------------------------------------------------

        /// <summary>The entries <paramref name="keys"/> name (absent ones with <see cref="StoreEntry.Version"/> 0), the
        /// owners whose lease is live, and the store's clock, all read at one instant.</summary>
        Task<StoreView> ReadAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

        /// <summary>Atomically: when every <see cref="StoreCommit.Expect"/>ed entry still has its version, appends the records
        /// (in order, after every record appended before), applies the writes (each written entry's version goes up by one),
        /// adds the budget entries and ends the reservation; otherwise changes nothing and returns Committed = false.</summary>
        Task<CommitResult> CommitAsync(StoreCommit commit, CancellationToken cancellationToken);

        /// <summary>Up to <paramref name="max"/> records appended after <paramref name="after"/> (null: from the first), in
        /// store order. Each reader keeps its own cursor: reading never moves anyone else's.</summary>
        Task<RecordPage> ReadRecordsAsync(string? after, int max, CancellationToken cancellationToken);

        /// <summary>The cursor after the last record appended so far (a reader that starts here sees only new records).</summary>
        Task<string?> EndCursorAsync(CancellationToken cancellationToken);

        // ---- Owners -----------------------------------------------------------------------------------------------

        /// <summary>Starts or extends <paramref name="owner"/>'s lease to now + <paramref name="ttl"/> (its heartbeat). Claims
        /// and reservations whose owner's lease has ended count as free.</summary>
        Task RenewOwnerAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken);

        /// <summary>Ends <paramref name="owner"/>'s lease now (a clean shutdown): its reservations are freed.</summary>
        Task EndOwnerAsync(string owner, CancellationToken cancellationToken);

        // ---- Run budget -------------------------------------------------------------------------------------------

        /// <summary>Counts the runs started in the budget window (budget entries committed with records) plus live
        /// reservations, and reserves one more for the project unless that goes over a limit and Force is false.</summary>
        Task<BudgetDecision> ReserveRunAsync(BudgetRequest request, CancellationToken cancellationToken);

        /// <summary>Ends a reservation without a run (the trigger failed). Ending one that is gone is not an error.</summary>
        Task ReleaseRunAsync(string reservationId, CancellationToken cancellationToken);

        // ---- Documents --------------------------------------------------------------------------------------------

        /// <summary>A named document (the spend policy, the credit snapshot), or null when none was written.</summary>
        Task<string?> ReadDocumentAsync(string name, CancellationToken cancellationToken);

        /// <summary>Replaces a document and appends <paramref name="records"/> in one atomic step.</summary>
        Task WriteDocumentAsync(string name, string content, IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken);
    }

    /// <summary>Rate permits shared by everyone who takes them from the same store: a workspace's state store, or, for a
    /// limiter not (yet) attached to one, <see cref="LocalPermitStore"/> (this process only).</summary>
    public interface IPermitStore
    {
        /// <summary>Takes a permit in every window of the request at once, or none: each window is a sliding log of permits
        /// that count until they expire. A granted permit expires at now + its window's hold + <see cref="PermitRequest.InFlight"/>
        /// until <see cref="AnswerPermitAsync"/> shortens that. Refused while the workspace is paused.</summary>
        Task<PermitDecision> TakePermitAsync(PermitRequest request, CancellationToken cancellationToken);

        /// <summary>The request of permit <paramref name="permitId"/> was answered now: in each window it now expires at now +
        /// that window's <see cref="PermitWindow.Hold"/>.</summary>
        Task AnswerPermitAsync(string permitId, IReadOnlyList<PermitWindow> windows, CancellationToken cancellationToken);

        /// <summary>No permit is granted before <paramref name="until"/> (a 429's Retry-After, shared by every host). Only extends.</summary>
        Task PauseUntilAsync(DateTimeOffset until, CancellationToken cancellationToken);
    }

    /// <summary>One versioned index entry: <see cref="Value"/> is JSON HexCost reads (the store never looks inside); an absent
    /// entry has Version 0 and Value null.</summary>
    public sealed class StoreEntry
    {
        public StoreEntry(string key, string? value, long version)
        {
            Key = key;
            Value = value;
            Version = version;
        }

        public string Key { get; }
        public string? Value { get; }
        public long Version { get; }
        public bool Exists => Version > 0 && Value != null;
    }

    public sealed class StoreView
    {
        public StoreView(DateTimeOffset now, IReadOnlyDictionary<string, StoreEntry> entries, IReadOnlyCollection<string> liveOwners)
        {
            Now = now;
            Entries = entries;
            LiveOwners = liveOwners;
        }

        public DateTimeOffset Now { get; }
        public IReadOnlyDictionary<string, StoreEntry> Entries { get; }
        public IReadOnlyCollection<string> LiveOwners { get; }

        public StoreEntry this[string key] => Entries.TryGetValue(key, out var entry) ? entry : new StoreEntry(key, null, 0);
    }

    public sealed class StoreCommit
    {
        /// <summary>Entries that must still have these versions (0: must be absent).</summary>
        public List<KeyValuePair<string, long>> Expect { get; } = new List<KeyValuePair<string, long>>();
        /// <summary>Records to append, in order. Each has its Id set.</summary>
        public List<LedgerRecord> Records { get; } = new List<LedgerRecord>();
        /// <summary>Entries to write; a null value deletes the entry (its version still goes up by one, so a later
        /// Expect of 0 fails: 0 means never written).</summary>
        public List<KeyValuePair<string, string?>> Writes { get; } = new List<KeyValuePair<string, string?>>();
        /// <summary>Runs started by these records: they count against run budgets for the budget window.</summary>
        public List<BudgetEntry> BudgetAdds { get; } = new List<BudgetEntry>();
        /// <summary>The reservation these records fulfil (ended in the same step).</summary>
        public string? EndReservation { get; set; }
    }

    public sealed class CommitResult
    {
        public CommitResult(bool committed, DateTimeOffset now)
        {
            Committed = committed;
            Now = now;
        }

        public bool Committed { get; }
        public DateTimeOffset Now { get; }
    }

    public sealed class RecordPage
    {
        public RecordPage(IReadOnlyList<LedgerRecord> records, string? next, int skipped = 0)
        {
            Records = records;
            Next = next;
            Skipped = skipped;
        }

        public IReadOnlyList<LedgerRecord> Records { get; }
        /// <summary>Damaged records in this page's span that could not be read (a line torn by a kill, hand edits).</summary>
        public int Skipped { get; }
        /// <summary>The cursor after the last record of this page (the one given when the page is empty).</summary>
        public string? Next { get; }
    }

    /// <summary>A run that started: counted against run budgets while <see cref="At"/> is inside the budget window.</summary>
    public sealed class BudgetEntry
    {
        public BudgetEntry(string id, string projectId, DateTimeOffset at)
        {
            Id = id;
            ProjectId = projectId;
            At = at;
        }

        public string Id { get; }
        public string ProjectId { get; }
        public DateTimeOffset At { get; }
    }

    /// <summary>One window of one limit group, as the store keys it: processes that keep different limits over the same
    /// window length share its log, each checking its own <see cref="Limit"/>.</summary>
    public sealed class PermitWindow
    {
        public PermitWindow(string group, TimeSpan window, int limit)
        {
            Group = group;
            Window = window;
            Limit = limit;
        }

        public string Group { get; }
        public TimeSpan Window { get; }
        public int Limit { get; }
        /// <summary>The store's key of the window's log: group and window length.</summary>
        public string Key => Group + ":" + Window.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        /// <summary>How long a permit counts after its answer: the window plus slack for timer jitter (20 ms + 0.1 %).</summary>
        public TimeSpan Hold => Window + TimeSpan.FromMilliseconds(20) + TimeSpan.FromTicks(Window.Ticks / 1000);
    }

    public sealed class PermitRequest
    {
        public PermitRequest(string permitId, string owner, IReadOnlyList<PermitWindow> windows, TimeSpan inFlight)
        {
            PermitId = permitId;
            Owner = owner;
            Windows = windows;
            InFlight = inFlight;
        }

        public string PermitId { get; }
        public string Owner { get; }
        public IReadOnlyList<PermitWindow> Windows { get; }
        /// <summary>How long an unanswered request may still be in flight (its owner may have died): the permit counts for
        /// this plus the window's hold unless answered sooner.</summary>
        public TimeSpan InFlight { get; }
    }

    public sealed class PermitDecision
    {
        public bool Granted { get; set; }
        public DateTimeOffset Now { get; set; }
        /// <summary>Refused: when the first slot of every blocking window is free (or the pause ends): the latest, over the
        /// blocking windows, of the expiry that frees a slot in each. When <see cref="BlockedByInFlight"/>, an answer may
        /// free that slot sooner.</summary>
        public DateTimeOffset? RetryAt { get; set; }
        /// <summary>Refused because the workspace is paused until <see cref="RetryAt"/>.</summary>
        public bool Paused { get; set; }
        /// <summary>Refused: the key of a window that had no slot.</summary>
        public string? Blocker { get; set; }
        /// <summary>Refused: a permit in the blocker that is still in flight, so it may free before RetryAt.</summary>
        public bool BlockedByInFlight { get; set; }
        /// <summary>Permits left after this one in each window of the request (by window key).</summary>
        public IReadOnlyDictionary<string, int> Remaining { get; set; } = new Dictionary<string, int>();
    }

    public sealed class BudgetRequest
    {
        public string ReservationId { get; set; } = "";
        /// <summary>Whose reservation it is: it counts only while this owner's lease is live, so renew the lease
        /// (<see cref="IHexStateStore.RenewOwnerAsync"/>) before reserving.</summary>
        public string Owner { get; set; } = "";
        public string ProjectId { get; set; } = "";
        /// <summary>Runs count while they started within this long before now (7 days).</summary>
        public TimeSpan Window { get; set; } = TimeSpan.FromDays(7);
        public int? WeeklyLimit { get; set; }
        public int? ProjectLimit { get; set; }
        /// <summary>Reserve even over a limit (-IgnoreRunBudget).</summary>
        public bool Force { get; set; }
        /// <summary>Now on the records' clock (their At, and BudgetEntry.At): the budget window is reckoned on it, so runs are
        /// counted by when their records say they started; null = the store's clock. Leases and permits always use the
        /// store's clock.</summary>
        public DateTimeOffset? Now { get; set; }
    }

    public sealed class BudgetDecision
    {
        public bool Reserved { get; set; }
        /// <summary>Runs of the workspace in the window before this one (started and reserved).</summary>
        public int Total { get; set; }
        /// <summary>Runs of the project in the window before this one.</summary>
        public int Project { get; set; }
        /// <summary>One more run goes over a limit (reserved anyway when Force).</summary>
        public bool OverLimit { get; set; }
        public DateTimeOffset Now { get; set; }
    }

    /// <summary>The store could not do what was asked (an I/O error, a server that answered with an error); the message names
    /// where. A HexCost error (HexStateError) like any other the cmdlets report.</summary>
    public class StateStoreException : HexException
    {
        public StateStoreException(string message, Exception? inner = null) : this(HexErrorKind.StateCorrupt, message, inner) { }

        protected StateStoreException(HexErrorKind kind, string message, Exception? inner) : base(kind, message, inner) { }
    }

    /// <summary>The store stayed busy (another process holds its lock, a server that does not answer) past the wait HexCost
    /// gives it (HexStateBusy).</summary>
    public sealed class StateStoreBusyException : StateStoreException
    {
        public StateStoreBusyException(string message, Exception? inner = null) : base(HexErrorKind.StateBusy, message, inner) { }
    }

    /// <summary>A claim this owner held (an idempotency or cache key) was taken over while it waited to send: its lease
    /// lapsed (the store was unreachable or blocked for longer than the lease) and another owner claimed the key. Nothing
    /// was sent; the caller decides again.</summary>
    public sealed class ClaimLostException : StateStoreException
    {
        public ClaimLostException(string message) : base(message) { }
    }

    /// <summary>The store cannot be reached at all: the message names the host and cause (HexStateStoreUnavailable).</summary>
    public sealed class StateStoreUnavailableException : StateStoreException
    {
        public StateStoreUnavailableException(string message, Exception? inner = null) : base(HexErrorKind.StateStoreUnavailable, message, inner) { }
    }
}
