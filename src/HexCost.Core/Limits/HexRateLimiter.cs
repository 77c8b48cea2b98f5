using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.RateLimiting;
using System.Threading.Tasks;
using HexCost.Infrastructure;
using HexCost.State;

namespace HexCost.Limits
{
    /// <summary>What a request is, for the limits it counts against.</summary>
    public enum RequestKind
    {
        /// <summary>A GET in Hex's "hex-api" group (users, projects by id, threads): counts as a request and a read.</summary>
        Read,
        /// <summary>A RunProject trigger: counts as a request and a trigger.</summary>
        RunProject,
        /// <summary>Any other call (ListProjects, GetProjectRuns, GetRunStatus, a cancel): counts as a request only.</summary>
        Other,
    }

    /// <summary>
    /// One account's chained limits, as a <see cref="PartitionedRateLimiter{TResource}"/> over request kinds. Permits live in
    /// a permit store (the workspace's state store, so every process and host that shares the account takes from one
    /// budget): each window is a sliding log, and a permit counts from before its request is sent until one window after
    /// its answer, so no interval of a window's length ever holds more than the limit of requests as the server received
    /// them, whatever the phase of Hex's fixed windows, and even right after an idle spell. A request takes its permits in
    /// every window of its chain at once or none, so one blocked by the hour window spends nothing of the minute window.
    /// Waiting is done here, cancellable, and never holds a lock.
    /// </summary>
    public sealed class HexRateLimiter : PartitionedRateLimiter<RequestKind>
    {
        /// <summary>How long a permit whose request is never answered (its process died) still counts beyond its window: more
        /// than any request may take (HexClientOptions.MaxAttemptTimeout, 100 s).</summary>
        public static readonly TimeSpan RemoteAnswerTimeout = TimeSpan.FromMinutes(2);

        private readonly object _sync = new object();
        private readonly TimeProvider _time;
        private readonly Dictionary<RateLimitGroup, int> _remaining = new Dictionary<RateLimitGroup, int>();
        private TaskCompletionSource<bool> _changed = NewSignal();
        private IPermitStore _store;
        private string _owner = Guid.NewGuid().ToString("N");
        private readonly HashSet<object> _parked = new HashSet<object>();
        private long _granted;
        private int _answering;
        private bool _disposed;

        public HexRateLimiter(RateLimitSettings settings, TimeProvider? time = null, IPermitStore? store = null)
        {
            Settings = settings ?? throw new ArgumentNullException(nameof(settings));
            _time = time ?? TimeProvider.System;
            _store = store ?? new LocalPermitStore(_time);
        }

        public RateLimitSettings Settings { get; private set; }

        /// <summary>Where the permits are kept.</summary>
        public IPermitStore Store
        {
            get { lock (_sync) return _store; }
        }

        /// <summary>From now on takes permits from <paramref name="store"/> (the workspace's, once the account knows it), as
        /// <paramref name="owner"/>.</summary>
        public void Attach(IPermitStore store, string owner)
        {
            lock (_sync)
            {
                _store = store;
                _owner = owner;
            }
            Signal();
        }

        /// <summary>From now on also keeps to the windows of <paramref name="stricter"/> it lacks (a connect that asked for
        /// tighter limits on an account other runspaces share). <paramref name="stricter"/> holds every window in force too:
        /// windows are only ever added. A new window's log in the store already holds the permits taken over its length by
        /// anyone who kept to a window of that length.</summary>
        public void Tighten(RateLimitSettings stricter)
        {
            lock (_sync)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(HexRateLimiter));
                foreach (var group in Settings.Groups)
                {
                    if (Settings[group].Any(held => !stricter[group].Any(w => w.Limit == held.Limit && w.Window == held.Window)))
                        throw new ArgumentException($"The {group} windows {string.Join(",", Settings[group])} must all stay in force.", nameof(stricter));
                }
                Settings = stricter;
            }
            Signal();
        }

        public static IReadOnlyList<RateLimitGroup> GroupsOf(RequestKind kind)
        {
            switch (kind)
            {
                case RequestKind.Read: return new[] { RateLimitGroup.Request, RateLimitGroup.Read };
                case RequestKind.RunProject: return new[] { RateLimitGroup.Request, RateLimitGroup.RunProject };
                default: return new[] { RateLimitGroup.Request };
            }
        }

        /// <summary>The windows a request of <paramref name="kind"/> takes a permit in, under <paramref name="settings"/>.</summary>
        public static IReadOnlyList<PermitWindow> WindowsOf(RequestKind kind, RateLimitSettings settings) =>
            GroupsOf(kind).SelectMany(g => settings[g].Select(w => new PermitWindow(g.ToString(), w.Window, w.Limit))).ToList();

        /// <summary>Waits until every window of the kind's groups has a permit, then takes them all.
        /// Dispose the permit when the response (or the failure) arrives.</summary>
        /// <param name="notAfter">The caller's deadline: a 429 pause that ends after it fails at once with
        /// <see cref="RatePauseBeyondDeadlineException"/> instead of waiting.</param>
        public async Task<RatePermit> AcquireAsync(RequestKind kind, IHexEventSink? sink, CancellationToken cancellationToken, DateTimeOffset? notAfter = null)
        {
            sink ??= NullEventSink.Instance;
            var started = _time.GetUtcNow();
            string? announced = null;
            try
            {
                while (true)
                {
                    IPermitStore store;
                    string owner;
                    Task changed;
                    IReadOnlyList<PermitWindow> windows;
                    lock (_sync)
                    {
                        if (_disposed) throw new ObjectDisposedException(nameof(HexRateLimiter));
                        store = _store;
                        owner = _owner;
                        changed = _changed.Task;
                        windows = WindowsOf(kind, Settings);
                    }
                    var id = Guid.NewGuid().ToString("N");
                    var decision = await store.TakePermitAsync(new PermitRequest(id, owner, windows, RemoteAnswerTimeout), cancellationToken).ConfigureAwait(false);
                    var now = _time.GetUtcNow();
                    if (decision.Granted)
                    {
                        lock (_sync)
                        {
                            _granted++;
                            foreach (var group in GroupsOf(kind))
                            {
                                var left = windows.Where(w => w.Group == group.ToString() && decision.Remaining.ContainsKey(w.Key)).Select(w => decision.Remaining[w.Key]).DefaultIfEmpty(int.MaxValue).Min();
                                if (left != int.MaxValue) _remaining[group] = left;
                            }
                        }
                        if (announced != null)
                            sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting for a Hex rate-limit permit", "Permit granted", completed: true));
                        // Time spent waiting for a slot, not the store's own round trip.
                        return new RatePermit(this, store, id, windows, announced == null ? TimeSpan.Zero : now - started);
                    }

                    // The store's clock decides when; the wait is that span on ours.
                    var wait = decision.RetryAt.HasValue ? decision.RetryAt.Value - decision.Now : InFlightPoll(windows);
                    if (decision.Paused && notAfter.HasValue && now + wait > notAfter.Value)
                        throw new RatePauseBeyondDeadlineException(now + wait, now);
                    if (decision.BlockedByInFlight && wait > InFlightPoll(windows)) wait = InFlightPoll(windows);
                    if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;

                    var reason = decision.Paused
                        ? $"Hex answered 429; every request of this account waits {Seconds(wait)} s before the next try."
                        : $"The {Describe(decision.Blocker, windows)} limit is used up; the next permit frees {(decision.BlockedByInFlight ? "when a request still in flight is answered, or" : "")} in {Seconds(decision.RetryAt.HasValue ? decision.RetryAt.Value - decision.Now : wait)} s.";
                    if (announced != reason)
                    {
                        sink.Verbose("Waiting for a rate-limit permit: " + reason);
                        announced = reason;
                    }
                    var remaining = decision.RetryAt.HasValue ? decision.RetryAt.Value - decision.Now : TimeSpan.Zero;
                    sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting for a Hex rate-limit permit", reason,
                        secondsRemaining: remaining > TimeSpan.Zero ? (int)Math.Ceiling(remaining.TotalSeconds) : -1));
                    await WaitAsync(changed, wait, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception stopped) when (announced != null && (stopped is OperationCanceledException || stopped is RatePauseBeyondDeadlineException))
            {
                sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting for a Hex rate-limit permit",
                    stopped is OperationCanceledException ? "Cancelled" : "The wait ends after the deadline", completed: true));
                throw;
            }
        }

        /// <summary>Holds every request of the account (every process and host sharing its store) until
        /// <paramref name="until"/> (a 429's Retry-After). Only extends.</summary>
        public async Task PauseUntilAsync(DateTimeOffset until, CancellationToken cancellationToken)
        {
            await Store.PauseUntilAsync(until, cancellationToken).ConfigureAwait(false);
            Signal();
        }

        /// <summary>Permits handed out since the limiter was made.</summary>
        internal long Granted
        {
            get { lock (_sync) return _granted; }
        }

        /// <summary>Permits left in the tightest window of <paramref name="group"/> when this limiter last took one (the whole
        /// limit before it took any).</summary>
        public int Available(RateLimitGroup group)
        {
            lock (_sync) return _remaining.TryGetValue(group, out var left) ? Math.Max(0, left) : Settings[group].Min(w => w.Limit);
        }

        /// <summary>The steady-state spacing the tightest window of <paramref name="group"/> allows (window / limit).</summary>
        public TimeSpan SustainedInterval(RateLimitGroup group) =>
            TimeSpan.FromTicks(Settings[group].Max(w => w.Window.Ticks / w.Limit));

        /// <summary>Slack added to every hold: system timers may fire a few milliseconds before the wall clock reaches their due
        /// time, and a permit freed early could land one request inside the server's window.</summary>
        internal static TimeSpan Slack(TimeSpan window) => TimeSpan.FromMilliseconds(20) + TimeSpan.FromTicks(window.Ticks / 1000);

        /// <summary>Requests waiting for a permit right now (parked until a permit may free): for tests that drive a fake clock.</summary>
        internal int Parked
        {
            get { lock (_sync) return _parked.Count; }
        }

        /// <summary>Answers being written to the store right now.</summary>
        internal int Answering => Volatile.Read(ref _answering);

        internal void Answered(IPermitStore store, string permitId, IReadOnlyList<PermitWindow> windows)
        {
            Interlocked.Increment(ref _answering);
            _ = AnswerAsync(store, permitId, windows);
        }

        private async Task AnswerAsync(IPermitStore store, string permitId, IReadOnlyList<PermitWindow> windows)
        {
            try
            {
                await store.AnswerPermitAsync(permitId, windows, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The permit then counts until its in-flight allowance runs out: later, never sooner, so the budget holds.
            }
            Signal();
            Interlocked.Decrement(ref _answering);
        }

        /// <summary>How often a wait blocked by another process's unanswered request looks again (an answer frees its permit one
        /// window later, so learning of it a little late costs nothing): a twentieth of the shortest window, at most 250 ms.</summary>
        private static TimeSpan InFlightPoll(IReadOnlyList<PermitWindow> windows)
        {
            var shortest = windows.Min(w => w.Window);
            return TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(250).Ticks, Math.Max(TimeSpan.FromMilliseconds(10).Ticks, shortest.Ticks / 20)));
        }

        private static string Describe(string? blocker, IReadOnlyList<PermitWindow> windows)
        {
            var window = windows.FirstOrDefault(w => w.Key == blocker);
            return window == null ? "rate" : window.Group + " " + new RateWindow(window.Limit, window.Window);
        }

        private void Signal()
        {
            TaskCompletionSource<bool> signal;
            lock (_sync)
            {
                signal = _changed;
                _changed = NewSignal();
                _parked.Clear();
            }
            signal.TrySetResult(true);
        }

        /// <summary>Waits until <paramref name="changed"/> (an answer, a pause, new limits) or <paramref name="wait"/>. The
        /// waiter counts as parked until either happens, as it happens (for <see cref="Parked"/>).</summary>
        private async Task WaitAsync(Task changed, TimeSpan wait, CancellationToken cancellationToken)
        {
            var parking = new object();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Clock.Delay(_time, wait, stop.Token);
            lock (_sync)
            {
                if (ReferenceEquals(changed, _changed.Task) && !delay.IsCompleted) _parked.Add(parking);
            }
            _ = delay.ContinueWith(_ => { lock (_sync) _parked.Remove(parking); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                var first = await Task.WhenAny(changed, delay).ConfigureAwait(false);
                stop.Cancel();
                cancellationToken.ThrowIfCancellationRequested();
                if (first == delay && delay.IsFaulted) await delay.ConfigureAwait(false);
            }
            finally
            {
                lock (_sync) _parked.Remove(parking);
            }
        }

        public override RateLimiterStatistics? GetStatistics(RequestKind resource) => new RateLimiterStatistics
        {
            CurrentAvailablePermits = GroupsOf(resource).Min(Available),
            TotalSuccessfulLeases = Granted,
        };

        protected override RateLimitLease AttemptAcquireCore(RequestKind resource, int permitCount)
        {
            if (permitCount > 1) throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, "A request takes one permit.");
            IPermitStore store;
            string owner;
            IReadOnlyList<PermitWindow> windows;
            lock (_sync)
            {
                store = _store;
                owner = _owner;
                windows = WindowsOf(resource, Settings);
            }
            var id = Guid.NewGuid().ToString("N");
            var decision = store.TakePermitAsync(new PermitRequest(id, owner, windows, RemoteAnswerTimeout), CancellationToken.None).GetAwaiter().GetResult();
            if (decision.Granted) return new RatePermit(this, store, id, windows, TimeSpan.Zero);
            return new RefusedLease(decision.RetryAt.HasValue ? decision.RetryAt.Value - decision.Now : (TimeSpan?)null);
        }

        protected override async ValueTask<RateLimitLease> AcquireAsyncCore(RequestKind resource, int permitCount, CancellationToken cancellationToken)
        {
            if (permitCount > 1) throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, "A request takes one permit.");
            return await AcquireAsync(resource, null, cancellationToken).ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            lock (_sync) _disposed = true;
            Signal();
            base.Dispose(disposing);
        }

        private static TaskCompletionSource<bool> NewSignal() => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private static string Seconds(TimeSpan t) => Math.Max(0, Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

        private sealed class RefusedLease : RateLimitLease
        {
            private readonly TimeSpan? _retryAfter;

            public RefusedLease(TimeSpan? retryAfter) => _retryAfter = retryAfter;

            public override bool IsAcquired => false;

            public override IEnumerable<string> MetadataNames => _retryAfter.HasValue ? new[] { MetadataName.RetryAfter.Name } : Array.Empty<string>();

            public override bool TryGetMetadata(string metadataName, out object? metadata)
            {
                metadata = _retryAfter;
                return _retryAfter.HasValue && metadataName == MetadataName.RetryAfter.Name;
            }
        }
    }

    /// <summary>Hex paused the account (a 429's Retry-After) until after the caller's deadline: nothing was sent.</summary>
    public sealed class RatePauseBeyondDeadlineException : Exception
    {
        public RatePauseBeyondDeadlineException(DateTimeOffset until, DateTimeOffset now)
            : base("The account is paused by a 429 until " + until.ToString("u", CultureInfo.InvariantCulture) + ".")
        {
            Until = until;
            Wait = until - now;
        }

        public DateTimeOffset Until { get; }

        public TimeSpan Wait { get; }
    }

    /// <summary>The permits of one request (a <see cref="RateLimitLease"/>). Dispose it when the response or failure arrives:
    /// from then each window counts it for one more window.</summary>
    public sealed class RatePermit : RateLimitLease
    {
        private readonly HexRateLimiter _owner;
        private readonly IPermitStore _store;
        private readonly string _id;
        private readonly IReadOnlyList<PermitWindow> _windows;
        private int _answered;

        internal RatePermit(HexRateLimiter owner, IPermitStore store, string id, IReadOnlyList<PermitWindow> windows, TimeSpan waited)
        {
            _owner = owner;
            _store = store;
            _id = id;
            _windows = windows;
            Waited = waited;
        }

        public TimeSpan Waited { get; }

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => Array.Empty<string>();

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _answered, 1) == 0) _owner.Answered(_store, _id, _windows);
            base.Dispose(disposing);
        }
    }
}
