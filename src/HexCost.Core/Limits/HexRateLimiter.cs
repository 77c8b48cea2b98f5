using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.RateLimiting;
using System.Threading.Tasks;
using HexCost.Infrastructure;

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
    /// One account's chained limits. Each window is a <see cref="ConcurrencyLimiter"/> whose permit is held from
    /// before a request is sent until one window after its response arrived, so no interval of a window's length
    /// ever holds more than its limit of requests as the server received them, whatever the phase of the
    /// server's fixed windows, and even right after an idle spell. Permits of a chain are taken all or none,
    /// so a request blocked by one window never burns a permit of another.
    /// </summary>
    public sealed class HexRateLimiter : IDisposable
    {
        private readonly object _sync = new object();
        private readonly TimeProvider _time;
        private readonly Dictionary<RateLimitGroup, WindowGate[]> _gates;
        private TaskCompletionSource<bool> _changed = NewSignal();
        private long _granted;
        private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
        private bool _disposed;

        public HexRateLimiter(RateLimitSettings settings, TimeProvider? time = null)
        {
            Settings = settings ?? throw new ArgumentNullException(nameof(settings));
            _time = time ?? TimeProvider.System;
            _gates = settings.Groups.ToDictionary(g => g, g => settings[g].Select(w => new WindowGate(g, w)).ToArray());
        }

        public RateLimitSettings Settings { get; private set; }

        /// <summary>From now on also keeps to the windows of <paramref name="stricter"/> it lacks (a connect that asked for
        /// tighter limits on an account other runspaces share). <paramref name="stricter"/> holds every window in force too:
        /// windows are only ever added. Requests already made count in a new window as they count in the longest window of
        /// its group.</summary>
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
                var now = _time.GetUtcNow();
                foreach (var group in stricter.Groups)
                {
                    var gates = _gates[group].ToList();
                    var longest = gates.OrderByDescending(g => g.Window.Window).First();
                    foreach (var window in stricter[group])
                    {
                        if (gates.Any(g => g.Window.Limit == window.Limit && g.Window.Window == window.Window)) continue;
                        var gate = new WindowGate(group, window);
                        foreach (var pending in longest.Pending)
                        {
                            var responded = pending.At - longest.Window.Window - Slack(longest.Window.Window);
                            var until = responded + window.Window + Slack(window.Window);
                            if (until > now) Hold(gate, until, now);
                        }
                        gates.Add(gate);
                    }
                    _gates[group] = gates.ToArray();
                }
                Settings = stricter;
            }
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
                    Task changed;
                    TimeSpan pause;
                    long? journalNumber = null;
                    WindowGate? blocker = null;
                    DateTimeOffset? eta = null;
                    lock (_sync)
                    {
                        if (_disposed) throw new ObjectDisposedException(nameof(HexRateLimiter));
                        var gates = GroupsOf(kind).SelectMany(g => _gates[g]).ToArray();
                        var now = _time.GetUtcNow();
                        pause = _pausedUntil - now;
                        if (pause > TimeSpan.Zero && _pausedUntil > notAfter) throw new RatePauseBeyondDeadlineException(_pausedUntil, now);
                        if (pause <= TimeSpan.Zero)
                        {
                            List<(WindowGate, RateLimitLease)>? leases;
                            if (Journal == null)
                            {
                                leases = TryAcquireAll(gates, out blocker);
                            }
                            else
                            {
                                WindowGate? blocked = null;
                                leases = Journal.Exclusive(now, new Remote(this), () =>
                                {
                                    var taken = TryAcquireAll(gates, out blocked);
                                    return (taken, taken != null ? kind : (RequestKind?)null);
                                }, out journalNumber);
                                blocker = blocked;
                            }
                            if (leases != null)
                            {
                                var waited = now - started;
                                if (announced != null)
                                {
                                    sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting for a Hex rate-limit permit", "Permit granted", completed: true));
                                }
                                _granted++;
                                return new RatePermit(this, leases, waited, journalNumber);
                            }
                            eta = blocker!.EarliestRelease;
                        }
                        changed = _changed.Task;
                    }

                    var reason = pause > TimeSpan.Zero
                        ? $"Hex answered 429; every request of this account waits {Seconds(pause)} s before the next try."
                        : $"The {blocker!.Group} limit {blocker.Window} is used up; the next permit frees {(eta.HasValue ? "in " + Seconds(eta.Value - _time.GetUtcNow()) + " s" : "when a request still in flight is answered")}.";
                    if (announced != reason)
                    {
                        sink.Verbose("Waiting for a rate-limit permit: " + reason);
                        announced = reason;
                    }
                    var remaining = pause > TimeSpan.Zero ? pause : eta.HasValue ? eta.Value - _time.GetUtcNow() : TimeSpan.Zero;
                    sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting for a Hex rate-limit permit", reason,
                        secondsRemaining: remaining > TimeSpan.Zero ? (int)Math.Ceiling(remaining.TotalSeconds) : -1));

                    if (pause > TimeSpan.Zero)
                    {
                        await Clock.Delay(_time, pause, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await WaitAsync(changed, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception stopped) when (announced != null && (stopped is OperationCanceledException || stopped is RatePauseBeyondDeadlineException))
            {
                sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting for a Hex rate-limit permit",
                    stopped is OperationCanceledException ? "Cancelled" : "The wait ends after the deadline", completed: true));
                throw;
            }
        }

        /// <summary>Shares the budget with other processes using the same state directory; null = this process only.</summary>
        public PermitJournal? Journal { get; set; }

        /// <summary>How long a permit another process took is held when it never reports the response (it died): its
        /// HTTP attempt timeout is at most 100 s (HexClientOptions.MaxAttemptTimeout), so this outlasts any answer it could still get.</summary>
        public static readonly TimeSpan RemoteAnswerTimeout = TimeSpan.FromMinutes(2);

        private readonly Dictionary<string, List<ForeignHold>> _remoteOpen = new Dictionary<string, List<ForeignHold>>(StringComparer.Ordinal);

        /// <summary>Reads what other processes took since the last look (at start: the last hours). Returns how many.</summary>
        public int CatchUp()
        {
            if (Journal == null) return 0;
            lock (_sync)
            {
                var remote = new Remote(this);
                Journal.Exclusive(_time.GetUtcNow(), remote, () => (0, (RequestKind?)null), out _);
                return remote.Count;
            }
        }

        /// <summary>Another process took a permit: held here until it reports the response (then one window more), or,
        /// if it never does, for <see cref="RemoteAnswerTimeout"/> plus the window.</summary>
        private void RemoteTaken(string key, DateTimeOffset at, RequestKind kind)
        {
            var now = _time.GetUtcNow();
            var held = new List<ForeignHold>();
            foreach (var gate in GroupsOf(kind).SelectMany(g => _gates[g]))
            {
                var until = at + RemoteAnswerTimeout + gate.Window.Window + Slack(gate.Window.Window);
                if (until > now) held.Add(Hold(gate, until, now));
            }
            _remoteOpen[key] = held;
        }

        private void RemoteAnswered(string key, DateTimeOffset at)
        {
            if (!_remoteOpen.TryGetValue(key, out var held)) return;
            _remoteOpen.Remove(key);
            var now = _time.GetUtcNow();
            var freed = false;
            foreach (var hold in held)
            {
                var gate = hold.Gate;
                var until = at + gate.Window.Window + Slack(gate.Window.Window);
                if (hold.Pending == null)
                {
                    if (until <= now) gate.Owed.Remove(hold);
                    else hold.Until = until;
                    continue;
                }
                if (!gate.Pending.Remove(hold.Pending)) continue;
                hold.Pending.Timer?.Dispose();
                if (until <= now) freed |= Free(gate, hold.Pending.Lease, now);
                else hold.Pending = ScheduleRelease(gate, hold.Pending.Lease, until - now, until);
            }
            if (freed)
            {
                var signal = _changed;
                _changed = NewSignal();
                signal.TrySetResult(true);
            }
        }

        /// <summary>Counts a permit this process did not take (another process's, or one the ledger recorded) in
        /// <paramref name="gate"/> until <paramref name="until"/>: in a free slot, else in the next slot to free. A window that
        /// is already full must still count it, or it would grant that slot again when its own permits end.</summary>
        private ForeignHold Hold(WindowGate gate, DateTimeOffset until, DateTimeOffset now)
        {
            var hold = new ForeignHold(gate, until);
            var lease = gate.Limiter.AttemptAcquire(1);
            if (lease.IsAcquired)
            {
                hold.Pending = ScheduleRelease(gate, lease, until - now, until);
            }
            else
            {
                lease.Dispose();
                gate.Owed.Add(hold);
            }
            return hold;
        }

        /// <summary>A slot of <paramref name="gate"/> ends its hold: the first foreign permit still owed a slot takes it;
        /// else the permit is returned. True when a permit became free.</summary>
        private bool Free(WindowGate gate, RateLimitLease lease, DateTimeOffset now)
        {
            gate.Owed.RemoveAll(h => h.Until <= now);
            if (gate.Owed.Count > 0)
            {
                var hold = gate.Owed[0];
                gate.Owed.RemoveAt(0);
                hold.Pending = ScheduleRelease(gate, lease, hold.Until - now, hold.Until);
                return false;
            }
            lease.Dispose();
            return true;
        }

        private sealed class Remote : PermitJournal.IRemote
        {
            private readonly HexRateLimiter _owner;
            public Remote(HexRateLimiter owner) => _owner = owner;
            public int Count { get; private set; }

            public void Taken(string key, DateTimeOffset at, RequestKind kind)
            {
                Count++;
                _owner.RemoteTaken(key, at, kind);
            }

            public void Answered(string key, DateTimeOffset at) => _owner.RemoteAnswered(key, at);
        }

        private static List<(WindowGate, RateLimitLease)>? TryAcquireAll(WindowGate[] gates, out WindowGate? blocker)
        {
            blocker = null;
            var leases = new List<(WindowGate, RateLimitLease)>(gates.Length);
            foreach (var gate in gates)
            {
                var lease = gate.Limiter.AttemptAcquire(1);
                if (!lease.IsAcquired)
                {
                    lease.Dispose();
                    blocker = gate;
                    foreach (var (_, taken) in leases) taken.Dispose();
                    return null;
                }
                leases.Add((gate, lease));
            }
            return leases;
        }

        /// <summary>Counts a request that was made before this limiter existed (from the ledger): its permit is
        /// held until <paramref name="respondedAt"/> plus each window of the group.</summary>
        public void Seed(RateLimitGroup group, DateTimeOffset respondedAt)
        {
            lock (_sync)
            {
                var now = _time.GetUtcNow();
                foreach (var gate in _gates[group])
                {
                    var releaseAt = respondedAt + gate.Window.Window + Slack(gate.Window.Window);
                    if (releaseAt > now) Hold(gate, releaseAt, now);
                }
            }
        }

        /// <summary>Holds every request of the account until <paramref name="until"/> (a 429's Retry-After). Only extends.</summary>
        public void PauseUntil(DateTimeOffset until)
        {
            TaskCompletionSource<bool> signal;
            lock (_sync)
            {
                if (until <= _pausedUntil) return;
                _pausedUntil = until;
                signal = _changed;
                _changed = NewSignal();
            }
            signal.TrySetResult(true);
        }

        /// <summary>Permits handed out since the limiter was made.</summary>
        internal long Granted
        {
            get { lock (_sync) return _granted; }
        }

        /// <summary>Permits free now in the tightest window of <paramref name="group"/>.</summary>
        public int Available(RateLimitGroup group)
        {
            lock (_sync)
            {
                return _gates[group].Min(g => (int)(g.Limiter.GetStatistics()?.CurrentAvailablePermits ?? 0));
            }
        }

        /// <summary>The steady-state spacing the tightest window of <paramref name="group"/> allows (window / limit).</summary>
        public TimeSpan SustainedInterval(RateLimitGroup group) =>
            TimeSpan.FromTicks(Settings[group].Max(w => w.Window.Ticks / w.Limit));

        internal void Release(IReadOnlyList<(WindowGate Gate, RateLimitLease Lease)> leases, long? journalNumber)
        {
            lock (_sync)
            {
                var now = _time.GetUtcNow();
                if (journalNumber.HasValue && !_disposed) Journal?.Answered(journalNumber.Value, now);
                foreach (var (gate, lease) in leases)
                {
                    if (_disposed)
                    {
                        lease.Dispose();
                        continue;
                    }
                    var hold = gate.Window.Window + Slack(gate.Window.Window);
                    ScheduleRelease(gate, lease, hold, now + hold);
                }
            }
        }

        private PendingRelease ScheduleRelease(WindowGate gate, RateLimitLease lease, TimeSpan after, DateTimeOffset at)
        {
            var pending = new PendingRelease(lease, at);
            gate.Pending.Add(pending);
            pending.Timer = _time.CreateTimer(_ => OnRelease(gate, pending), null, after, Timeout.InfiniteTimeSpan);
            return pending;
        }

        /// <summary>Slack added to every hold: system timers may fire a few milliseconds before the wall clock
        /// reaches their due time, and a permit freed early could land one request inside the server's window.</summary>
        internal static TimeSpan Slack(TimeSpan window) => TimeSpan.FromMilliseconds(20) + TimeSpan.FromTicks(window.Ticks / 1000);

        private void OnRelease(WindowGate gate, PendingRelease pending)
        {
            TaskCompletionSource<bool> signal;
            lock (_sync)
            {
                var early = pending.At - _time.GetUtcNow();
                if (early > TimeSpan.Zero && gate.Pending.Contains(pending))
                {
                    pending.Timer?.Change(early, Timeout.InfiniteTimeSpan);
                    return;
                }
                if (!gate.Pending.Remove(pending)) return;
                pending.Timer?.Dispose();
                if (!Free(gate, pending.Lease, _time.GetUtcNow())) return;
                signal = _changed;
                _changed = NewSignal();
            }
            signal.TrySetResult(true);
        }

        public void Dispose()
        {
            TaskCompletionSource<bool> signal;
            lock (_sync)
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var gate in _gates.Values.SelectMany(g => g))
                {
                    foreach (var pending in gate.Pending)
                    {
                        pending.Timer?.Dispose();
                        pending.Lease.Dispose();
                    }
                    gate.Pending.Clear();
                    gate.Owed.Clear();
                    gate.Limiter.Dispose();
                }
                signal = _changed;
            }
            signal.TrySetResult(true);
        }

        private static TaskCompletionSource<bool> NewSignal() => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        private static string Seconds(TimeSpan t) => Math.Max(0, Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

        private static async Task WaitAsync(Task task, CancellationToken cancellationToken)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                await task.ConfigureAwait(false);
                return;
            }
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => cancelled.TrySetCanceled(cancellationToken)))
            {
                await (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }

        internal sealed class WindowGate
        {
            public WindowGate(RateLimitGroup group, RateWindow window)
            {
                Group = group;
                Window = window;
                Limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = window.Limit, QueueLimit = 0 });
            }

            public RateLimitGroup Group { get; }
            public RateWindow Window { get; }
            public ConcurrencyLimiter Limiter { get; }
            public List<PendingRelease> Pending { get; } = new List<PendingRelease>();
            /// <summary>Foreign permits counted while the window was full, waiting for the next slot to free.</summary>
            public List<ForeignHold> Owed { get; } = new List<ForeignHold>();
            public DateTimeOffset? EarliestRelease => Pending.Count == 0 ? (DateTimeOffset?)null : Pending.Min(p => p.At);
        }

        /// <summary>A permit this process did not take, counted in one window until <see cref="Until"/>.</summary>
        internal sealed class ForeignHold
        {
            public ForeignHold(WindowGate gate, DateTimeOffset until)
            {
                Gate = gate;
                Until = until;
            }

            public WindowGate Gate { get; }
            public DateTimeOffset Until { get; set; }
            /// <summary>The slot it holds; null while it is owed one.</summary>
            public PendingRelease? Pending { get; set; }
        }

        internal sealed class PendingRelease
        {
            public PendingRelease(RateLimitLease lease, DateTimeOffset at)
            {
                Lease = lease;
                At = at;
            }

            public RateLimitLease Lease { get; }
            public DateTimeOffset At { get; }
            public ITimer? Timer { get; set; }
        }
    }

    /// <summary>Permits for one request. Dispose when its response or failure arrives: from then each
    /// window keeps counting it for one full window.</summary>
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

    public sealed class RatePermit : IDisposable
    {
        private readonly HexRateLimiter _owner;
        private IReadOnlyList<(HexRateLimiter.WindowGate, RateLimitLease)>? _leases;

        private readonly long? _journalNumber;

        internal RatePermit(HexRateLimiter owner, IReadOnlyList<(HexRateLimiter.WindowGate, RateLimitLease)> leases, TimeSpan waited, long? journalNumber = null)
        {
            _owner = owner;
            _leases = leases;
            Waited = waited;
            _journalNumber = journalNumber;
        }

        public TimeSpan Waited { get; }

        public void Dispose()
        {
            var leases = Interlocked.Exchange(ref _leases, null);
            if (leases != null) _owner.Release(leases, _journalNumber);
        }
    }
}
