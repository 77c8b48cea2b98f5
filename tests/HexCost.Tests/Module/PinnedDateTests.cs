using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// The cmdlets at the instants where dates go wrong: a month's first minute, Feb 29, Dec 31 23:59, and day 31 of a
    /// cycle (with cycles that start on the 1st and on the 31st). The test clock is pinned there, for the emulator and
    /// the module alike; the expected cycles are written out, not computed.
    /// </summary>
    [Collection(PinnedClockCollection.Name)]
    public class PinnedDateTests
    {
        public static TheoryData<string, int, string, string> Cycles() => new()
        {
            // now, -CycleStartDay, the cycle's start and end (exclusive)
            { "2026-06-15T12:00:00Z", 1, "2026-06-01", "2026-07-01" },  // mid-cycle, the suite's default
            { "2027-03-01T00:00:30Z", 1, "2027-03-01", "2027-04-01" },  // a month's first minute
            { "2028-02-29T12:00:00Z", 1, "2028-02-01", "2028-03-01" },  // a leap day
            { "2026-12-31T23:59:00Z", 1, "2026-12-01", "2027-01-01" },  // a year's last minute
            { "2027-01-31T12:00:00Z", 1, "2027-01-01", "2027-02-01" },  // cycle day 31
            { "2027-01-31T12:00:00Z", 31, "2027-01-31", "2027-02-28" }, // a cycle that starts on the 31st, its first day
            { "2027-03-30T12:00:00Z", 31, "2027-02-28", "2027-03-31" }, // day 31 of a cycle that started on Feb 28 (no 31st)
            { "2028-02-29T12:00:00Z", 31, "2028-02-29", "2028-03-31" }, // a cycle that starts on the 31st, in a leap February
        };

        public static TheoryData<string> Instants() => new() { "2027-03-01T00:00:30Z", "2028-02-29T12:00:00Z", "2026-12-31T23:59:00Z", "2027-01-31T12:00:00Z" };

        private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

        private static DateTime Day(string date) => DateTime.SpecifyKind(DateTime.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture), DateTimeKind.Utc);

        /// <summary>Usage this cycle counts against this cycle's grant and pool, usage of the previous cycle does not, and the
        /// grant's exhaustion is dated inside the cycle.</summary>
        [Theory]
        [MemberData(nameof(Cycles))]
        public async Task Credit_balances_account_the_cycle_the_clock_is_in(string now, int cycleStartDay, string start, string end)
        {
            using var pin = TestClock.PinAt(At(now));
            var (cycleStart, cycleEnd) = (Day(start), Day(end));
            await using var world = await HexWorld.StartAsync();
            var editor = world.Workspace.AddUser("Pinned Editor", "pinned.editor@example.com", "EDITOR", TestClock.Now);
            using var host = world.Connected();
            using var scratch = new TempDir();
            var csv = Path.Combine(scratch.Path, "usage.csv");
            var thisCycle = cycleStart + TimeSpan.FromTicks((TestClock.Now.UtcDateTime - cycleStart).Ticks / 2);
            File.WriteAllText(csv, "Date,Email,Credits\n"
                + $"{TestClock.Iso(thisCycle)},{editor.Email},45\n"                    // 40 from the Team grant, 5 from the pool
                + $"{TestClock.Iso(cycleStart.AddHours(-1))},{editor.Email},30\n"     // the previous cycle's last hour
                + $"{TestClock.Iso(cycleEnd.AddHours(1))},{editor.Email},1000\n");    // not yet: the next cycle
            Assert.Equal(3, host.Run("Import-HexCreditUsage -Path $args[0]", csv).ThrowIfErrors().Output.Single().Prop<int>("Imported"));

            var balance = host.Run("Get-HexCreditBalance -Plan Team -UsageOnly -CycleStartDay $args[0]", cycleStartDay).ThrowIfErrors().Output
                .Single(b => b.Prop<string>("Email") == editor.Email);
            Assert.Equal(cycleStart, balance.Prop<DateTime>("CycleStart"));
            Assert.Equal(cycleEnd, balance.Prop<DateTime>("CycleEnd"));
            Assert.Equal(45m, balance.Prop<decimal>("CreditsUsed"));
            Assert.Equal(0m, balance.Prop<decimal>("GrantRemaining"));
            Assert.Equal(5m, balance.Prop<decimal>("DrawnFromPool"));
            var exhausted = balance.Prop<DateTime?>("ProjectedExhaustionDate");
            Assert.True(exhausted >= cycleStart && exhausted <= TestClock.Now.UtcDateTime, $"the grant ran out at {exhausted:o}, outside {cycleStart:o} .. now");
            Assert.True(balance.Prop<decimal>("ProjectedCycleUse") >= 45m);

            // The previous cycle, by -AsOf: the 30 credits are there, and nothing of this cycle.
            var before = host.Run("Get-HexCreditBalance -Plan Team -UsageOnly -CycleStartDay $args[0] -AsOf $args[1]", cycleStartDay, cycleStart.AddTicks(-1)).ThrowIfErrors().Output
                .Single(b => b.Prop<string>("Email") == editor.Email);
            Assert.Equal(30m, before.Prop<decimal>("CreditsUsed"));
            Assert.Equal(cycleStart, before.Prop<DateTime>("CycleEnd"));
        }

        /// <summary>Runs triggered now are in the report of the last day, whatever the day.</summary>
        [Theory]
        [MemberData(nameof(Instants))]
        public async Task The_run_report_counts_what_ran_in_its_window(string now)
        {
            using var pin = TestClock.PinAt(At(now));
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            using var host = world.Connected();
            host.Run("Invoke-HexRun -ProjectId $args[0] -Wait; Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait; Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait", project.Id).ThrowIfErrors();
            var report = host.Run("Get-HexRunReport -Days 1").ThrowIfErrors().Output.Single(r => r.Prop<string>("ProjectId") == project.Id);
            Assert.Equal(2, report.Prop<int>("Triggered"));
            Assert.Equal(1, report.Prop<int>("CacheHits"));
            Assert.Equal(2, report.Prop<int>("Completed"));
            var to = report.Prop<DateTime>("To");
            Assert.True((TestClock.Now.UtcDateTime - to).Duration() < TimeSpan.FromMinutes(1), $"the report ends at {to:o}, not now");
            Assert.Equal(TimeSpan.FromDays(1), to - report.Prop<DateTime>("From"));
        }

        /// <summary>Every output type still has every column filled in somewhere, at the edges of a cycle.</summary>
        [Theory]
        [MemberData(nameof(Instants))]
        public async Task Every_output_type_is_flat_typed_and_filled_in(string now)
        {
            using var pin = TestClock.PinAt(At(now));
            await OutputShapeTests.AssertEveryOutputTypeIsFlatAndTypedAsync();
        }
    }
}
