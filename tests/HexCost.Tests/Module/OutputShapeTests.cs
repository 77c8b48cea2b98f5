using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// The xunit side of the Pester round trip (tests/Pester/OutputTypes.Tests.ps1): this engine has no Export-Csv, so
    /// every type HexCost writes is produced by its cmdlet against the emulator and checked for what Export-Csv needs:
    /// flat, scalar properties, each with a value somewhere, under the type name its view is for.
    /// </summary>
    public class OutputShapeTests
    {
        [Fact]
        public Task Every_output_type_from_its_cmdlet_is_flat_and_typed() => AssertEveryOutputTypeIsFlatAndTypedAsync();

        /// <summary>The check itself, at whatever instant the test clock reads (PinnedDateTests runs it at the edges of cycles).</summary>
        internal static async Task AssertEveryOutputTypeIsFlatAndTypedAsync()
        {
            await using var world = await HexWorld.StartAsync();
            // An editor past the Team grant (40) this cycle, however little of the cycle has passed, so every balance column
            // (the pool draw, when the grant ran out) has something to show.
            var editor = world.Workspace.AddUser("Shape Editor", "shape.editor@example.com", "EDITOR", TestClock.Now);
            using var shell = new PsHost();
            using var scratch = new TempDir();
            var usage = Path.Combine(scratch.Path, "usage.csv");
            var earlier = TestClock.Iso(TestClock.EarlierThisCycle);
            File.WriteAllText(usage, $"Date,Email,Credits\n{earlier},someone@example.com,3.5\n{earlier},{editor.Email},45\n");

            var samples = new Dictionary<string, List<PSObject>>
            {
                ["HexCost.Session"] = Run(shell, "Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru",
                    HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path, HexWorld.FastLimits),
                ["HexCost.Project"] = Run(shell, "Get-HexProject"),
            };
            var project = samples["HexCost.Project"].First(p => p.Prop<object?>("LastPublishedAt") != null && !p.Prop<string>("Title").StartsWith("Failing"));
            samples["HexCost.SpendPolicy"] = Run(shell,
                "Set-HexSpendLimit -MonthlyAddOnLimit 250 -AlertThreshold 50, 100 -WeeklyRunBudget 100 -MaxRunsPerProjectPerWeek 10 -PassThru -Confirm:$false");
            samples["HexCost.SpendPolicyChange"] = Run(shell, "Get-HexSpendLimit -History");
            samples["HexCost.Run"] = Run(shell, """
                Invoke-HexRun -ProjectId $args[0] -InputParameters @{ region = 'EU' } -SourceVersion 'v1' -Wait
                Invoke-HexRun -ProjectId $args[0] -IdempotencyKey 'shape' -Wait
                Get-HexRun -ProjectId $args[0] -First 5
                """, project.Prop<string>("ProjectId"));
            samples["HexCost.ScheduleFinding"] = Run(shell, "Get-HexScheduleAudit");
            samples["HexCost.CreditUsageImport"] = Run(shell, "Import-HexCreditUsage -Path $args[0]", usage);
            samples["HexCost.CreditBalance"] = Run(shell, "Get-HexCreditBalance -Plan Team");
            samples["HexCost.CreditSummary"] = Run(shell, "Get-HexCreditBalance -Plan Team -Workspace");
            samples["HexCost.RunReport"] = Run(shell, "Get-HexRunReport");
            samples["HexCost.CostReport"] = Run(shell, "Export-HexCostReport -Path $args[0] -PassThru -Confirm:$false", Path.Combine(scratch.Path, "report.html"));
            samples["HexCost.StateCopy"] = Run(shell, "Copy-HexState -Destination $args[0] -PassThru -Confirm:$false", Path.Combine(scratch.Path, "copy"));

            var viewed = Regex.Matches(File.ReadAllText(Path.Combine(Repo.Root, "module", "HexCost.Format.ps1xml")), "<TypeName>(?<name>[^<]+)</TypeName>")
                .Select(m => m.Groups["name"].Value).Distinct().OrderBy(n => n, StringComparer.Ordinal);
            Assert.Equal(viewed, samples.Keys.OrderBy(n => n, StringComparer.Ordinal));
            // The Pester suite compares Import-Csv's columns with these lists: they must be the properties, in order.
            var common = PesterSuiteTests.Parse("Common.ps1");
            foreach (var (list, typeName) in new[] { ("HexRunProperties", "HexCost.Run"), ("HexProjectProperties", "HexCost.Project"), ("HexScheduleFindingProperties", "HexCost.ScheduleFinding") })
                Assert.Equal(samples[typeName][0].Properties.Select(p => p.Name), PesterSuiteTests.StringList(common, list));

            foreach (var (typeName, objects) in samples)
            {
                Assert.True(objects.Count > 0, $"no {typeName} to check");
                foreach (var item in objects)
                {
                    Assert.Equal(typeName, item.TypeNames[0]);
                    Shape.AssertFlat(item);
                }
                // A column that is empty in every row says the property is never filled in (or filled in wrongly).
                var names = objects[0].Properties.Select(p => p.Name).ToList();
                var neverSet = names.Where(name => objects.All(o => o.Properties[name].Value is null or "")).ToList();
                Assert.True(neverSet.All(AllowedEmpty.Contains), $"{typeName}: always empty: {string.Join(", ", neverSet.Where(n => !AllowedEmpty.Contains(n)))}");
            }
        }

        /// <summary>Properties the emulator's demo workspace leaves empty for good reason: a workspace token does not expire,
        /// the listed projects are neither archived nor trashed, and only seat rules put a price on a finding.</summary>
        private static readonly HashSet<string> AllowedEmpty = new HashSet<string>(StringComparer.Ordinal)
        {
            "TokenExpires", "ArchivedAt", "TrashedAt", "EstimatedMonthlySavings",
        };

        private static List<PSObject> Run(PsHost shell, string script, params object?[] args) => shell.Run(script, args).ThrowIfErrors().Output;
    }
}
