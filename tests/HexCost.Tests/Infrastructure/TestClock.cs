using System;
using System.Runtime.CompilerServices;
using System.Threading;
using HexCost.Emulator;
using HexCost.Session;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>
    /// The one clock of this test process: every emulator a test starts (HexWorld) and every account the module connects
    /// without a clock of its own (HexAccountRegistry.DefaultTime) read it, and the host processes tests start run at the
    /// same offset (ModuleHostProcess). It is pinned mid-cycle, so nothing depends on the day the suite runs.
    /// Tests that need another instant pin it with <see cref="PinAt"/>, in the <see cref="PinnedClockCollection"/>.
    /// </summary>
    internal static class TestClock
    {
        /// <summary>Cycle day 15 of a 30-day month, at noon: as far from a cycle's edges as a month allows.</summary>
        public static readonly DateTimeOffset MidCycle = new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero);

        private static readonly SemaphoreSlim Exclusive = new SemaphoreSlim(1, 1);

        public static PinnedClock Shared { get; } = new PinnedClock(MidCycle);

        public static DateTimeOffset Now => Shared.GetUtcNow();

        /// <summary>The start (day 1, midnight UTC) of the billing cycle <paramref name="at"/> falls in.</summary>
        public static DateTimeOffset CycleStart(DateTimeOffset at) => new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero);

        /// <summary>A moment of the current cycle that has passed: halfway from its start to now.</summary>
        public static DateTimeOffset EarlierThisCycle
        {
            get
            {
                var now = Now;
                var start = CycleStart(now);
                return start + TimeSpan.FromTicks((now - start).Ticks / 2);
            }
        }

        /// <summary>ISO 8601 in UTC to the second, as usage exports and the ledger write it.</summary>
        public static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

        [ModuleInitializer]
        internal static void Install() => HexAccountRegistry.DefaultTime = Shared;

        /// <summary>Pins the shared clock at <paramref name="instant"/> until disposed, then back at mid-cycle. One at a time.</summary>
        public static IDisposable PinAt(DateTimeOffset instant)
        {
            Exclusive.Wait();
            Shared.Pin(instant);
            return new Restore();
        }

        private sealed class Restore : IDisposable
        {
            private int _done;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _done, 1) == 1) return;
                Shared.Pin(MidCycle);
                Exclusive.Release();
            }
        }
    }

    /// <summary>Tests that move the shared clock: they run alone, after the parallel ones.</summary>
    [Xunit.CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class PinnedClockCollection
    {
        public const string Name = "Pinned clock";
    }
}
