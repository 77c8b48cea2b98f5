using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Credits
{
    /// <summary>Balances from Hex's ListThreads creditsUsed (Manager role or higher), with imported usage beside it.</summary>
    public class CreditBalanceThreadTests
    {
        // A cycle that started five days ago, so threads of the last hours are in it whatever today's date.
        private static int CycleStartDay => TestClock.Now.AddDays(-5).Day;

        [Fact]
        public async Task Thread_credits_and_imported_usage_add_up_and_say_where_they_came_from()
        {
            await using var world = await HexWorld.StartAsync();
            var ed = world.Workspace.AddUser("Ed", "ed.threads@example.com", "EDITOR", TestClock.Now);
            var now = TestClock.Now;
            world.Workspace.AddThread(ed.Id, 30, now.AddHours(-2));
            world.Workspace.AddThread(ed.Id, 20, now.AddHours(-1));
            world.Workspace.AddThread(ed.Id, null, now.AddMinutes(-30));
            var csv = Path.Combine(world.State.Path, "usage.csv");
            File.WriteAllText(csv, "Date,Email,Credits\n" + now.AddMinutes(-10).ToString("o") + ",ed.threads@example.com,5\n");
            using var host = world.Connected();
            host.Run("Import-HexCreditUsage $args[0]", csv).ThrowIfErrors();

            var row = host.Run("Get-HexCreditBalance -Plan Enterprise -CycleStartDay $args[0]", CycleStartDay).ThrowIfErrors().Output
                .Single(r => r.Prop<string>("UserId") == ed.Id);
            Assert.Equal((60m, 55m, 5m, 0m, "Threads+Import"),
                (row.Prop<decimal>("MonthlyGrant"), row.Prop<decimal>("CreditsUsed"), row.Prop<decimal>("GrantRemaining"), row.Prop<decimal>("DrawnFromPool"), row.Prop<string>("UsageSource")));
            Assert.True(world.Stats.RequestsFor("ListThreads") >= 1);

            var asExplorer = host.Run("Get-HexCreditBalance -Plan Team -CycleStartDay $args[0] -SeatOverride @{ 'ed.threads@example.com' = 'Explorer' }", CycleStartDay)
                .ThrowIfErrors().Output.Single(r => r.Prop<string>("UserId") == ed.Id);
            Assert.Equal(("Explorer", 10m, 45m), (asExplorer.Prop<string>("SeatType"), asExplorer.Prop<decimal>("MonthlyGrant"), asExplorer.Prop<decimal>("DrawnFromPool")));
        }

        [Fact]
        public async Task Without_the_Manager_role_the_error_names_it_and_UsageOnly_still_works()
        {
            await using var world = await HexWorld.StartAsync();
            world.Workspace.SetUser(world.Workspace.TokenUser with { Role = "EDITOR" });
            using var host = world.Connected();
            var result = host.Run("Get-HexCreditBalance -Plan Team");
            var error = result.AllErrors.Single();
            Assert.StartsWith("HexForbidden,", error.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.PermissionDenied, error.CategoryInfo.Category);
            Assert.Contains("Manager role", error.Exception.Message);
            Assert.Contains("-UsageOnly", error.Exception.Message);
            Assert.NotEmpty(host.Run("Get-HexCreditBalance -Plan Team -UsageOnly").ThrowIfErrors().Output);
        }

        [Fact]
        public async Task Crossing_an_alert_threshold_sets_AlertLevel_and_warns()
        {
            await using var world = await HexWorld.StartAsync();
            var ed = world.Workspace.AddUser("Ed", "ed.alert@example.com", "EDITOR", TestClock.Now);
            world.Workspace.AddThread(ed.Id, 200, TestClock.Now.AddHours(-1));
            using var host = world.Connected();
            host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 10 -TopUpPackCredits 100 -TopUpPackPrice 10 -AlertThreshold 80,90,100").ThrowIfErrors();
            var result = host.Run("Get-HexCreditBalance -Plan Team -Workspace -CycleStartDay $args[0]", CycleStartDay).ThrowIfErrors();
            var summary = result.Output.Single();
            Assert.Equal(10m, summary.Prop<decimal>("AddOnSpend"));
            Assert.Equal(100m, summary.Prop<decimal?>("PercentOfLimit"));
            Assert.Equal("100%", summary.Prop<string>("AlertLevel"));
            Assert.True(summary.Prop<decimal>("UnfundedCredits") >= 60m); // the limit stopped the second pack
            Assert.Single(result.Warnings, w => w.Contains("100%"));
        }
    }
}
