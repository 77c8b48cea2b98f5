using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Limits;
using HexCost.Session;

namespace HexCost.Runs
{
    /// <summary>
    /// One poll loop per account for every run anyone waits on. It polls one run at a time, the most overdue first,
    /// spaced so the loop uses at most <see cref="HexRunOptions.PollBudgetShare"/> of the request budget (and less when
    /// the budget runs low), so each run's interval grows with the number in flight instead of a fixed 5 s per run.
    /// </summary>
    internal sealed class RunPoller : IDisposable
    {
        private const int MaxConsecutiveFailures = 5;
        private readonly HexAccount _account;
        private readonly object _sync = new object();
        private readonly Dictionary<string, Watch> _watches = new Dictionary<string, Watch>(StringComparer.OrdinalIgnoreCase);
        private TaskCompletionSource<bool> _added = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task? _loop;

        public RunPoller(HexAccount account) => _account = account;

        public int InFlight
        {
            get { lock (_sync) return _watches.Count; }
        }

        /// <summary>The spacing between two polls of the loop, from the request budget left right now.</summary>
        public TimeSpan LoopSpacing()
        {
            var limiter = _account.Limiter;
            // GetRunStatus counts against the per-user request limit only (Hex names no read group for it).
            var spacing = TimeSpan.FromTicks((long)(limiter.SustainedInterval(RateLimitGroup.Request).Ticks / _account.RunOptions.PollBudgetShare));
            var tightest = limiter.Settings[RateLimitGroup.Request].Min(w => w.Limit);
            if (limiter.Available(RateLimitGroup.Request) < Math.Max(1, tightest / 4)) spacing = TimeSpan.FromTicks(spacing.Ticks * 2);
            return spacing;
        }

        /// <summary>Waits until the run reaches a terminal status. <paramref name="onStatus"/> sees every status polled.</summary>
        public async Task<RunStatusPayload> WaitAsync(string projectId, string runId, IHexEventSink sink, Action<RunStatusPayload>? onStatus, CancellationToken cancellationToken)
        {
            Watch watch;
            TaskCompletionSource<bool>? added = null;
            lock (_sync)
            {
                if (!_watches.TryGetValue(runId, out watch!))
                {
                    watch = new Watch(projectId, runId, sink, _account.Time.GetUtcNow() + LoopSpacing());
                    _watches[runId] = watch;
                    added = _added;
                    _added = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                if (onStatus != null) watch.Listeners.Add(onStatus);
                watch.Waiters++;
                if (_loop == null || _loop.IsCompleted) _loop = Task.Run(LoopAsync);
            }
            added?.TrySetResult(true);

            var cancelled = new TaskCompletionSource<RunStatusPayload>(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                using (cancellationToken.Register(() => cancelled.TrySetCanceled(cancellationToken)))
                {
                    var finished = await Task.WhenAny(watch.Done.Task, cancelled.Task).ConfigureAwait(false);
                    return await finished.ConfigureAwait(false);
                }
            }
            finally
            {
                lock (_sync)
                {
                    if (onStatus != null) watch.Listeners.Remove(onStatus);
                    if (--watch.Waiters == 0 && _watches.TryGetValue(runId, out var current) && current == watch) _watches.Remove(runId);
                }
            }
        }

        /// <summary>A run's next poll: one full round of the loop at most, but sooner while the run is young
        /// (its age since the watch began), so short runs are seen ending promptly.</summary>
        private DateTimeOffset NextDue(Watch watch, int inFlight)
        {
            var now = _account.Time.GetUtcNow();
            var spacing = LoopSpacing();
            var round = TimeSpan.FromTicks(spacing.Ticks * inFlight);
            var age = now - watch.Started;
            var wait = age < round ? (age > spacing ? age : spacing) : round;
            return now + wait;
        }

        private async Task LoopAsync()
        {
            var lifetime = _account.Lifetime;
            var lastPoll = DateTimeOffset.MinValue;
            while (!lifetime.IsCancellationRequested)
            {
                Watch? next;
                Task added;
                lock (_sync)
                {
                    if (_watches.Count == 0)
                    {
                        _loop = null;
                        return;
                    }
                    next = _watches.Values.OrderBy(w => w.Due).First();
                    added = _added.Task;
                }
                var now = _account.Time.GetUtcNow();
                var at = Clock.Max(next.Due, lastPoll + LoopSpacing());
                if (at > now)
                {
                    try
                    {
                        var delay = Clock.Delay(_account.Time, at - now, lifetime);
                        if (await Task.WhenAny(delay, added).ConfigureAwait(false) == added) continue;
                        await delay.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                lock (_sync)
                {
                    if (!_watches.ContainsKey(next.RunId)) continue;
                }
                lastPoll = _account.Time.GetUtcNow();
                await PollAsync(next, lifetime).ConfigureAwait(false);
            }
            lock (_sync)
            {
                foreach (var watch in _watches.Values) watch.Done.TrySetCanceled();
                _watches.Clear();
                _loop = null;
            }
        }

        private async Task PollAsync(Watch watch, CancellationToken lifetime)
        {
            try
            {
                var status = await _account.Client.GetRunStatusAsync(watch.ProjectId, watch.RunId, watch.Sink, lifetime).ConfigureAwait(false);
                watch.Failures = 0;
                Action<RunStatusPayload>[] listeners;
                int count;
                lock (_sync)
                {
                    listeners = watch.Listeners.ToArray();
                    count = _watches.Count;
                    if (RunStatuses.IsTerminal(status.Status)) _watches.Remove(watch.RunId);
                    else watch.Due = NextDue(watch, count);
                }
                foreach (var listener in listeners) listener(status);
                if (RunStatuses.IsTerminal(status.Status)) watch.Done.TrySetResult(status);
            }
            catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
            {
            }
            catch (HexException ex) when (ex.Kind != HexErrorKind.AuthFailed && ex.Kind != HexErrorKind.RunNotFound && ++watch.Failures < MaxConsecutiveFailures)
            {
                watch.Sink.Verbose($"Polling run {watch.RunId} failed ({ex.Message}); polling it again later.");
                lock (_sync) watch.Due = _account.Time.GetUtcNow() + TimeSpan.FromTicks(LoopSpacing().Ticks * 4);
            }
            catch (Exception ex)
            {
                lock (_sync) _watches.Remove(watch.RunId);
                watch.Done.TrySetException(ex);
            }
        }

        public void Dispose()
        {
            lock (_sync)
            {
                foreach (var watch in _watches.Values) watch.Done.TrySetCanceled();
                _watches.Clear();
            }
        }

        private sealed class Watch
        {
            public Watch(string projectId, string runId, IHexEventSink sink, DateTimeOffset due)
            {
                Started = due;
                ProjectId = projectId;
                RunId = runId;
                Sink = sink;
                Due = due;
            }

            public string ProjectId { get; }
            public string RunId { get; }
            public IHexEventSink Sink { get; }
            public DateTimeOffset Started { get; }
            public DateTimeOffset Due { get; set; }
            public int Waiters { get; set; }
            public int Failures { get; set; }
            public List<Action<RunStatusPayload>> Listeners { get; } = new List<Action<RunStatusPayload>>();
            public TaskCompletionSource<RunStatusPayload> Done { get; } = new TaskCompletionSource<RunStatusPayload>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
