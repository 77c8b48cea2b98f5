using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>The API token never appears in output, any stream, an error, a state file or the report.</summary>
    public class SecretsTests
    {
        [Fact]
        public async Task No_cmdlet_leaks_the_token_anywhere()
        {
            await using var world = await HexWorld.StartAsync(o => o.LostTriggerResponseRate = 0.5);
            var project = world.NewProject("Secret keeper");
            var token = world.Emulator.Token;
            var csv = Path.Combine(world.State.Path, "usage.csv");
            File.WriteAllText(csv, $"Date,Email,Credits\n{TestClock.Iso(TestClock.EarlierThisCycle)},a@example.com,3\nbad,a@example.com,x\n");
            var report = Path.Combine(world.State.Path, "report.html");
            using var host = new PsHost();
            var seen = new StringBuilder();
            void Capture(PsResult r)
            {
                foreach (var o in r.Output) seen.AppendLine(o.ToString()).AppendLine(string.Join("|", o.Properties.Select(p => p.Name + "=" + p.Value)));
                foreach (var e in r.AllErrors) seen.AppendLine(e.ToString()).AppendLine(e.Exception.ToString()).AppendLine(e.ErrorDetails?.Message).AppendLine(Convert.ToString(e.TargetObject));
                foreach (var s in r.Verbose.Concat(r.Debug).Concat(r.Warnings)) seen.AppendLine(s);
                foreach (var p in r.Progress) seen.AppendLine(p.Activity + " " + p.StatusDescription + " " + p.CurrentOperation);
            }

            var commonArgs = "-Verbose -Debug";
            Capture(host.Run("$DebugPreference = 'Continue'; Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru " + commonArgs,
                HexWorld.Secure(token), world.Emulator.BaseUri, world.State.Path, HexWorld.FastLimits));
            var scripts = new[]
            {
                "Get-HexProject " + commonArgs,
                "Get-HexProject -ProjectId $args[0] " + commonArgs,
                "Invoke-HexRun -ProjectId $args[0] -Wait -SourceVersion s1 " + commonArgs,
                "Invoke-HexRun -ProjectId $args[0] -Wait -SourceVersion s1 " + commonArgs,
                "Invoke-HexRun -ProjectId $args[0] -IdempotencyKey secret-k " + commonArgs,
                "Invoke-HexRun -ProjectId $args[0] -InputParameters @{ nope = 1 } " + commonArgs,
                "Get-HexRun -ProjectId $args[0] " + commonArgs,
                "Get-HexRun -ProjectId $args[0] | Stop-HexRun -Confirm:$false " + commonArgs,
                "Get-HexScheduleAudit " + commonArgs,
                "Get-HexCreditBalance -Plan Team " + commonArgs,
                "Get-HexCreditBalance -Plan Team -Workspace " + commonArgs,
                "Import-HexCreditUsage -Path $args[1] " + commonArgs,
                "Set-HexSpendLimit -MonthlyAddOnLimit 100 -WeeklyRunBudget 100 -PassThru " + commonArgs,
                "Get-HexSpendLimit " + commonArgs,
                "Get-HexSpendLimit -History " + commonArgs,
                "Get-HexRunReport " + commonArgs,
                "if (Get-Command Export-HexCostReport -ErrorAction SilentlyContinue) { Export-HexCostReport -Path $args[2] -Plan Team " + commonArgs + " }",
                "Disconnect-Hex " + commonArgs,
                "Get-HexProject " + commonArgs,
            };
            foreach (var script in scripts) Capture(host.Run("$DebugPreference = 'Continue'; " + script, project.Id, csv, report));

            // A rejected token, and an insecure URI, in their error messages.
            Capture(host.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -Verbose", HexWorld.Secure(token + "x"), world.Emulator.BaseUri, world.State.Path));
            Capture(host.Run("Connect-Hex -Token $args[0] -BaseUri 'http://hex.example.com/api/v1' -Verbose", HexWorld.Secure(token)));

            Assert.True(seen.Length > 1000);
            Assert.DoesNotContain(token, seen.ToString());
            Assert.DoesNotContain(token.Substring(5, 40), seen.ToString());
            foreach (var file in Directory.EnumerateFiles(world.State.Path, "*", SearchOption.AllDirectories))
            {
                Assert.DoesNotContain(token.Substring(5, 40), File.ReadAllText(file));
                if (!OperatingSystem.IsWindows() && file.Contains(Path.Combine("workspaces", "")) && !file.EndsWith(".lock"))
                    Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(file) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
            }
        }
    }
}
