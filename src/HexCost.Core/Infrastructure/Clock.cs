using System;
using System.Threading;
using System.Threading.Tasks;

namespace HexCost.Infrastructure
{
    internal static class Clock
    {
        public static Task Delay(TimeProvider time, TimeSpan delay, CancellationToken cancellationToken)
        {
            if (delay <= TimeSpan.Zero)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return Task.CompletedTask;
            }
#if NET8_0_OR_GREATER
            return Task.Delay(delay, time, cancellationToken);
#else
            return time.Delay(delay, cancellationToken);
#endif
        }

        public static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

        /// <summary>A wait as people say it: "2849 s (47 min 29 s)", "12 s".</summary>
        public static string Say(TimeSpan span)
        {
            var seconds = (long)Math.Ceiling(Math.Max(0, span.TotalSeconds));
            var plain = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s";
            if (seconds < 60) return plain;
            var parts = new System.Collections.Generic.List<string>();
            if (seconds >= 86400) parts.Add((seconds / 86400).ToString(System.Globalization.CultureInfo.InvariantCulture) + " d");
            if (seconds % 86400 >= 3600) parts.Add((seconds % 86400 / 3600).ToString(System.Globalization.CultureInfo.InvariantCulture) + " h");
            if (seconds % 3600 >= 60) parts.Add((seconds % 3600 / 60).ToString(System.Globalization.CultureInfo.InvariantCulture) + " min");
            if (seconds % 60 > 0) parts.Add((seconds % 60).ToString(System.Globalization.CultureInfo.InvariantCulture) + " s");
            return plain + " (" + string.Join(" ", parts) + ")";
        }
    }
}
