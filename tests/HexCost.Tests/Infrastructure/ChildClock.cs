using System;
using System.Diagnostics;
using System.Globalization;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>
    /// The clock of the processes a test starts. Run under libfaketime's "start at" form (<c>faketime -f '@2027-02-01
    /// 00:04:00' dotnet test</c>), every new process starts at that instant again, so a child would be behind this process
    /// by its age (minutes, late in a run): hosts on one machine share its clock, so a child gets this process's faked now.
    /// A server reached over the network (redis-server) keeps the real clock: its clock is its own, and libfaketime
    /// crashes it at start.
    /// </summary>
    internal static class ChildClock
    {
        private const string FakeTime = "FAKETIME";

        /// <summary>The child's clock reads what this process's reads.</summary>
        public static ProcessStartInfo OnThisClock(this ProcessStartInfo start)
        {
            var faked = Environment.GetEnvironmentVariable(FakeTime);
            if (faked != null && faked.StartsWith("@", StringComparison.Ordinal))
                start.Environment[FakeTime] = "@" + DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
            return start;
        }

        /// <summary>The child runs on the real clock, without libfaketime.</summary>
        public static ProcessStartInfo OnRealClock(this ProcessStartInfo start)
        {
            if (Environment.GetEnvironmentVariable(FakeTime) == null) return start;
            start.Environment.Remove(FakeTime);
            start.Environment.Remove("FAKETIME_SHARED");
            var preload = Environment.GetEnvironmentVariable("LD_PRELOAD");
            if (preload != null && preload.IndexOf("faketime", StringComparison.OrdinalIgnoreCase) >= 0) start.Environment.Remove("LD_PRELOAD");
            return start;
        }
    }
}
