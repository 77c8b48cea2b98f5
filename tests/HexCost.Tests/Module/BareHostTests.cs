using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
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

        /// <summary>The module folder itself (module/HexCost, what a gallery user installs), not the repository's entry point.</summary>
        [Fact]
        public async Task The_packaged_module_loads_and_runs_in_a_host_with_only_the_engine()
        {
            var packaged = Path.Combine(Repo.ModuleDir, "HexCost.psd1");
            using (var shell = new PsHost(import: false))
            {
                var manifest = shell.Run("Test-ModuleManifest -Path $args[0] -ErrorAction Stop", packaged).ThrowIfErrors().Output.Single();
                Assert.Equal("bin/net8.0/HexCost.Commands.dll", manifest.Prop<string>("RootModule")); // this edition's build
                shell.Run("Import-Module $args[0] -ErrorAction Stop", packaged).ThrowIfErrors();
                Assert.Equal(14, shell.Run("Get-Command -Module HexCost").ThrowIfErrors().Output.Count);
                Assert.Contains(Path.Combine("module", "HexCost"), shell.Run("(Get-Module HexCost).ModuleBase").Output.Single().ToString());
                var documented = shell.Run("(Get-Help Invoke-HexRun -Full).parameters.parameter | ForEach-Object { [string]$_.name }").ThrowIfErrors().Output.Select(o => o.ToString());
                Assert.Contains("IdempotencyKey", documented); // help ships in the package
            }
            await RunHostAsync("HexCost.ModuleHost", packaged);
        }

        /// <summary>
        /// What Windows PowerShell 5.1 loads: the netstandard2.0 build, imported as a DLL with its polyfills beside it and
        /// the assembly-resolve handler it registers on import. No .NET Framework here, so a bare .NET host runs it: every
        /// cmdlet once, and the handler answered directly.
        /// </summary>
        [Fact]
        public async Task The_netstandard_build_for_Windows_PowerShell_runs_every_cmdlet_in_a_host_with_only_the_engine()
        {
            const string script = """
                param($Manifest, $BaseUri, $Token, $StatePath)
                $ErrorActionPreference = 'Stop'
                Import-Module $Manifest
                Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ Read = '600/1m'; Request = '600/1m' } | Out-Null
                $project = @(Get-HexProject | Where-Object { $_.LastPublishedAt -and -not $_.Title.StartsWith('Failing') -and $_.Title -ne 'Runs until stopped' })[0]
                $first = $project | Invoke-HexRun -IdempotencyKey 'ns20' -Wait
                $again = $project | Invoke-HexRun -IdempotencyKey 'ns20' -Wait
                "idempotent=$($first.RunId -eq $again.RunId) status=$($again.Status)"
                "listed=$(@(Get-HexRun -ProjectId $project.ProjectId -Trigger API) | Where-Object RunId -eq $first.RunId | ForEach-Object Status)"
                "findings=$(@(Get-HexScheduleAudit).Count -gt 0)"
                "balances=$(@(Get-HexCreditBalance -Plan Team).Count -gt 0)"
                $usage = [System.IO.Path]::Combine($StatePath, 'usage.csv')
                [System.IO.File]::WriteAllText($usage, "Date,Email,Credits`n__USAGE_AT__,someone@example.com,3`n")
                "imported=$((Import-HexCreditUsage -Path $usage).Imported)"
                Set-HexSpendLimit -WeeklyRunBudget 100 -Confirm:$false
                "budget=$((Get-HexSpendLimit).WeeklyRunBudget)"
                "reported=$(@(Get-HexRunReport | Where-Object ProjectId -eq $project.ProjectId).Count)"
                "report=$((Export-HexCostReport -Path ([System.IO.Path]::Combine($StatePath, 'report.html')) -PassThru).Bytes -gt 1000)"
                $endless = @(Get-HexProject | Where-Object Title -eq 'Runs until stopped')[0]
                $started = $endless | Invoke-HexRun
                "stopped=$((Stop-HexRun -ProjectId $endless.ProjectId -RunId $started.RunId -Confirm:$false -PassThru).Status)"
                $resolve = [HexCost.Commands.Loading.DependencyLoader].GetMethod('Resolve', [System.Reflection.BindingFlags]'NonPublic, Static')
                $polly = $resolve.Invoke($null, @($null, [System.ResolveEventArgs]::new('Polly.Core, Version=1.0.0.0, Culture=neutral, PublicKeyToken=c8a3ffc3f8f825cc')))
                "resolvedLoaded=$($polly.Location -eq [Polly.ResiliencePipeline].Assembly.Location)"
                $options = $resolve.Invoke($null, @($null, [System.ResolveEventArgs]::new('Microsoft.Extensions.Options, Version=99.0.0.0')))
                "resolvedShipped=$([System.IO.Path]::GetDirectoryName($options.Location) -eq [System.IO.Path]::GetDirectoryName($Manifest))"
                "resolvedUnknown=$($null -eq $resolve.Invoke($null, @($null, [System.ResolveEventArgs]::new('NotShippedByHexCost'))))"
                Disconnect-Hex
                """;
            var manifest = Path.Combine(Repo.ModuleBin("netstandard2.0"), "HexCost.Commands.dll");
            using var scriptFile = new TempDir();
            var scriptPath = Path.Combine(scriptFile.Path, "ns20.ps1");
            File.WriteAllText(scriptPath, script.Replace("__USAGE_AT__", TestClock.Iso(TestClock.EarlierThisCycle)));
            // A run that lasts until it is stopped, so Stop-HexRun never races its end.
            var (text, world) = await RunHostProcessAsync("HexCost.ModuleHost", manifest,
                w => w.NewProject("Runs until stopped", p => p.RunDurationOverride = System.Threading.Timeout.InfiniteTimeSpan), "--script", scriptPath);
            await using (world)
            {
                foreach (var line in new[] { "idempotent=True status=COMPLETED", "listed=COMPLETED", "findings=True", "balances=True", "imported=1",
                             "budget=100", "reported=1", "report=True", "stopped=KILLED", "resolvedLoaded=True", "resolvedShipped=True", "resolvedUnknown=True" })
                    Assert.Contains(line, text);
                Assert.Equal(2, world.Stats.RunsCreated);
                Assert.Contains($"loaded HexCost.Core 0.1.0.0 from {Repo.ModuleBin("netstandard2.0")}", text);
                Assert.DoesNotContain(world.Emulator.Token, text);
            }
        }

        /// <summary>Windows PowerShell 5.1's .NET Framework may offer HttpClient a TLS list without 1.2 (the client adds
        /// it there); the operating system's own choice (0) is left alone.</summary>
        [Theory]
        [InlineData((SecurityProtocolType)(48 | 192), (SecurityProtocolType)(48 | 192) | SecurityProtocolType.Tls12)] // Ssl3 | Tls, .NET Framework's old default
        [InlineData(SecurityProtocolType.Tls12, SecurityProtocolType.Tls12)]
        [InlineData(SecurityProtocolType.Tls11 | SecurityProtocolType.Tls12, SecurityProtocolType.Tls11 | SecurityProtocolType.Tls12)]
        [InlineData((SecurityProtocolType)0, (SecurityProtocolType)0)]
        [InlineData(SecurityProtocolType.Tls13, SecurityProtocolType.Tls13 | SecurityProtocolType.Tls12)]
        public void On_dotnet_Framework_the_client_adds_TLS_1_2_to_a_list_that_lacks_it(SecurityProtocolType before, SecurityProtocolType after)
        {
            Assert.Equal(after, HexCost.Api.HexApiClient.WithTls12(before));
        }

        private static async Task<(string Text, HexWorld World)> RunHostProcessAsync(string host, string manifestPath, Action<HexWorld>? prepare, params string[] extra)
        {
            var world = await HexWorld.StartAsync();
            try
            {
                prepare?.Invoke(world);
                using var process = ModuleHostProcess.Start(world, manifestPath, host, extra);
                var (exitCode, text) = await ModuleHostProcess.OutputAsync(process, TimeSpan.FromMinutes(2));
                Assert.True(exitCode == 0, text);
                return (text, world);
            }
            catch
            {
                await world.DisposeAsync();
                throw;
            }
        }

        private static async Task RunHostAsync(string host, string manifestPath)
        {
            var (text, world) = await RunHostProcessAsync(host, manifestPath, null, "--preload-pwsh76");
            await using var _ = world;
            Assert.Contains("second=COMPLETED fromCache=True sameRun=True", text);
            Assert.DoesNotContain(world.Emulator.Token, text);
            Assert.Equal(1, world.Stats.RunsCreated);
            // HexCost's own assemblies load where PowerShell finds types; its third-party dependencies into its own context
            // from deps/, unless the host itself carries a version at least as new (which binds, as .NET's default does).
            var bin = Repo.ModuleBin("net8.0");
            var deps = Path.Combine(bin, "deps");
            Assert.Contains($"loaded HexCost.Core 0.1.0.0 from {bin}{Path.DirectorySeparatorChar}HexCost.Core.dll into Default", text);
            Assert.Contains($"loaded Polly.Core 8.0.0.0 from {deps}{Path.DirectorySeparatorChar}Polly.Core.dll into HexCost", text);
            Assert.Contains("System.Text.Json 10.0.0.0 from " + Path.GetDirectoryName(typeof(object).Assembly.Location), text);
            if (host.EndsWith("Pwsh76"))
            {
                Assert.Contains("loaded System.Threading.RateLimiting 10.0.0.0", text);        // the host's newer copies bind
                Assert.Contains("loaded Microsoft.Extensions.Caching.Memory 10.0.0.0", text);
            }
            else
            {
                Assert.Contains($"loaded Microsoft.Extensions.Caching.Memory 8.0.0.0 from {deps}{Path.DirectorySeparatorChar}Microsoft.Extensions.Caching.Memory.dll into HexCost", text);
            }
            if (host.EndsWith("Conflict")) Assert.Contains("loaded Microsoft.Extensions.Caching.Memory 6.0.0.0", text); // another module's older copy stays
            Assert.DoesNotContain("loaded StackExchange.Redis", text); // only a Redis store loads the Redis client
        }

        /// <summary>A Redis state store opened from PowerShell 7's build in a host with only the engine: the Redis client and its
        /// closure load only then, into HexCost's own context from deps/ (its System.Diagnostics.DiagnosticSource 10 is newer
        /// than pwsh 7.4's .NET 8 has), and nothing from deps/ lands in the default context.</summary>
        [Fact]
        public async Task A_Redis_store_opens_in_a_host_with_only_the_engine_and_loads_the_Redis_client_only_then()
        {
            using var redis = new HexCost.Tests.State.RedisServer();
            const string script = """
                param($Manifest, $BaseUri, $Token, $StatePath)
                $ErrorActionPreference = 'Stop'
                function Loaded { @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'StackExchange.Redis' }).Count }
                Import-Module $Manifest
                Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ Read = '600/1m'; Request = '600/1m' } | Out-Null
                "projects=$(@(Get-HexProject).Count -gt 0)"
                $options = [HexCost.State.RedisStoreOptions]::new('__REDIS__')
                "typesOnly=$([HexCost.State.RedisStateStore].FullName) loaded=$(Loaded)"
                $none = [System.Threading.CancellationToken]::None
                $store = [HexCost.State.RedisStateStore]::ConnectAsync($options, 'module-host', $none).GetAwaiter().GetResult()
                $commit = [HexCost.State.StoreCommit]::new()
                $commit.Writes.Add([System.Collections.Generic.KeyValuePair[string,string]]::new('k', '"v"'))
                "committed=$($store.CommitAsync($commit, $none).GetAwaiter().GetResult().Committed)"
                "read=$($store.ReadAsync([string[]]@('k'), $none).GetAwaiter().GetResult().Entries['k'].Value)"
                "location=$($store.Location) warnings=$($store.DurabilityWarningsAsync($none).GetAwaiter().GetResult().Count) loaded=$(Loaded)"
                $store.Dispose()
                """;
            using var scriptFile = new TempDir();
            var scriptPath = Path.Combine(scriptFile.Path, "redis.ps1");
            File.WriteAllText(scriptPath, script.Replace("__REDIS__", redis.Uri));
            var (text, world) = await RunHostProcessAsync("HexCost.ModuleHost", Repo.Manifest, null, "--script", scriptPath);
            await using var _ = world;
            var deps = Path.Combine(Repo.ModuleBin("net8.0"), "deps") + Path.DirectorySeparatorChar;
            foreach (var line in new[]
                     {
                         "projects=True", "typesOnly=HexCost.State.RedisStateStore loaded=0", "committed=True", "read=\"v\"", $"location={redis.Uri} warnings=0 loaded=1",
                         $"loaded StackExchange.Redis 3.0.0.0 from {deps}StackExchange.Redis.dll into HexCost", $"loaded RESPite 3.0.0.0 from {deps}RESPite.dll into HexCost",
                         $"loaded System.IO.Pipelines 10.0.0.0 from {deps}System.IO.Pipelines.dll into HexCost",
                     })
                Assert.True(text.Contains(line), $"missing: {line}\n{text}");
            Assert.DoesNotMatch("from " + System.Text.RegularExpressions.Regex.Escape(deps) + @"\S+ into Default", text);
        }
    }
}
