using System;
using System.Diagnostics;

namespace HexCost.Infrastructure
{
    /// <summary>This process as other processes see it in the ledger: its id, and its start time on the operating system's
    /// clock (not HexCost's TimeProvider), which tells it apart from a later process that was given the same id.</summary>
    internal static class CurrentProcess
    {
        private static readonly Lazy<DateTimeOffset?> Started = new Lazy<DateTimeOffset?>(() => StartTimeOf(Process.GetCurrentProcess()));

        public static int Id
        {
            get
            {
#if NET8_0_OR_GREATER
                return Environment.ProcessId;
#else
                using var process = Process.GetCurrentProcess();
                return process.Id;
#endif
            }
        }

        public static DateTimeOffset? StartedAt => Started.Value;

        /// <summary>When <paramref name="process"/> started (UTC, operating system clock), or null when it cannot be read.</summary>
        public static DateTimeOffset? StartTimeOf(Process process)
        {
            try
            {
                return new DateTimeOffset(process.StartTime.ToUniversalTime(), TimeSpan.Zero);
            }
            catch (Exception ex) when (ex is InvalidOperationException || ex is System.ComponentModel.Win32Exception || ex is NotSupportedException)
            {
                return null; // another user's process, or a platform that does not say
            }
        }
    }
}
