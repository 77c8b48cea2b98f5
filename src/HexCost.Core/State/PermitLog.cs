using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace HexCost.State
{
    /// <summary>
    /// The sliding logs of rate permits, as data and the rules that take and answer permits; a store keeps it (in memory, in
    /// a file) and applies these rules inside its own atomic step. Each window's log holds the permits that still count:
    /// until their request's answer plus the window's hold, or, unanswered, until the in-flight allowance plus the hold.
    /// </summary>
    public sealed class PermitLog
    {
        public Dictionary<string, List<PermitLogEntry>> Windows { get; set; } = new Dictionary<string, List<PermitLogEntry>>(StringComparer.Ordinal);
        public DateTimeOffset PausedUntil { get; set; } = DateTimeOffset.MinValue;

        public PermitDecision Take(PermitRequest request, DateTimeOffset now)
        {
            foreach (var window in request.Windows)
            {
                if (window.Limit < 1) throw new ArgumentOutOfRangeException(nameof(request), window.Limit, $"Window {window.Key} must allow at least one permit.");
            }
            Prune(now);
            if (PausedUntil > now) return new PermitDecision { Now = now, RetryAt = PausedUntil, Paused = true };

            DateTimeOffset? retryAt = null;
            string? blocker = null;
            var inFlight = false;
            foreach (var window in request.Windows)
            {
                var others = Log(window.Key).Where(e => e.Id != request.PermitId).OrderBy(e => e.ExpiresAt).ToList();
                if (others.Count < window.Limit) continue;
                var freeing = others.Take(others.Count - window.Limit + 1).ToList();
                var at = freeing[freeing.Count - 1].ExpiresAt;
                if (retryAt == null || at > retryAt)
                {
                    retryAt = at;
                    blocker = window.Key;
                    inFlight = freeing.Any(e => e.InFlight);
                }
            }
            if (blocker != null) return new PermitDecision { Now = now, RetryAt = retryAt, Blocker = blocker, BlockedByInFlight = inFlight };

            var remaining = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var window in request.Windows)
            {
                var log = Log(window.Key);
                log.RemoveAll(e => e.Id == request.PermitId);
                log.Add(new PermitLogEntry { Id = request.PermitId, ExpiresAt = now + window.Hold + request.InFlight, InFlight = true });
                remaining[window.Key] = window.Limit - log.Count;
            }
            return new PermitDecision { Granted = true, Now = now, Remaining = remaining };
        }

        public void Answer(string permitId, IReadOnlyList<PermitWindow> windows, DateTimeOffset now)
        {
            foreach (var window in windows)
            {
                if (!Windows.TryGetValue(window.Key, out var log)) continue;
                foreach (var entry in log.Where(e => e.Id == permitId))
                {
                    entry.ExpiresAt = now + window.Hold;
                    entry.InFlight = false;
                }
            }
            Prune(now);
        }

        public void PauseUntil(DateTimeOffset until)
        {
            if (until > PausedUntil) PausedUntil = until;
        }

        /// <summary>Drops what no longer counts (compaction: a log never holds more than its permits of the last window).</summary>
        public void Prune(DateTimeOffset now)
        {
            foreach (var key in Windows.Keys.ToList())
            {
                Windows[key].RemoveAll(e => e.ExpiresAt <= now);
                if (Windows[key].Count == 0) Windows.Remove(key);
            }
        }

        private List<PermitLogEntry> Log(string key)
        {
            if (!Windows.TryGetValue(key, out var log)) Windows[key] = log = new List<PermitLogEntry>();
            return log;
        }
    }

    public sealed class PermitLogEntry
    {
        public string Id { get; set; } = "";
        public DateTimeOffset ExpiresAt { get; set; }
        public bool InFlight { get; set; }
    }

    /// <summary>Permits of this process only: what a limiter uses before it knows its workspace (Connect-Hex's first request)
    /// or without one.</summary>
    public sealed class LocalPermitStore : IPermitStore
    {
        private readonly object _sync = new object();
        private readonly PermitLog _log = new PermitLog();
        private readonly TimeProvider _time;

        public LocalPermitStore(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

        public Task<PermitDecision> TakePermitAsync(PermitRequest request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (_sync) return Task.FromResult(_log.Take(request, _time.GetUtcNow()));
        }

        public Task AnswerPermitAsync(string permitId, IReadOnlyList<PermitWindow> windows, CancellationToken cancellationToken)
        {
            lock (_sync) _log.Answer(permitId, windows, _time.GetUtcNow());
            return Task.CompletedTask;
        }

        public Task PauseUntilAsync(DateTimeOffset until, CancellationToken cancellationToken)
        {
            lock (_sync) _log.PauseUntil(until);
            return Task.CompletedTask;
        }
    }
}
