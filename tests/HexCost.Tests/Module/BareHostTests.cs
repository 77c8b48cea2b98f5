using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// The test runspace lives in a process that already has every HexCost dependency on its load path, which hides
    /// loading problems. These tests import the module in separate host processes that, like pwsh, have only the
    /// engine: one bare (pwsh 7.4: dependencies must resolve from the module folder), one carrying the 10.0 versions
    /// pwsh 7.6 has already loaded (the module's references must bind to them).
    /// </summary>
    public class BareHostTests
    {
        [Theory]
        [InlineData("HexCost.ModuleHost")]
        [InlineData("HexCost.ModuleHost.Pwsh76")]
        [InlineData("HexCost.ModuleHost.Conflict")]
        public Task The_module_loads_and_runs_in_a_host_with_only_the_engine(string host) => RunHostAsync(host, Repo.Manifest);

        /// <summary>The packaged folder (module/HexCost, what Install-Module users get), not the build output.</summary>
        [Fact]
        public async Task The_packaged_module_loads_and_runs_in_a_host_with_only_the_engine()
        {
            var packaged = Path.Combine(Repo.Root, "module", "HexCost", "HexCost.psd1");
            using (var shell = new PsHost(import: false))
            {
                var manifest = shell.Run("Test-ModuleManifest -Path $args[0] -ErrorAction Stop", packaged).ThrowIfErrors().Output.Single();
                Assert.Equal("HexCost.psm1", manifest.Prop<string>("RootModule"));
                shell.Run("Import-Module $args[0] -ErrorAction Stop", packaged).ThrowIfErrors();
                Assert.Equal(13, shell.Run("Get-Command -Module HexCost").ThrowIfErrors().Output.Count);
                Assert.Contains(Path.Combine("module", "HexCost"), shell.Run("(Get-Module HexCost).ModuleBase").Output.Single().ToString());
                var documented = shell.Run("(Get-Help Invoke-HexRun -Full).parameters.parameter | ForEach-Object { [string]$_.name }").ThrowIfErrors().Output.Select(o => o.ToString());
                Assert.Contains("IdempotencyKey", documented); // help ships in the package
            }
            await RunHostAsync("HexCost.ModuleHost", packaged);
        }

        private static async Task RunHostAsync(string host, string manifestPath)
        {
            await using var world = await HexWorld.StartAsync();
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var hostDll = Path.Combine(Repo.Root, "tests", host, "bin", configuration, "net10.0", host + ".dll");
            Assert.True(File.Exists(hostDll), hostDll + " is not built");

            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { hostDll, manifestPath, world.Emulator.BaseUri.ToString(), world.Emulator.Token, world.State.Path, "--preload-pwsh76" })
                start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromMinutes(2))) != exited)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("the host did not finish within 2 minutes");
            }
            var text = await output + await errors;
            Assert.True(process.ExitCode == 0, text);
            Assert.Contains("second=COMPLETED fromCache=True sameRun=True", text);
            Assert.DoesNotContain(world.Emulator.Token, text);
            Assert.Equal(1, world.Stats.RunsCreated);
            // HexCost's dependencies load into its own context from deps/, whatever the host already has.
            var deps = Path.Combine(Path.GetDirectoryName(manifestPath)!, manifestPath == Repo.Manifest ? Path.Combine("module", "bin") : "bin", "net8.0", "deps");
            Assert.Contains($"loaded Polly.Core 8.0.0.0 from {deps}", text);
            Assert.Contains($"loaded Microsoft.Extensions.Caching.Memory 8.0.0.0 from {deps}{Path.DirectorySeparatorChar}Microsoft.Extensions.Caching.Memory.dll into HexCost", text);
            Assert.Contains("System.Text.Json 10.0.0.0 from " + Path.GetDirectoryName(typeof(object).Assembly.Location), text);
            if (host.EndsWith("Pwsh76")) Assert.Contains("loaded System.Threading.RateLimiting 10.0.0.0", text);      // pwsh's own copy stays
            if (host.EndsWith("Conflict")) Assert.Contains("loaded Microsoft.Extensions.Caching.Memory 6.0.0.0", text); // another module's older copy stays
        }
    }
}
