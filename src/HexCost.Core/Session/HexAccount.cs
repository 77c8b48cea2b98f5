using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Limits;
using HexCost.Model;
using HexCost.Runs;
using HexCost.State;
using Microsoft.Extensions.Caching.Memory;

namespace HexCost.Session
{
    /// <summary>
    /// Everything that belongs to one Hex account (base URI + token identity, scoped to the org the token answers for):
    /// the HTTP client, the limiter, the workspace's state store, the run cache and the poll loop. One instance per
    /// process, shared by every runspace and thread that connects with the same account; processes and hosts share its
    /// budget, claims and records through the store, where this instance is one owner with a lease it keeps renewing.
    /// </summary>
    public sealed class HexAccount : IDisposable
    {
        private readonly ConcurrentDictionary<string, SemaphoreSlim> _triggerLocks = new ConcurrentDictionary<string, SemaphoreSlim>();
        private readonly CancellationTokenSource _lifetime = new CancellationTokenSource();
        private readonly ITimer _heartbeat;
        private int _references;

        internal HexAccount(string key, HexApiClient client, MeResponse me, string orgId, IHexStateStore store, string stateRoot, TimeProvider time, HexRunOptions runOptions)
        {
            Key = key;
            Client = client;
            Time = time;
            RunOptions = runOptions;
            OrgId = orgId;
            UserId = me.Id;
            UserEmail = me.Email;
            Role = me.Role;
            TokenExpires = me.Token?.Exp?.UtcDateTime;
            StateRoot = stateRoot;
            StateDirectory = StateFiles.WorkspaceDirectory(stateRoot, OrgId);
            Store = store;
            State = new WorkspaceState(store, Guid.NewGuid().ToString("N"), UserEmail ?? UserId);
            Cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = runOptions.CacheSizeLimit, Clock = new TimeProviderClock(time) });
            Poller = new RunPoller(this);
            Limiter.Attach(store, State.Owner);
            _heartbeat = time.CreateTimer(_ => _ = RenewLeaseAsync(), null, WorkspaceState.Heartbeat, WorkspaceState.Heartbeat);
        }

        public string Key { get; }
        public HexApiClient Client { get; }
        public HexRateLimiter Limiter => Client.Limiter;
        /// <summary>The workspace's shared state (the ledger, claims, budgets, permits, the spend policy).</summary>
        public IHexStateStore Store { get; }
        /// <summary>This account's side of the shared state: records and decisions.</summary>
        public WorkspaceState State { get; }
        public TimeProvider Time { get; }
        public HexRunOptions RunOptions { get; }
        public string OrgId { get; }
        public string? UserId { get; }
        public string? UserEmail { get; }
        public string? Role { get; }
        public DateTime? TokenExpires { get; }
        public string StateRoot { get; }
        /// <summary>The workspace's folder under the state root: the state itself with the file store.</summary>
        public string StateDirectory { get; }
        /// <summary>Titles of the projects Get-HexProject has listed (id → title), for tab completion.</summary>
        public ProjectNameCache ProjectNames { get; } = new ProjectNameCache();
        internal MemoryCache Cache { get; }
        internal RunPoller Poller { get; }
        internal CancellationToken Lifetime => _lifetime.Token;
        /// <summary>One flight per cache key in this process.</summary>
        internal ConcurrentDictionary<string, SharedWork<HexRun>> Flights { get; } = new ConcurrentDictionary<string, SharedWork<HexRun>>(StringComparer.Ordinal);
        public bool IsDisposed { get; private set; }

        internal int AddReference() => Interlocked.Increment(ref _references);
        internal int RemoveReference() => Interlocked.Decrement(ref _references);
        /// <summary>Sessions holding the account, in every runspace of the process.</summary>
        internal int References => Volatile.Read(ref _references);

        internal SemaphoreSlim TriggerLock(string projectId) => _triggerLocks.GetOrAdd(projectId.ToLowerInvariant(), _ => new SemaphoreSlim(1, 1));

        /// <summary>Starts this owner's lease; the heartbeat renews it until the account is disposed.</summary>
        internal Task StartLeaseAsync(CancellationToken cancellationToken) => Store.RenewOwnerAsync(State.Owner, WorkspaceState.OwnerLease, cancellationToken);

        private async Task RenewLeaseAsync()
        {
            try
            {
                await Store.RenewOwnerAsync(State.Owner, WorkspaceState.OwnerLease, Lifetime).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The next beat tries again; a lease that lapses only lets others take over this owner's claims.
            }
        }

        /// <summary>The completed run of a cache key: from this process's cache, else from the store (then cached here).</summary>
        internal async Task<HexRun?> CachedRunAsync(string cacheKey, CancellationToken cancellationToken)
        {
            if (Cache.TryGetValue(cacheKey, out HexRun? cached) && cached != null) return cached.Clone();
            var entryKey = LedgerIndex.CacheKey(cacheKey);
            var view = await Store.ReadAsync(new[] { entryKey }, cancellationToken).ConfigureAwait(false);
            var completed = LedgerIndex.Parse<CacheEntry>(view[entryKey].Value)?.Completed;
            if (completed == null) return null;
            if (RunOptions.CacheTimeToLive is TimeSpan ttl && completed.At + ttl <= Time.GetUtcNow()) return null;
            var run = RunFromRecord(completed);
            using (var entry = Cache.CreateEntry(cacheKey))
            {
                entry.Value = run.Clone();
                entry.Size = 1;
                if (RunOptions.CacheTimeToLive is TimeSpan keep) entry.AbsoluteExpiration = completed.At + keep;
            }
            return run;
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
            _heartbeat.Dispose();
            _lifetime.Cancel();
            Poller.Dispose();
            // Records held while the store was out of reach get a last chance to be written.
            State.Close(TimeSpan.FromSeconds(5));
            try
            {
                // A clean end frees this owner's claims and reservations at once instead of when its lease runs out.
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                Store.EndOwnerAsync(State.Owner, bounded.Token).Wait(TimeSpan.FromSeconds(3));
            }
            catch (Exception)
            {
                // Then the lease runs out.
            }
            Client.Dispose();
            Limiter.Dispose();
            Cache.Dispose();
            Store.Dispose();
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
        /// <summary>How long another live owner's claim on a key is waited for before this one looks in Hex for its run and
        /// takes the key over (its trigger record may have been lost, say to a failover). Safe at any time: the other owner's
        /// trigger is fenced, so it sends nothing once its key is taken over.</summary>
        public TimeSpan ClaimWaitLimit { get; set; } = TimeSpan.FromMinutes(2);
    }
}
