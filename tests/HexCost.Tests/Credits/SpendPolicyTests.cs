using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Credits
{
    public class SpendPolicyTests
    {
        private static string StateDir(HexWorld world) => Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);

        /// <summary>The credit snapshot Get-HexCreditBalance -Workspace leaves, taken earlier in the current cycle.</summary>
        private static string Snapshot(decimal addOnSpend, decimal projectedAddOnSpend) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{{\"at\":\"{TestClock.Iso(TestClock.EarlierThisCycle)}\",\"cycleStart\":\"{TestClock.Iso(TestClock.CycleStart(TestClock.Now))}\",\"addOnSpend\":{addOnSpend},\"projectedAddOnSpend\":{projectedAddOnSpend}}}");

        [Fact]
        public async Task Set_persists_describes_and_records_every_change()
        {
            await using var world = await HexWorld.StartAsync();
            using (var host = world.Connected())
            {
                var policy = host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 500 -AlertThreshold 90,80,100 -WeeklyRunBudget 500 -MaxRunsPerProjectPerWeek 20 -PassThru")
                    .ThrowIfErrors().Output.Single();
                Assert.Contains("HexCost.SpendPolicy", policy.TypeNames);
                Assert.Equal(500m, policy.Prop<decimal?>("MonthlyAddOnLimit"));
                Assert.Equal("80,90,100", policy.Prop<string>("AlertThreshold"));
                Assert.Contains("WeeklyRunBudget 500", policy.Prop<string>("HexEnforced"));
                Assert.Contains("monthly limit = 500", policy.Prop<string>("SetInHex"));
                Assert.NotNull(policy.Prop<string>("ChangedBy"));
                Shape.AssertFlat(policy);
                host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 400 -Force").ThrowIfErrors();
            }
            using (var fresh = world.Connected())
            {
                Assert.Equal(400m, fresh.Run("Get-HexSpendLimit").ThrowIfErrors().Output.Single().Prop<decimal?>("MonthlyAddOnLimit"));
                var history = fresh.Run("Get-HexSpendLimit -History").ThrowIfErrors().Output;
                Assert.Equal(4, history.Count); // the thresholds given equal the default: no change recorded
                var last = history.Last();
                Assert.Equal(("MonthlyAddOnLimit", "500", "400"), (last.Prop<string>("Field"), last.Prop<string>("OldValue"), last.Prop<string>("NewValue")));
            }
        }

        [Fact]
        public async Task WhatIf_changes_nothing_on_disk()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 500 -WhatIf").ThrowIfErrors();
            Assert.False(File.Exists(Path.Combine(StateDir(world), "spend-policy.json")));
            Assert.Null(host.Run("Get-HexSpendLimit").ThrowIfErrors().Output.Single().Prop<decimal?>("MonthlyAddOnLimit"));
            Assert.Empty(host.Run("Get-HexSpendLimit -History").ThrowIfErrors().Output);
        }

        [Fact]
        public async Task A_corrupted_policy_file_is_a_clear_error_never_a_silent_default()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            host.Run("Set-HexSpendLimit -WeeklyRunBudget 10").ThrowIfErrors();
            File.WriteAllText(Path.Combine(StateDir(world), "spend-policy.json"), "{ \"weeklyRunBudget\": 10, ");
            var result = host.Run("Get-HexSpendLimit");
            Assert.StartsWith("HexSpendPolicyCorrupt,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("spend-policy.json", result.Terminating!.Exception.Message);
            var run = host.Run("Invoke-HexRun -ProjectId $args[0]", world.Project().Id);
            Assert.StartsWith("HexStateError,", run.AllErrors.Single().FullyQualifiedErrorId);
            Assert.Equal(0, world.Stats.RunsCreated);

            // Valid JSON that Invoke-HexRun's budget check could not use is damage too.
            File.WriteAllText(Path.Combine(StateDir(world), "spend-policy.json"), "{ \"weeklyRunBudget\": 10, \"alertThreshold\": \"80,9O\" }");
            result = host.Run("Get-HexSpendLimit");
            Assert.StartsWith("HexSpendPolicyCorrupt,", result.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("alertThreshold '80,9O'", result.Terminating!.Exception.Message);
            run = host.Run("Invoke-HexRun -ProjectId $args[0]", world.Project().Id);
            Assert.StartsWith("HexStateError,", run.AllErrors.Single().FullyQualifiedErrorId);
            Assert.Equal(0, world.Stats.RunsCreated);
        }

        [Fact]
        public async Task Run_budgets_refuse_with_the_numbers_and_Force_overrides_on_record()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Budgeted");
            var other = world.NewProject("Other");
            using var host = world.Connected();
            host.Run("Set-HexSpendLimit -WeeklyRunBudget 5 -MaxRunsPerProjectPerWeek 3 -AlertThreshold 80").ThrowIfErrors();
            var three = host.Run("$p = $args[0]; 1..3 | ForEach-Object { Invoke-HexRun -ProjectId $p }", project.Id).ThrowIfErrors();
            Assert.Equal(3, three.Output.Count);

            var refused = host.Run("Invoke-HexRun -ProjectId $args[0]", project.Id);
            var error = Assert.Single(refused.Errors);
            Assert.StartsWith("HexRunBudgetExceeded,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.QuotaExceeded, error.CategoryInfo.Category);
            Assert.Contains("3 runs in the last 7 days", error.Exception.Message);
            Assert.Contains("cap is 3", error.Exception.Message);
            Assert.Equal(3, world.Stats.RunsCreated);

            var fourth = host.Run("Invoke-HexRun -ProjectId $args[0]", other.Id).ThrowIfErrors(); // 4 of 5: crosses 80 %
            Assert.Single(fourth.Warnings, w => w.Contains("80 %"));
            var forced = host.Run("Invoke-HexRun -ProjectId $args[0] -IgnoreRunBudget", project.Id);
            Assert.True(forced.AllErrors.Count() == 0, forced.ErrorIds + " | " + string.Join(" | ", forced.Warnings) + " | runs " + world.Stats.RunsCreated);
            Assert.Single(forced.Output);
            Assert.DoesNotContain(forced.Warnings, w => w.Contains("80 %"));
            Assert.Equal(5, world.Stats.RunsCreated);
            Assert.StartsWith("HexRunBudgetExceeded,", host.Run("Invoke-HexRun -ProjectId $args[0]", other.Id).Errors.Single().FullyQualifiedErrorId);

            var report = host.Run("Get-HexRunReport -Days 7").ThrowIfErrors().Output;
            var budgeted = report.Single(r => r.Prop<string>("ProjectId") == project.Id);
            Assert.Equal((4, 1), (budgeted.Prop<int>("Triggered"), budgeted.Prop<int>("Forced")));
            Assert.Equal(133.3, budgeted.Prop<double?>("PercentOfBudget"));
            Shape.AssertFlat(budgeted);

            host.Run("Set-HexSpendLimit -WeeklyRunBudget $null -MaxRunsPerProjectPerWeek $null").ThrowIfErrors(); // budgets can be removed
            host.Run("Invoke-HexRun -ProjectId $args[0]", other.Id).ThrowIfErrors();
            Assert.StartsWith("HexInvalidSpendPolicy,", host.Run("Set-HexSpendLimit -WeeklyRunBudget -1").Terminating?.FullyQualifiedErrorId);
        }

        [Fact]
        public async Task FromHistory_sets_ninety_percent_of_the_projection_and_needs_one()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            Assert.StartsWith("HexNoCreditHistory,", host.Run("Set-HexSpendLimit -FromHistory").Terminating?.FullyQualifiedErrorId);
            File.WriteAllText(Path.Combine(StateDir(world), "credit-snapshot.json"),
                Snapshot(addOnSpend: 40, projectedAddOnSpend: 200));
            var policy = host.Run("Set-HexSpendLimit -FromHistory -PassThru").ThrowIfErrors().Output.Single();
            Assert.Equal(180m, policy.Prop<decimal?>("MonthlyAddOnLimit"));
        }
    

        [Fact]
        public async Task Lowering_the_limit_below_current_spend_needs_confirmation_or_Force()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 100").ThrowIfErrors();
            File.WriteAllText(Path.Combine(StateDir(world), "credit-snapshot.json"),
                Snapshot(addOnSpend: 40, projectedAddOnSpend: 60));
            var refused = host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 20");
            Assert.StartsWith("HexConfirmationRequired,", refused.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("-Force", refused.Terminating!.Exception.Message);
            Assert.Equal(100m, host.Run("Get-HexSpendLimit").ThrowIfErrors().Output.Single().Prop<decimal?>("MonthlyAddOnLimit"));
            host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 20 -Force").ThrowIfErrors();
            Assert.Equal(20m, host.Run("Get-HexSpendLimit").ThrowIfErrors().Output.Single().Prop<decimal?>("MonthlyAddOnLimit"));
        }
    }
}
