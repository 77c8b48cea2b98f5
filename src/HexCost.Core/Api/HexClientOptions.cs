using System;

namespace HexCost.Api
{
    public sealed class HexClientOptions
    {
        /// <summary>Tries per call, first included.</summary>
        public int MaxAttempts { get; set; } = 6;
        /// <summary>Tries per call when no HTTP answer comes (refused, DNS, a timeout, a dropped connection); a failed TLS
        /// handshake is never retried. Keeps an unreachable host to a few seconds instead of the full retry budget.</summary>
        public int TransportMaxAttempts { get; set; } = 3;
        /// <summary>How long one HTTP attempt may take (Connect-Hex -RequestTimeout). Waits between attempts (a Retry-After)
        /// are not part of it. At most <see cref="MaxAttemptTimeout"/>: other processes hold a permit of a process that
        /// never reports its answer for that long.</summary>
        public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
        public static readonly TimeSpan MaxAttemptTimeout = TimeSpan.FromSeconds(100);
        public static readonly TimeSpan MinAttemptTimeout = TimeSpan.FromSeconds(1);

        /// <summary>Why <paramref name="timeout"/> cannot be Connect-Hex -RequestTimeout, or null.</summary>
        public static string? RequestTimeoutProblem(TimeSpan timeout)
        {
            if (timeout < MinAttemptTimeout)
                return $"-RequestTimeout is {timeout}: it must be at least a second (a bare number binds as ticks: -RequestTimeout 30 is 3 microseconds). Give a time span, e.g. -RequestTimeout (New-TimeSpan -Seconds 30) or -RequestTimeout 00:00:30.";
            if (timeout > MaxAttemptTimeout)
                return $"-RequestTimeout is {timeout}, longer than the {MaxAttemptTimeout.TotalSeconds:0} s HexCost lets one request take (other processes sharing the budget count an unanswered request as lost after that). Give at most -RequestTimeout 00:01:40.";
            return null;
        }
        /// <summary>No retry starts that would end after this much time since the call began.</summary>
        public TimeSpan TotalDeadline { get; set; } = TimeSpan.FromMinutes(15);
        /// <summary>The wait after a 429 that names no Retry-After and no reset time (Hex's windows are a minute).</summary>
        public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromSeconds(60);
        public TimeSpan ServerErrorBaseDelay { get; set; } = TimeSpan.FromSeconds(1);
        public TimeSpan ServerErrorMaxDelay { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Headers read for a reset time when a 429 has no Retry-After (epoch seconds, or seconds from now if small).</summary>
        public string[] RateResetHeaders { get; set; } = { "X-RateLimit-Reset", "RateLimit-Reset", "X-Rate-Limit-Reset" };
    }

    /// <summary>What one logical call cost: attempts sent and time spent waiting on limits.</summary>
    public sealed class CallStats
    {
        private int _attempts;
        private long _throttledTicks;

        public int Attempts => _attempts;
        public TimeSpan Throttled => TimeSpan.FromTicks(System.Threading.Interlocked.Read(ref _throttledTicks));

        internal void AddAttempt() => System.Threading.Interlocked.Increment(ref _attempts);
        internal void AddThrottled(TimeSpan t)
        {
            if (t > TimeSpan.Zero) System.Threading.Interlocked.Add(ref _throttledTicks, t.Ticks);
        }
    }
}
