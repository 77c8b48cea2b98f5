using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Limits;
using HexCost.Model;
using HexCost.Runs;
using Microsoft.Extensions.Caching.Memory;

namespace HexCost.Session
{
    /// <summary>
    /// Everything that belongs to one Hex account (base URI + token identity, scoped to the org the token answers for):
    /// the HTTP client, the limiter, the ledger, the run cache and the poll loop. One instance per process, shared by
    /// every runspace and thread that connects with the same account.
    /// </summary>
    public sealed class HexAccount : IDisposable
    {
        private readonly ConcurrentDictionary<string, LedgerRecord> _claims = new ConcurrentDictionary<string, LedgerRecord>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Lazy<Task<RunResult>>> _singleFlight = new ConcurrentDictionary<string, Lazy<Task<RunResult>>>();
        private readonly ConcurrentDictionary<string, SemaphoreSlim> _triggerLocks = new ConcurrentDictionary<string, SemaphoreSlim>();
        private readonly ConcurrentDictionary<string, byte> _knownRunIds = new ConcurrentDictionary<string, byte>(StringComparer.OrdinalIgnoreCase);
        private readonly ConcurrentDictionary<string, LedgerRecord> _openTriggers = new ConcurrentDictionary<string, LedgerRecord>();
        private readonly ConcurrentDictionary<string, byte> _completedRunIds = new ConcurrentDictionary<string, byte>(StringComparer.OrdinalIgnoreCase);
        private readonly List<(DateTimeOffset At, string ProjectId)> _triggers = new List<(DateTimeOffset, string)>();
        private readonly ConcurrentDictionary<string, byte> _ownRecords = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, LedgerRecord> _byIdempotencyKey = new ConcurrentDictionary<string, LedgerRecord>(StringComparer.Ordinal);
        private readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        private int _references;

        internal HexAccount(string key, HexApiClient client, MeResponse me, string stateRoot, TimeProvider time, HexRunOptions runOptions)
        {
            Key = key;
            Client = client;
            Time = time;
            RunOptions = runOptions;
            OrgId = me.Org?.Id ?? throw new HexException(HexErrorKind.UnexpectedResponse,
                "Hex's /users/me answer has no org id, so HexCost cannot tell which workspace this token belongs to. Check -BaseUri points at Hex's API.");
            UserId = me.Id;
            UserEmail = me.Email;
            Role = me.Role;
            TokenExpires = me.Token?.Exp?.UtcDateTime;
            StateRoot = stateRoot;
            StateDirectory = StateFiles.WorkspaceDirectory(stateRoot, OrgId);
            Ledger = new HexLedger(StateDirectory);
            Cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = runOptions.CacheSizeLimit, Clock = new TimeProviderClock(time) });
            Poller = new RunPoller(this);
            Limiter.Journal = new PermitJournal(StateDirectory);
            // Other processes' permits of the last hours come from the journal; only without one (older state) are the
            // ledger's trigger records the record of the spent budget.
            _seedFromLedger = Limiter.CatchUp() == 0;
            LoadLedger();
            _seedFromLedger = false;
        }

        private bool _seedFromLedger;

        public string Key { get; }
        public HexApiClient Client { get; }
        public HexRateLimiter Limiter => Client.Limiter;
        public HexLedger Ledger { get; }
        public TimeProvider Time { get; }
        public HexRunOptions RunOptions { get; }
        public string OrgId { get; }
        public string? UserId { get; }
        public string? UserEmail { get; }
        public string? Role { get; }
        public DateTime? TokenExpires { get; }
        public string StateRoot { get; }
        public string StateDirectory { get; }
        /// <summary>Titles of the projects Get-HexProject has listed (id → title), for tab completion.</summary>
        public ProjectNameCache ProjectNames { get; } = new ProjectNameCache();
        internal MemoryCache Cache { get; }
        internal RunPoller Poller { get; }
        internal CancellationToken Lifetime => _lifetime.Token;
        /// <summary>One flight per cache key: a Lazy, because GetOrAdd may run a value factory twice under contention, and
        /// here the factory starts a billable run.</summary>
        internal ConcurrentDictionary<string, Lazy<Task<RunResult>>> SingleFlight => _singleFlight;
        public bool IsDisposed { get; private set; }

        internal int AddReference() => Interlocked.Increment(ref _references);
        internal int RemoveReference() => Interlocked.Decrement(ref _references);
        /// <summary>Sessions holding the account, in every runspace of the process.</summary>
        internal int References => Volatile.Read(ref _references);

        /// <summary>Held while a run budget is checked and the trigger is made.</summary>
        internal SemaphoreSlim BudgetGate { get; } = new SemaphoreSlim(1, 1);

        internal SemaphoreSlim TriggerLock(string projectId) => _triggerLocks.GetOrAdd(projectId.ToLowerInvariant(), _ => new SemaphoreSlim(1, 1));

        /// <summary>Runs started (triggered or adopted) since <paramref name="since"/>: in all, and of one project.</summary>
        internal (int Total, int Project) TriggersSince(DateTimeOffset since, string projectId)
        {
            lock (_triggers)
            {
                var recent = _triggers.Where(t => t.At >= since).ToList();
                return (recent.Count, recent.Count(t => string.Equals(t.ProjectId, projectId, StringComparison.OrdinalIgnoreCase)));
            }
        }

        internal bool IsKnownRun(string runId) => _knownRunIds.ContainsKey(runId);

        /// <summary>True the first time a run's completion is reported, so it is recorded once.</summary>
        internal bool MarkCompleted(string runId) => _completedRunIds.TryAdd(runId, 0);

        /// <summary>Appends to the ledger and keeps the in-memory views (known runs, open triggers, cache) in step.</summary>
        internal void Record(LedgerRecord record)
        {
            Stamp(record);
            Ledger.Append(record);
            Apply(record, seedLimiter: false);
        }

        /// <summary>Under the ledger's cross-process lock: catch up with other processes' records, let
        /// <paramref name="decide"/> look at the state, and append the record it returns (if any) before anyone else can.</summary>
        internal T Exclusive<T>(Func<T> decide, Func<T, LedgerRecord?> recordOf)
        {
            return Ledger.Exclusive(append =>
            {
                RefreshFromLedger();
                var decision = decide();
                var record = recordOf(decision);
                if (record != null)
                {
                    Stamp(record);
                    append(record);
                    Apply(record, seedLimiter: false);
                }
                return decision;
            });
        }

        /// <summary>The latest ledger record for an idempotency key, from any process.</summary>
        /// <summary>The latest record for the project's idempotency key: a key names one run of one project, so a pipeline of
        /// projects under one key runs each once.</summary>
        internal LedgerRecord? ForIdempotencyKey(string? projectId, string key) =>
            _byIdempotencyKey.TryGetValue(IdempotencyIndex(projectId, key), out var record) ? record : null;

        private static string IdempotencyIndex(string? projectId, string key) =>
            (HexIds.Normalize(projectId) ?? projectId ?? "") + "\n" + key;

        private void Stamp(LedgerRecord record)
        {
            record.User ??= UserEmail;
            if (record.ProcessId == null)
            {
                record.ProcessId = CurrentProcess.Id;
                record.ProcessStartedAt = CurrentProcess.StartedAt;
            }
            record.Id ??= Guid.NewGuid().ToString("N");
            _ownRecords.TryAdd(record.Id, 0);
        }

        /// <summary>Picks up what other processes appended since the last read (our own appends are already applied).</summary>
        internal void RefreshFromLedger()
        {
            foreach (var record in Ledger.ReadNew())
            {
                if (record.Id != null && _ownRecords.ContainsKey(record.Id)) continue;
                Apply(record, seedLimiter: true);
            }
        }

        internal bool TryGetCached(string cacheKey, out HexRun run)
        {
            if (Cache.TryGetValue(cacheKey, out HexRun? cached) && cached != null)
            {
                run = cached.Clone();
                return true;
            }
            run = null!;
            return false;
        }

        /// <summary>The Intent another process (or this one) wrote for a cache key it is about to trigger, until a Trigger,
        /// Adopt or release for that key follows.</summary>
        internal LedgerRecord? ClaimFor(string cacheKey) => _claims.TryGetValue(cacheKey, out var claim) ? claim : null;

        /// <summary>Trigger records with this cache key whose run has no completion yet (ours or another process's).</summary>
        internal LedgerRecord? OpenTriggerFor(string cacheKey) =>
            _openTriggers.Values.Where(r => r.CacheKey == cacheKey).OrderByDescending(r => r.At).FirstOrDefault();

        private void LoadLedger()
        {
            foreach (var record in Ledger.ReadAll()) Apply(record, seedLimiter: true);
        }

        private void Apply(LedgerRecord record, bool seedLimiter)
        {
            if (!string.IsNullOrEmpty(record.RunId)) _knownRunIds[record.RunId!] = 0;
            if (!string.IsNullOrEmpty(record.IdempotencyKey))
            {
                // A completion or cancel keeps the run id of the trigger it follows.
                var previous = ForIdempotencyKey(record.ProjectId, record.IdempotencyKey!);
                if (previous == null || record.RunId != null || previous.RunId == null) _byIdempotencyKey[IdempotencyIndex(record.ProjectId, record.IdempotencyKey!)] = record;
            }
            if (!string.IsNullOrEmpty(record.CacheKey))
            {
                if (record.Type == LedgerRecordTypes.Intent && record.Outcome != TriggerOutcomes.Released) _claims[record.CacheKey!] = record;
                else if (record.Type == LedgerRecordTypes.Intent || record.Type == LedgerRecordTypes.Adopt
                         || (record.Type == LedgerRecordTypes.Trigger && record.Outcome != TriggerOutcomes.Unknown)) _claims.TryRemove(record.CacheKey!, out _);
            }
            switch (record.Type)
            {
                case LedgerRecordTypes.Trigger:
                    if (seedLimiter && _seedFromLedger)
                    {
                        var attempts = Math.Max(1, record.Attempts ?? 1);
                        for (var i = 0; i < attempts; i++)
                        {
                            Limiter.Seed(RateLimitGroup.RunProject, record.At);
                            Limiter.Seed(RateLimitGroup.Request, record.At);
                        }
                    }
                    if (record.Outcome == TriggerOutcomes.Created && record.RunId != null && record.CacheKey != null)
                        _openTriggers[record.RunId] = record;
                    if (record.Outcome == TriggerOutcomes.Created && record.ProjectId != null && record.Note != "DryRun")
                        lock (_triggers) _triggers.Add((record.At, record.ProjectId));
                    break;
                case LedgerRecordTypes.Adopt:
                    if (record.ProjectId != null) lock (_triggers) _triggers.Add((record.At, record.ProjectId));
                    if (record.RunId != null && record.CacheKey != null) _openTriggers[record.RunId] = record;
                    break;
                case LedgerRecordTypes.Complete:
                case LedgerRecordTypes.Cancel:
                    if (record.Type == LedgerRecordTypes.Complete && record.RunId != null) _completedRunIds.TryAdd(record.RunId, 0);
                    if (record.RunId != null) _openTriggers.TryRemove(record.RunId, out _);
                    if (record.Type == LedgerRecordTypes.Complete && record.Status == RunStatuses.Completed && !string.IsNullOrEmpty(record.CacheKey))
                        Remember(record.CacheKey!, RunFromRecord(record));
                    break;
            }
        }

        internal void Remember(string cacheKey, HexRun run)
        {
            using var entry = Cache.CreateEntry(cacheKey);
            entry.Value = run.Clone();
            entry.Size = 1;
            if (RunOptions.CacheTimeToLive.HasValue) entry.AbsoluteExpirationRelativeToNow = RunOptions.CacheTimeToLive;
        }

        internal static HexRun RunFromRecord(LedgerRecord record) => new HexRun
        {
            ProjectId = record.ProjectId ?? "",
            RunId = record.RunId,
            Status = record.Status,
            StartTime = record.StartTime?.UtcDateTime,
            EndTime = record.EndTime?.UtcDateTime,
            ElapsedSeconds = record.ElapsedSeconds,
            RunUrl = record.RunUrl,
            TraceId = record.TraceId,
            ProjectVersion = record.ProjectVersion,
            InputParameters = record.InputParameters,
            SourceVersion = record.SourceVersion,
            Attempts = record.Attempts ?? 0,
            ThrottledSeconds = record.ThrottledSeconds ?? 0,
            RequestedAt = (record.RequestedAt ?? record.At).UtcDateTime,
            IdempotencyKey = record.IdempotencyKey,
        };

        public void Dispose()
        {
            if (IsDisposed) return;
            IsDisposed = true;
            _lifetime.Cancel();
            Poller.Dispose();
            Client.Dispose();
            Limiter.Dispose();
            Cache.Dispose();
            _lifetime.Dispose();
        }

        private sealed class TimeProviderClock : Microsoft.Extensions.Internal.ISystemClock
        {
            private readonly TimeProvider _time;
            public TimeProviderClock(TimeProvider time) => _time = time;
            public DateTimeOffset UtcNow => _time.GetUtcNow();
        }
    }

    public sealed class HexRunOptions
    {
        public long CacheSizeLimit { get; set; } = 10_000;
        /// <summary>How long a completed run stays reusable; null = until its SourceVersion changes.</summary>
        public TimeSpan? CacheTimeToLive { get; set; }
        /// <summary>How far before the trigger was sent a run's start may lie and still be adopted (clock skew).</summary>
        public TimeSpan AdoptionSkew { get; set; } = TimeSpan.FromSeconds(5);
        /// <summary>Look-ups for a run an unanswered trigger may have created before it is sent again.</summary>
        public int AdoptionLookups { get; set; } = 3;
        /// <summary>RunProject sends for one run when answers keep getting lost and Hex shows no run each time.</summary>
        public int MaxTriggerSends { get; set; } = 6;
        public TimeSpan AdoptionLookupDelay { get; set; } = TimeSpan.FromSeconds(1);
        /// <summary>The share of the request budget the poll loop may use.</summary>
        public double PollBudgetShare { get; set; } = 0.5;
        /// <summary>How long another live process's claim (an Intent for the same idempotency or cache key) is waited for
        /// before this one looks for its run itself: longer than Hex's longest limit window, because the other process may
        /// be waiting for a RunProject permit of the hourly limit before it sends.</summary>
        public TimeSpan IntentTimeout { get; set; } = TimeSpan.FromMinutes(65);
    }
}
