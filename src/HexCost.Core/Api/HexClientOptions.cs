using System;

namespace HexCost.Api
{
    public sealed class HexClientOptions
    {
        /// <summary>Tries per call, first included.</summary>
        public int MaxAttempts { get; set; } = 6;
        /// <summary>How long one HTTP attempt may take. Waits between attempts (a Retry-After) are not part of it.</summary>
        public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);
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
