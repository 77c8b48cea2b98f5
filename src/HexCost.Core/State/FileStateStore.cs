using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;

namespace HexCost.State
{
    /// <summary>
    /// The default state store: one workspace folder, shared by every process on the machine (or a file share) through
    /// one lock file. Layout: ledger.jsonl (the ledger, in HexLedger's format), NAME.json per document (spend-policy.json,
    /// credit-snapshot.json), state.lock, and state/ with version, index-XX.json (256 buckets of index entries),
    /// permits.json, budget.json, owners.json and commit.pending (the redo log of a step in progress).
    /// Every operation takes the lock (waiting asynchronously), first finishes a step a crashed process left in
    /// commit.pending, then reads and writes whole files (a temporary file renamed over the old one).
    /// A workspace folder that holds a ledger but no state/version (<see cref="HasLegacyLedgerOnly"/>) is marked migrated
    /// only by <see cref="SeedIndexAsync"/>; until then it works, and every new instance reports it as legacy.
    /// </summary>
    public sealed class FileStateStore : IHexStateStore
    {
        public const string LedgerFileName = "ledger.jsonl";
        public const string LockFileName = "state.lock";
        public const string StateFolderName = "state";
        /// <summary>How long runs stay in budget.json (longer than the 7-day budget window).</summary>
        public static readonly TimeSpan BudgetRetention = TimeSpan.FromDays(8);

        private const string Version = "1";
        private static readonly byte[] NewLine = { (byte)'\n' };
        private static readonly Regex SimpleName = new Regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant);

        internal static readonly JsonSerializerOptions LedgerJson = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        };

        private static readonly JsonSerializerOptions StateJson = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        private readonly TimeProvider _time;
        private readonly TimeSpan _busyTimeout;
        private readonly SemaphoreSlim _gate = new SemaphoreSlim(1, 1);
        private readonly string _stateDir;
        private readonly string _lockPath;
        private readonly string _ledgerPath;
        private readonly string _versionPath;
        private readonly string _pendingPath;
        private readonly string _permitsPath;
        private readonly string _budgetPath;
        private readonly string _ownersPath;
        private long _recordsParsed;
        private int _waiting;
        private bool _stateDirReady;
        private bool _initialized;
        private bool _disposed;

        public FileStateStore(string workspaceDirectory, TimeProvider? time = null, TimeSpan? busyTimeout = null)
        {
            if (string.IsNullOrWhiteSpace(workspaceDirectory)) throw new ArgumentException("A workspace folder is required.", nameof(workspaceDirectory));
            Directory = Path.GetFullPath(workspaceDirectory);
            _time = time ?? TimeProvider.System;
            _busyTimeout = busyTimeout ?? DefaultBusyTimeout;
            _stateDir = Path.Combine(Directory, StateFolderName);
            _lockPath = Path.Combine(Directory, LockFileName);
            _ledgerPath = Path.Combine(Directory, LedgerFileName);
            _versionPath = Path.Combine(_stateDir, "version");
            _pendingPath = Path.Combine(_stateDir, "commit.pending");
            _permitsPath = Path.Combine(_stateDir, "permits.json");
            _budgetPath = Path.Combine(_stateDir, "budget.json");
            _ownersPath = Path.Combine(_stateDir, "owners.json");
            Io(Directory, "create", () =>
            {
                if (System.IO.Directory.Exists(Directory)) return 0;
                System.IO.Directory.CreateDirectory(Directory);
                StateFiles.RestrictToOwner(Directory, isDirectory: true);
                return 0;
            });
            HasLegacyLedgerOnly = File.Exists(_ledgerPath) && !File.Exists(_versionPath);
        }

        public string Directory { get; }

        /// <summary>The workspace's folder was deleted under this store (its state is gone with it).</summary>
        public bool IsGone => !System.IO.Directory.Exists(Directory);
        public string Location => Directory;
        public string LedgerPath => _ledgerPath;

        /// <summary>The folder has state/version: it was created by this store, or a legacy one was seeded.</summary>
        public bool IsInitialized => File.Exists(_versionPath);

        /// <summary>When this instance was made, the folder held a ledger.jsonl and no state/version: a workspace of an
        /// earlier HexCost, whose index and budget must be seeded (<see cref="SeedIndexAsync"/>) from its ledger.</summary>
        public bool HasLegacyLedgerOnly { get; }

        /// <summary>How long an instance made without a busy timeout waits for the lock (30 s). Test hook: a test process
        /// shortens it to see HexStateBusy without waiting half a minute.</summary>
        internal static TimeSpan DefaultBusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Test hook: ledger lines this instance has parsed (read pages, and the tail a redo looks through).</summary>
        internal long RecordsParsed => Interlocked.Read(ref _recordsParsed);

        /// <summary>Test hook: operations of this instance waiting for the lock right now (this process's gate or the lock file).</summary>
        internal int Waiting => Volatile.Read(ref _waiting);

        /// <summary>Test hook: called after each part of a step is applied ("pending", "ledger", "index", "budget",
        /// "document"); an exception thrown there stands for a crash at that point.</summary>
        internal Action<string>? AfterStep { get; set; }

        public void Dispose() => _disposed = true;

        public Task<DateTimeOffset> NowAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult(_time.GetUtcNow());
        }

        // ---- Index entries and the ledger -----------------------------------------------------------------------------

        public Task<StoreView> ReadAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
        {
            if (keys == null) throw new ArgumentNullException(nameof(keys));
            return LockedAsync(now =>
            {
                var buckets = new Dictionary<string, Dictionary<string, IndexEntryDoc>>(StringComparer.Ordinal);
                var entries = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    if (entries.ContainsKey(key)) continue;
                    var bucket = LoadBucket(buckets, key);
                    entries[key] = bucket.TryGetValue(key, out var e) ? new StoreEntry(key, e.Value, e.V) : new StoreEntry(key, null, 0);
                }
                return new StoreView(now, entries, LiveOwners(LoadOwners(), now));
            }, cancellationToken);
        }

        public Task<CommitResult> CommitAsync(StoreCommit commit, CancellationToken cancellationToken)
        {
            if (commit == null) throw new ArgumentNullException(nameof(commit));
            var lines = Serialize(commit.Records);
            return LockedAsync(now =>
            {
                var buckets = new Dictionary<string, Dictionary<string, IndexEntryDoc>>(StringComparer.Ordinal);
                foreach (var expect in commit.Expect)
                {
                    var bucket = LoadBucket(buckets, expect.Key);
                    var version = bucket.TryGetValue(expect.Key, out var e) ? e.V : 0;
                    if (version != expect.Value) return new CommitResult(false, now);
                }
                var pending = new PendingCommit { EndReservation = commit.EndReservation };
                AddLines(pending, commit.Records, lines);
                var versions = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var write in commit.Writes)
                {
                    if (!versions.TryGetValue(write.Key, out var version))
                        version = LoadBucket(buckets, write.Key).TryGetValue(write.Key, out var e) ? e.V : 0;
                    versions[write.Key] = ++version;
                    pending.Writes.Add(new PendingWrite { Key = write.Key, V = version, Value = write.Value });
                }
                foreach (var add in commit.BudgetAdds)
                    pending.BudgetAdds.Add(new BudgetRun { Id = add.Id, ProjectId = add.ProjectId, At = add.At.UtcTicks });
                if (pending.Lines.Count > 0 || pending.Writes.Count > 0 || pending.BudgetAdds.Count > 0 || pending.EndReservation != null)
                    Run(pending, now, buckets);
                return new CommitResult(true, now);
            }, cancellationToken);
        }

        public Task<RecordPage> ReadRecordsAsync(string? after, int max, CancellationToken cancellationToken)
        {
            if (max < 1) throw new ArgumentOutOfRangeException(nameof(max), max, "A page holds at least one record.");
            var start = ParseCursor(after);
            return LockedAsync(_ => Io(_ledgerPath, "read", () => ReadPage(after, start, max)), cancellationToken);
        }

        public Task<string?> EndCursorAsync(CancellationToken cancellationToken) =>
            LockedAsync(_ => Io(_ledgerPath, "read", () => (string?)EndOfLastLine().ToString(CultureInfo.InvariantCulture)), cancellationToken);

        // ---- Owners ---------------------------------------------------------------------------------------------------

        public Task RenewOwnerAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken)
        {
            RequireText(owner, nameof(owner));
            return LockedAsync(now =>
            {
                var owners = LoadOwners();
                Prune(owners, now);
                owners[owner] = (now + ttl).UtcTicks;
                Save(_ownersPath, owners, durable: false);
                return 0;
            }, cancellationToken);
        }

        public Task EndOwnerAsync(string owner, CancellationToken cancellationToken)
        {
            RequireText(owner, nameof(owner));
            return LockedAsync(now =>
            {
                var owners = LoadOwners();
                Prune(owners, now);
                owners.Remove(owner);
                Save(_ownersPath, owners, durable: false);
                var budget = LoadBudget();
                if (budget.Reservations.RemoveAll(r => r.Owner == owner) > 0) Save(_budgetPath, budget, durable: false);
                return 0;
            }, cancellationToken);
        }

        // ---- Rate permits ---------------------------------------------------------------------------------------------

        public Task<PermitDecision> TakePermitAsync(PermitRequest request, CancellationToken cancellationToken)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            return LockedAsync(now =>
            {
                var permits = LoadPermits();
                var decision = permits.Take(request, now);
                Save(_permitsPath, permits, durable: false);
                return decision;
            }, cancellationToken);
        }

        public Task AnswerPermitAsync(string permitId, IReadOnlyList<PermitWindow> windows, CancellationToken cancellationToken)
        {
            if (windows == null) throw new ArgumentNullException(nameof(windows));
            return LockedAsync(now =>
            {
                var permits = LoadPermits();
                permits.Answer(permitId, windows, now);
                Save(_permitsPath, permits, durable: false);
                return 0;
            }, cancellationToken);
        }

        public Task PauseUntilAsync(DateTimeOffset until, CancellationToken cancellationToken) =>
            LockedAsync(now =>
            {
                var permits = LoadPermits();
                if (until <= permits.PausedUntil) return 0;
                permits.PauseUntil(until);
                Save(_permitsPath, permits, durable: false);
                return 0;
            }, cancellationToken);

        // ---- Run budget -----------------------------------------------------------------------------------------------

        /// <summary>See <see cref="IHexStateStore.ReserveRunAsync"/>. The request's owner must hold a live lease
        /// (<see cref="RenewOwnerAsync"/>) or its reservation counts as free at once, for others and itself.</summary>
        public Task<BudgetDecision> ReserveRunAsync(BudgetRequest request, CancellationToken cancellationToken)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            RequireText(request.ReservationId, nameof(request.ReservationId));
            return LockedAsync(now =>
            {
                var live = LiveOwners(LoadOwners(), now);
                var budget = LoadBudget();
                budget.Reservations.RemoveAll(r => r.Id == request.ReservationId || !live.Contains(r.Owner));
                var reckoned = request.Now ?? now;
                budget.Runs.RemoveAll(r => r.At < (reckoned - BudgetRetention).UtcTicks);
                var since = (reckoned - request.Window).UtcTicks;
                int total = 0, project = 0;
                foreach (var run in budget.Runs)
                {
                    if (run.At < since) continue;
                    total++;
                    if (SameProject(run.ProjectId, request.ProjectId)) project++;
                }
                foreach (var reservation in budget.Reservations)
                {
                    total++;
                    if (SameProject(reservation.ProjectId, request.ProjectId)) project++;
                }
                var over = (request.WeeklyLimit.HasValue && total + 1 > request.WeeklyLimit.Value)
                           || (request.ProjectLimit.HasValue && project + 1 > request.ProjectLimit.Value);
                var reserved = !over || request.Force;
                if (reserved)
                    budget.Reservations.Add(new BudgetReservation { Id = request.ReservationId, ProjectId = request.ProjectId, Owner = request.Owner, At = now.UtcTicks });
                Save(_budgetPath, budget, durable: false);
                return new BudgetDecision { Reserved = reserved, Total = total, Project = project, OverLimit = over, Now = now };
            }, cancellationToken);
        }

        public Task ReleaseRunAsync(string reservationId, CancellationToken cancellationToken) =>
            LockedAsync(_ =>
            {
                var budget = LoadBudget();
                if (budget.Reservations.RemoveAll(r => r.Id == reservationId) > 0) Save(_budgetPath, budget, durable: false);
                return 0;
            }, cancellationToken);

        // ---- Documents ------------------------------------------------------------------------------------------------

        public Task<string?> ReadDocumentAsync(string name, CancellationToken cancellationToken)
        {
            var path = DocumentPath(name);
            return LockedAsync(_ => Io(path, "read", () => File.Exists(path) ? File.ReadAllText(path, Encoding.UTF8) : null), cancellationToken);
        }

        public Task WriteDocumentAsync(string name, string content, IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken)
        {
            DocumentPath(name);
            if (content == null) throw new ArgumentNullException(nameof(content));
            records ??= Array.Empty<LedgerRecord>();
            var lines = Serialize(records);
            return LockedAsync(now =>
            {
                var pending = new PendingCommit { DocumentName = name, DocumentContent = content };
                AddLines(pending, records, lines);
                Run(pending, now, null);
                return 0;
            }, cancellationToken);
        }

        // ---- Migration ------------------------------------------------------------------------------------------------

        /// <summary>Writes index entries (each one's version goes up by one, as in a commit, with no expectations) and adds
        /// budget runs (deduplicated by id) in one step, and marks the folder initialized (state/version). For the migration
        /// of a legacy workspace (<see cref="HasLegacyLedgerOnly"/>): call it, even with nothing to seed, once its ledger is
        /// read.</summary>
        internal Task SeedIndexAsync(IReadOnlyList<KeyValuePair<string, string?>> writes, IReadOnlyList<BudgetEntry> budget, CancellationToken cancellationToken)
        {
            if (writes == null) throw new ArgumentNullException(nameof(writes));
            if (budget == null) throw new ArgumentNullException(nameof(budget));
            return LockedAsync(now =>
            {
                var buckets = new Dictionary<string, Dictionary<string, IndexEntryDoc>>(StringComparer.Ordinal);
                var pending = new PendingCommit { Initialize = true };
                var versions = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var write in writes)
                {
                    if (!versions.TryGetValue(write.Key, out var version))
                        version = LoadBucket(buckets, write.Key).TryGetValue(write.Key, out var e) ? e.V : 0;
                    versions[write.Key] = ++version;
                    pending.Writes.Add(new PendingWrite { Key = write.Key, V = version, Value = write.Value });
                }
                foreach (var add in budget)
                    pending.BudgetAdds.Add(new BudgetRun { Id = add.Id, ProjectId = add.ProjectId, At = add.At.UtcTicks });
                Run(pending, now, buckets);
                _initialized = true;
                return 0;
            }, cancellationToken);
        }

        // ---- The lock -------------------------------------------------------------------------------------------------

        private async Task<T> LockedAsync<T>(Func<DateTimeOffset, T> body, CancellationToken cancellationToken)
        {
            if (_disposed) throw new ObjectDisposedException(nameof(FileStateStore));
            cancellationToken.ThrowIfCancellationRequested();
            var waited = Stopwatch.StartNew();
            Interlocked.Increment(ref _waiting);
            try
            {
                if (!await _gate.WaitAsync(_busyTimeout, cancellationToken).ConfigureAwait(false)) throw Busy(null);
            }
            catch
            {
                Interlocked.Decrement(ref _waiting);
                throw;
            }
            try
            {
                FileStream held;
                try
                {
                    held = await TakeLockFileAsync(waited, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _waiting);
                }
                using (held)
                {
                    Prepare();
                    return body(_time.GetUtcNow());
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task<FileStream> TakeLockFileAsync(Stopwatch waited, CancellationToken cancellationToken)
        {
            var delay = 10;
            while (true)
            {
                IOException last;
                try
                {
                    return new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                }
                catch (DirectoryNotFoundException ex)
                {
                    throw new StateStoreException($"The state folder {Directory} is gone ({ex.Message}). Check the state path; HexCost recreates it when the session is opened again.", ex);
                }
                catch (UnauthorizedAccessException ex)
                {
                    throw new StateStoreException($"HexCost may not open the lock file {_lockPath} ({ex.Message}). Check that you may write to {Directory}.", ex);
                }
                catch (IOException ex)
                {
                    last = ex;
                }
                var left = _busyTimeout - waited.Elapsed;
                if (left <= TimeSpan.Zero) throw Busy(last);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(delay, Math.Max(1, left.TotalMilliseconds))), cancellationToken).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 50);
            }
        }

        private StateStoreBusyException Busy(Exception? inner) =>
            new StateStoreBusyException(
                $"The state lock {_lockPath} stayed taken for {_busyTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s: another HexCost process (or another session in this one) holds it and may be stuck. "
                + "End that process (the lock frees itself when it ends), then try again.", inner);

        /// <summary>Under the lock, before any operation: the state folder exists, a step a crash left unfinished is
        /// finished, and a new folder is marked initialized.</summary>
        private void Prepare()
        {
            if (!_stateDirReady)
            {
                Io(_stateDir, "create", () =>
                {
                    StateFiles.RestrictToOwner(_lockPath, isDirectory: false);
                    foreach (var folder in new[] { _stateDir, Path.Combine(_stateDir, IndexFolderName) })
                    {
                        if (System.IO.Directory.Exists(folder)) continue;
                        System.IO.Directory.CreateDirectory(folder);
                        StateFiles.RestrictToOwner(folder, isDirectory: true);
                    }
                    return 0;
                });
                _stateDirReady = true;
            }
            if (File.Exists(_pendingPath)) Redo();
            if (!_initialized)
            {
                if (File.Exists(_versionPath)) _initialized = true;
                else if (!File.Exists(_ledgerPath))
                {
                    WriteFile(_versionPath, Encoding.UTF8.GetBytes(Version), durable: true);
                    _initialized = true;
                }
            }
        }

        // ---- Steps: commit.pending, then each part, then delete it -----------------------------------------------------

        private void Run(PendingCommit pending, DateTimeOffset now, Dictionary<string, Dictionary<string, IndexEntryDoc>>? buckets)
        {
            pending.LedgerLength = Io(_ledgerPath, "read", () => File.Exists(_ledgerPath) ? new FileInfo(_ledgerPath).Length : 0L);
            WriteFile(_pendingPath, JsonSerializer.SerializeToUtf8Bytes(pending, StateJson), durable: true);
            AfterStep?.Invoke("pending");
            Apply(pending, now, buckets, redo: false);
        }

        private void Redo()
        {
            var pending = Load<PendingCommit>(_pendingPath) ?? throw new StateStoreException($"The redo log {_pendingPath} is empty.");
            Apply(pending, _time.GetUtcNow(), null, redo: true);
        }

        private void Apply(PendingCommit pending, DateTimeOffset now, Dictionary<string, Dictionary<string, IndexEntryDoc>>? buckets, bool redo)
        {
            if (pending.Lines.Count > 0)
            {
                Io(_ledgerPath, "append to", () => AppendLines(pending, redo));
                AfterStep?.Invoke("ledger");
            }
            if (pending.Writes.Count > 0)
            {
                buckets ??= new Dictionary<string, Dictionary<string, IndexEntryDoc>>(StringComparer.Ordinal);
                var touched = new HashSet<string>(StringComparer.Ordinal);
                foreach (var write in pending.Writes)
                {
                    LoadBucket(buckets, write.Key)[write.Key] = new IndexEntryDoc { V = write.V, Value = write.Value };
                    touched.Add(BucketName(write.Key));
                }
                foreach (var name in touched) Save(BucketPath(name), buckets[name], durable: true);
                AfterStep?.Invoke("index");
            }
            if (pending.BudgetAdds.Count > 0 || pending.EndReservation != null)
            {
                var budget = LoadBudget();
                var known = new HashSet<string>(budget.Runs.Select(r => r.Id), StringComparer.Ordinal);
                foreach (var add in pending.BudgetAdds)
                {
                    if (known.Add(add.Id)) budget.Runs.Add(add);
                }
                if (pending.EndReservation != null) budget.Reservations.RemoveAll(r => r.Id == pending.EndReservation);
                budget.Runs.RemoveAll(r => r.At < (now - BudgetRetention).UtcTicks);
                Save(_budgetPath, budget, durable: true);
                AfterStep?.Invoke("budget");
            }
            if (pending.DocumentName != null)
            {
                WriteFile(DocumentPath(pending.DocumentName), Encoding.UTF8.GetBytes(pending.DocumentContent ?? ""), durable: true);
                AfterStep?.Invoke("document");
            }
            if (pending.Initialize) WriteFile(_versionPath, Encoding.UTF8.GetBytes(Version), durable: true);
            Io(_pendingPath, "delete", () =>
            {
                File.Delete(_pendingPath);
                return 0;
            });
        }

        /// <summary>Appends the step's lines in one write, after a newline that seals a torn last line. On a redo, lines whose
        /// record is already in the ledger after the step's recorded length are left out (found by Id, even in an
        /// unterminated tail: the seal completes that one, so it is sealed even when nothing is left to append).</summary>
        private int AppendLines(PendingCommit pending, bool redo)
        {
            using var stream = new FileStream(_ledgerPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var isNew = stream.Length == 0;
            var lines = pending.Lines;
            if (redo && stream.Length > pending.LedgerLength)
            {
                var present = new Dictionary<string, int>(StringComparer.Ordinal);
                stream.Seek(pending.LedgerLength, SeekOrigin.Begin);
                var tail = ReadToEnd(stream);
                var start = 0;
                for (var i = 0; i <= tail.Length; i++)
                {
                    if (i < tail.Length && tail[i] != '\n') continue;
                    if (i > start) Interlocked.Increment(ref _recordsParsed);
                    var id = ParseRecord(tail, start, i - start)?.Id;
                    if (id != null) present[id] = present.TryGetValue(id, out var n) ? n + 1 : 1;
                    start = i + 1;
                }
                lines = new List<string>();
                for (var i = 0; i < pending.Lines.Count; i++)
                {
                    if (present.TryGetValue(pending.Ids[i], out var n) && n > 0) present[pending.Ids[i]] = n - 1;
                    else lines.Add(pending.Lines[i]);
                }
            }

            var buffer = new MemoryStream();
            if (!isNew)
            {
                stream.Seek(-1, SeekOrigin.End);
                if (stream.ReadByte() != '\n') buffer.WriteByte((byte)'\n');
            }
            foreach (var line in lines)
            {
                var bytes = Encoding.UTF8.GetBytes(line);
                buffer.Write(bytes, 0, bytes.Length);
                buffer.WriteByte((byte)'\n');
            }
            if (buffer.Length == 0) return 0;
            stream.Seek(0, SeekOrigin.End);
            stream.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            stream.Flush(flushToDisk: true);
            if (isNew) StateFiles.RestrictToOwner(_ledgerPath, isDirectory: false);
            return lines.Count;
        }

        // ---- The ledger -----------------------------------------------------------------------------------------------

        private static List<string> Serialize(IReadOnlyList<LedgerRecord> records)
        {
            var lines = new List<string>(records.Count);
            foreach (var record in records)
            {
                if (record == null) throw new ArgumentException("A record is null.", nameof(records));
                if (string.IsNullOrEmpty(record.Id)) record.Id = Guid.NewGuid().ToString("N");
                lines.Add(JsonSerializer.Serialize(record, LedgerJson));
            }
            return lines;
        }

        private static void AddLines(PendingCommit pending, IReadOnlyList<LedgerRecord> records, List<string> lines)
        {
            pending.Lines.AddRange(lines);
            pending.Ids.AddRange(records.Select(r => r.Id!));
        }

        private static long ParseCursor(string? cursor)
        {
            if (cursor == null) return 0;
            if (long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) return offset;
            throw new ArgumentException($"'{cursor}' is not a cursor of this store (a ledger offset).", nameof(cursor));
        }

        private RecordPage ReadPage(string? after, long start, int max)
        {
            var records = new List<LedgerRecord>();
            if (!File.Exists(_ledgerPath)) return new RecordPage(records, after);
            using var stream = new FileStream(_ledgerPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            if (stream.Length <= start) return new RecordPage(records, after);
            stream.Seek(start, SeekOrigin.Begin);
            var buffer = new byte[64 * 1024];
            var length = 0;
            var bufferStart = start;
            var next = after;
            var skipped = 0;
            while (records.Count < max)
            {
                if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                var read = stream.Read(buffer, length, buffer.Length - length);
                if (read == 0) break;
                var scanFrom = length;
                length += read;
                var lineStart = 0;
                for (var i = scanFrom; i < length && records.Count < max; i++)
                {
                    if (buffer[i] != '\n') continue;
                    if (i > lineStart) Interlocked.Increment(ref _recordsParsed);
                    var record = ParseRecord(buffer, lineStart, i - lineStart);
                    var blank = i == lineStart;
                    lineStart = i + 1;
                    if (record == null)
                    {
                        if (!blank) skipped++;
                        continue;
                    }
                    records.Add(record);
                    next = (bufferStart + lineStart).ToString(CultureInfo.InvariantCulture);
                }
                Buffer.BlockCopy(buffer, lineStart, buffer, 0, length - lineStart);
                length -= lineStart;
                bufferStart += lineStart;
            }
            return new RecordPage(records, next, skipped);
        }

        private long EndOfLastLine()
        {
            if (!File.Exists(_ledgerPath)) return 0;
            using var stream = new FileStream(_ledgerPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            var end = stream.Length;
            var chunk = new byte[4096];
            while (end > 0)
            {
                var size = (int)Math.Min(chunk.Length, end);
                stream.Seek(end - size, SeekOrigin.Begin);
                var read = 0;
                while (read < size)
                {
                    var n = stream.Read(chunk, read, size - read);
                    if (n == 0) throw new IOException("the file shrank while it was read");
                    read += n;
                }
                for (var i = size - 1; i >= 0; i--)
                {
                    if (chunk[i] == '\n') return end - size + i + 1;
                }
                end -= size;
            }
            return 0;
        }

        private static byte[] ReadToEnd(Stream stream)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        /// <summary>A whole record, as HexLedger reads one: null for anything else (a torn or garbage line).</summary>
        internal static LedgerRecord? ParseRecord(byte[] bytes, int offset, int count)
        {
            if (count <= 0) return null;
            try
            {
                var record = JsonSerializer.Deserialize<LedgerRecord>(new ReadOnlySpan<byte>(bytes, offset, count), LedgerJson);
                return record != null && !string.IsNullOrEmpty(record.Type) && record.At != default ? record : null;
            }
            catch (JsonException)
            {
                return null;
            }
            catch (ArgumentException)
            {
                return null;
            }
        }

        // ---- State files ----------------------------------------------------------------------------------------------

        /// <summary>The index bucket of a key: one of 4096 files (the first 12 bits of its SHA-256), so a step rewrites a small
        /// file however many keys the workspace has (about 250 a bucket at a million).</summary>
        internal static string BucketName(string key)
        {
            using var sha = SHA256.Create();
            var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(key));
            return ((hash[0] << 4) | (hash[1] >> 4)).ToString("x3", CultureInfo.InvariantCulture) + ".json";
        }

        private string BucketPath(string name) => Path.Combine(_stateDir, IndexFolderName, name);

        public const string IndexFolderName = "index";

        private Dictionary<string, IndexEntryDoc> LoadBucket(Dictionary<string, Dictionary<string, IndexEntryDoc>> loaded, string key)
        {
            if (key == null) throw new ArgumentException("An index key is null.");
            var name = BucketName(key);
            if (!loaded.TryGetValue(name, out var bucket))
            {
                bucket = Load<Dictionary<string, IndexEntryDoc>>(BucketPath(name)) ?? new Dictionary<string, IndexEntryDoc>(StringComparer.Ordinal);
                loaded[name] = bucket;
            }
            return bucket;
        }

        private Dictionary<string, long> LoadOwners() => Load<Dictionary<string, long>>(_ownersPath) ?? new Dictionary<string, long>(StringComparer.Ordinal);

        private static void Prune(Dictionary<string, long> owners, DateTimeOffset now)
        {
            foreach (var dead in owners.Where(o => o.Value <= now.UtcTicks).Select(o => o.Key).ToList()) owners.Remove(dead);
        }

        private static HashSet<string> LiveOwners(Dictionary<string, long> owners, DateTimeOffset now) =>
            new HashSet<string>(owners.Where(o => o.Value > now.UtcTicks).Select(o => o.Key), StringComparer.Ordinal);

        private PermitLog LoadPermits() => Load<PermitLog>(_permitsPath) ?? new PermitLog();

        private BudgetDoc LoadBudget() => Load<BudgetDoc>(_budgetPath) ?? new BudgetDoc();

        private static bool SameProject(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);


        private string DocumentPath(string name)
        {
            if (name == null || !SimpleName.IsMatch(name))
                throw new ArgumentException($"'{name}' is not a document name: use letters, digits, '-' and '_' (at most 64), such as spend-policy.", nameof(name));
            return Path.Combine(Directory, name + ".json");
        }

        private static void RequireText(string value, string name)
        {
            if (string.IsNullOrEmpty(value)) throw new ArgumentException(name + " is required.", name);
        }

        private T? Load<T>(string path) where T : class
        {
            byte[]? bytes = Io(path, "read", () => File.Exists(path) ? File.ReadAllBytes(path) : null);
            if (bytes == null) return null;
            try
            {
                return JsonSerializer.Deserialize<T>(bytes, StateJson) ?? throw new JsonException("the file holds null");
            }
            catch (JsonException ex)
            {
                throw new StateStoreException(
                    $"The state file {path} is damaged ({ex.Message}). HexCost will not guess: restore it from a backup, or delete it if you accept losing what it held.", ex);
            }
        }

        private void Save<T>(string path, T value, bool durable) => WriteFile(path, JsonSerializer.SerializeToUtf8Bytes(value, StateJson), durable);

        /// <summary>Replaces <paramref name="path"/> by a whole new file (a temporary file renamed over it); durable: flushed
        /// to disk before the rename.</summary>
        private void WriteFile(string path, byte[] content, bool durable)
        {
            var temp = path + ".tmp";
            Io(path, "write", () =>
            {
                using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
                {
                    stream.Write(content, 0, content.Length);
                    if (durable) stream.Flush(flushToDisk: true);
                }
                StateFiles.RestrictToOwner(temp, isDirectory: false);
#if NET8_0_OR_GREATER
                File.Move(temp, path, overwrite: true);
#else
                if (File.Exists(path)) File.Replace(temp, path, null);
                else File.Move(temp, path);
#endif
                return 0;
            });
        }

        private static T Io<T>(string path, string verb, Func<T> action)
        {
            try
            {
                return action();
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new StateStoreException(
                    $"HexCost could not {verb} {path} ({ex.Message}). Check that the folder exists, that you may write there and that the disk is not full.", ex);
            }
        }
    }
}
