using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Credits
{
    /// <summary>Balances from imported usage only (-UsageOnly), with exact figures.</summary>
    [Collection(PinnedClockCollection.Name)]
    public class CreditBalanceImportTests
    {
        [Fact]
        public async Task Imported_usage_is_deduplicated_and_accounted_by_the_rules()
        {
            // The usage is of November 2026 and -AsOf is a past time: the clock stands after it.
            using var pin = TestClock.PinAt(new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.Zero));
            await using var world = await HexWorld.StartAsync();
            var editor = world.Workspace.AddUser("Ed Itor", "ed@example.com", "EDITOR", TestClock.Now);
            var explorer = world.Workspace.AddUser("Ex Plorer", "ex@example.com", "EXPLORER", TestClock.Now);
            var guest = world.Workspace.AddUser("Gu Est", "guest@example.com", "GUEST", TestClock.Now);
            var csv = Path.Combine(world.State.Path, "usage.csv");
            File.WriteAllText(csv, string.Join("\n",
                "Date,User email,Credits used,Agent",
                "2026-11-02T10:00:00Z,ed@example.com,25,Threads",
                "2026-11-03T10:00:00Z,ed@example.com,30,Notebook",      // 55: 40 from the grant, 15 from the pool
                "2026-11-04T10:00:00Z,ex@example.com,4,Threads",
                "2026-11-05T10:00:00Z,guest@example.com,2.5,\"Slack, DM\"",
                "2026-10-20T10:00:00Z,ed@example.com,99,Threads",       // last cycle: buys a pack, 41 of it rolls over
                "not a date,ed@example.com,1,Threads",
                "2026-11-06T10:00:00Z,ed@example.com,-3,Threads"));
            using var host = world.Connected();

            var first = host.Run("Import-HexCreditUsage -Path $args[0]", csv);
            var import = first.Output.Single();
            Assert.Equal((7, 5, 0, 2), (import.Prop<int>("Rows"), import.Prop<int>("Imported"), import.Prop<int>("Duplicates"), import.Prop<int>("Rejected")));
            Assert.Equal(new[] { "HexInvalidUsageRow", "HexInvalidUsageRow" }, first.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
            Assert.Contains("line 7", first.Errors[0].Exception.Message);
            var again = host.Run("Import-HexCreditUsage -Path $args[0] -ErrorAction SilentlyContinue", csv).Output.Single();
            Assert.Equal((0, 5), (again.Prop<int>("Imported"), again.Prop<int>("Duplicates")));

            var rows = host.Run("Get-HexCreditBalance -Plan Team -UsageOnly -AsOf '2026-11-16T00:00:00Z'").ThrowIfErrors().Output;
            var ed = rows.Single(r => r.Prop<string>("Email") == editor.Email);
            Assert.Equal(("Editor", 40m, 55m, 0m, 15m), (ed.Prop<string>("SeatType"), ed.Prop<decimal>("MonthlyGrant"), ed.Prop<decimal>("CreditsUsed"), ed.Prop<decimal>("GrantRemaining"), ed.Prop<decimal>("DrawnFromPool")));
            Assert.Equal(new DateTime(2026, 11, 3, 10, 0, 0), ed.Prop<DateTime?>("ProjectedExhaustionDate"));
            Assert.Equal(110m, ed.Prop<decimal>("ProjectedCycleUse")); // 55 in 15 days of 30
            Assert.Equal("Import", ed.Prop<string>("UsageSource"));
            Assert.Equal((new DateTime(2026, 11, 1), new DateTime(2026, 12, 1)), (ed.Prop<DateTime>("CycleStart"), ed.Prop<DateTime>("CycleEnd")));
            var ex = rows.Single(r => r.Prop<string>("Email") == explorer.Email);
            Assert.Equal(("Explorer", 10m, 6m), (ex.Prop<string>("SeatType"), ex.Prop<decimal>("MonthlyGrant"), ex.Prop<decimal>("GrantRemaining")));
            Assert.Null(ex.Prop<DateTime?>("ProjectedExhaustionDate")); // 8 projected for the cycle: never runs out
            var gu = rows.Single(r => r.Prop<string>("Email") == guest.Email);
            Assert.Equal(("None", 0m, 2.5m), (gu.Prop<string>("SeatType"), gu.Prop<decimal>("MonthlyGrant"), gu.Prop<decimal>("DrawnFromPool")));
            Assert.All(rows, Shape.AssertFlat);
            Assert.Contains("HexCost.CreditBalance", rows[0].TypeNames);

            var low = host.Run("Get-HexCreditBalance -Plan Team -UsageOnly -AsOf '2026-11-16T00:00:00Z' | Where-Object GrantRemaining -lt 5").ThrowIfErrors().Output;
            Assert.Contains(low, r => r.Prop<string>("Email") == editor.Email);

            host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 10 -AlertThreshold 80,100").ThrowIfErrors();
            var result = host.Run("Get-HexCreditBalance -Plan Team -UsageOnly -Workspace -AsOf '2026-11-16T00:00:00Z'").ThrowIfErrors();
            var summary = result.Output.Single();
            Assert.Contains("HexCost.CreditSummary", summary.TypeNames);
            Assert.Equal(41m, summary.Prop<decimal>("RolledOverCredits"));       // October: 99 - 40 grant = 59 drawn from a 100-credit pack
            Assert.Equal(17.5m, summary.Prop<decimal>("PoolDrawn"));             // ed 15 + guest 2.5, all from the rolled-over credits
            Assert.Equal((0m, 0m), (summary.Prop<decimal>("AddOnCreditsBought"), summary.Prop<decimal>("AddOnSpend")));
            Assert.Equal(0m, summary.Prop<decimal?>("PercentOfLimit"));
            Assert.Equal("None", summary.Prop<string>("AlertLevel"));
            Assert.Equal(10m, summary.Prop<decimal>("ProjectedAddOnSpend"));    // the pace doubles use: one more pack
            Assert.Contains("an estimate", summary.Prop<string>("Evidence"));
            Shape.AssertFlat(summary);
        }
    }
}
