using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// Export-Csv writes a string property as it is, so the strings HexCost builds (evidence, cadences, what to set in
    /// Hex) must read the same on every machine: numbers and dates in them are written culture-invariantly.
    /// Numbers and dates stay typed properties, which Export-Csv writes the way PowerShell always does.
    /// </summary>
    public class CultureTests
    {
        private const string Collect = """
            [System.Globalization.CultureInfo]::CurrentCulture = [System.Globalization.CultureInfo]::GetCultureInfo($args[0])
            Get-HexProject
            Get-HexRun -ProjectId $args[1]
            Get-HexScheduleAudit -DataRefreshInterval 1.5d
            Get-HexCreditBalance -Plan Team
            Get-HexCreditBalance -Plan Team -Workspace
            Get-HexSpendLimit
            Get-HexSpendLimit -History
            Get-HexRunReport
            """;

        [Fact]
        public async Task Every_string_property_reads_the_same_in_any_culture()
        {
            await using var world = await HexWorld.StartAsync();
            using var shell = world.Connected();
            using var usage = new TempDir();
            var project = shell.Run("Get-HexProject | Where-Object { $_.LastPublishedAt -and -not $_.Title.StartsWith('Failing') } | ForEach-Object ProjectId")
                .ThrowIfErrors().Output.First().ToString();
            shell.Run("Invoke-HexRun -ProjectId $args[0] -InputParameters @{ region = 'EU' } -Wait", project).ThrowIfErrors();
            var csv = Path.Combine(usage.Path, "usage.csv");
            File.WriteAllText(csv, $"Date,Email,Credits\n{TestClock.Iso(TestClock.EarlierThisCycle)},someone@example.com,3.75\n");
            shell.Run("Import-HexCreditUsage -Path $args[0]", csv).ThrowIfErrors();
            shell.Run("Set-HexSpendLimit -MonthlyAddOnLimit 1234.5 -AlertThreshold 75, 90 -WeeklyRunBudget 1500 -Confirm:$false").ThrowIfErrors();

            var invariant = Strings(shell.Run(Collect, "", project).ThrowIfErrors().Output);
            Assert.True(invariant.Count > 50, $"only {invariant.Count} strings to compare");
            Assert.Contains(invariant, s => s.Value.Contains("1234.5") || s.Value.Contains("1,234.5"));
            foreach (var culture in new[] { "de-DE", "fr-FR", "sv-SE", "ar-SA", "th-TH" })
            {
                var local = Strings(shell.Run(Collect, culture, project).ThrowIfErrors().Output);
                Assert.Equal(invariant.Count, local.Count);
                var differences = invariant.Zip(local, (a, b) => (a, b)).Where(p => p.a.Value != p.b.Value)
                    .Select(p => $"{p.a.Where}: '{p.a.Value}' in the invariant culture, '{p.b.Value}' in {culture}").ToList();
                Assert.True(differences.Count == 0, string.Join("\n", differences));
            }
        }

        [Fact]
        public async Task The_cost_report_reads_the_same_in_any_culture()
        {
            await using var world = await HexWorld.StartAsync();
            using var shell = world.Connected();
            using var output = new TempDir();
            shell.Run("Get-HexProject | Where-Object { $_.LastPublishedAt -and -not $_.Title.StartsWith('Failing') } | Invoke-HexRun -Wait").ThrowIfErrors();
            shell.Run("Set-HexSpendLimit -MonthlyAddOnLimit 1234.5 -WeeklyRunBudget 1500 -Confirm:$false").ThrowIfErrors();

            string Report(string culture)
            {
                var path = Path.Combine(output.Path, (culture.Length == 0 ? "invariant" : culture) + ".html");
                shell.Run("""
                    [System.Globalization.CultureInfo]::CurrentCulture = [System.Globalization.CultureInfo]::GetCultureInfo($args[0])
                    Export-HexCostReport -Path $args[1] -Confirm:$false
                    """, culture, path).ThrowIfErrors();
                // The generation time differs between the exports; everything else must not.
                return System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(path), @"\d{2}:\d{2}(:\d{2}(\.\d+)?)?", "hh:mm");
            }

            var invariant = Report("");
            foreach (var culture in new[] { "de-DE", "ar-SA", "th-TH" })
            {
                var local = Report(culture);
                var at = Enumerable.Range(0, Math.Min(invariant.Length, local.Length)).FirstOrDefault(i => invariant[i] != local[i]);
                Assert.True(invariant == local, $"{culture}: first difference at {at}: '{Excerpt(invariant, at)}' vs '{Excerpt(local, at)}'");
            }
        }

        private static string Excerpt(string text, int at) => text.Substring(Math.Max(0, at - 60), Math.Min(160, text.Length - Math.Max(0, at - 60)));

        /// <summary>Every string-valued property of the objects, in order, with the type and property it came from.</summary>
        private static List<(string Where, string Value)> Strings(IEnumerable<PSObject> objects) =>
            objects.SelectMany((o, index) => o.Properties
                    .Where(p => p.Name != "DetectedAt" && (p.Value is string || p.Value is PSObject { BaseObject: string }))
                    .Select(p => ($"{o.TypeNames[0]} #{index} {p.Name}", p.Value.ToString()!)))
                .ToList();
    }
}
