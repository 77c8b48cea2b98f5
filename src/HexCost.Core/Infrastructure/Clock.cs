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
    }
}
