using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    public class ModuleLoadTests
    {
        private static readonly string[] Exported = { "Connect-Hex", "Disconnect-Hex", "Get-HexProject", "Invoke-HexRun", "Get-HexRun", "Stop-HexRun", "Get-HexScheduleAudit", "Get-HexCreditBalance", "Import-HexCreditUsage", "Set-HexSpendLimit", "Get-HexSpendLimit", "Get-HexRunReport", "Export-HexCostReport", "Copy-HexState" };

        [Fact]
        public void Manifest_is_valid_and_exports_exactly_the_cmdlets_that_exist()
        {
            using var host = new PsHost(import: false);
            // The shipped manifest; the repository's ./HexCost.psd1 only redirects to it (see its comment).
            var manifest = host.Run("Test-ModuleManifest -Path $args[0] -ErrorAction Stop", Path.Combine(Repo.ModuleDir, "HexCost.psd1")).ThrowIfErrors().Output.Single();
            var editions = ((System.Collections.IEnumerable)manifest.Prop<object>("CompatiblePSEditions")).Cast<object>().Select(o => o.ToString()).ToArray();
            Assert.Contains("Core", editions);
            Assert.Contains("Desktop", editions);

            host.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest).ThrowIfErrors();
            var commands = host.Run("Get-Command -Module HexCost | ForEach-Object Name").Output.Select(o => o.BaseObject.ToString()).OrderBy(n => n).ToArray();
            Assert.Equal(Exported.OrderBy(n => n).ToArray(), commands);
            var declared = Assembly.LoadFrom(Path.Combine(Repo.ModuleBin("net8.0"), "HexCost.Commands.dll")).GetTypes()
                .Select(t => t.GetCustomAttribute<CmdletAttribute>()).Where(a => a != null).Select(a => a!.VerbName + "-" + a.NounName).OrderBy(n => n).ToArray();
            Assert.Equal(declared, commands);
        }

        [Fact]
        public void Every_cmdlet_uses_an_approved_verb()
        {
            var verbs = new[] { typeof(VerbsCommon), typeof(VerbsCommunications), typeof(VerbsData), typeof(VerbsDiagnostic), typeof(VerbsLifecycle), typeof(VerbsOther), typeof(VerbsSecurity) }
                .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)).Select(f => (string)f.GetValue(null)!).ToHashSet();
            foreach (var name in Exported) Assert.Contains(name.Split('-')[0], verbs);
        }

        [Fact]
        public void PowerShell7_build_ships_none_of_the_assemblies_pwsh_already_loads()
        {
            var shipped = Directory.GetFiles(Repo.ModuleBin("net8.0"), "*.dll", SearchOption.AllDirectories).Select(Path.GetFileNameWithoutExtension).ToArray();
            foreach (var framework in new[] { "System.Text.Json", "Microsoft.Bcl.AsyncInterfaces", "Microsoft.Bcl.TimeProvider", "System.Memory", "System.Text.Encodings.Web", "System.Management.Automation" })
                Assert.DoesNotContain(framework, shipped);
        }

        [Fact]
        public void PowerShell7_build_references_no_shared_assembly_newer_than_pwsh_7_4_has()
        {
            // pwsh 7.4 runs on .NET 8; any shared assembly we reference must be 8.0 or older, so the version a newer
            // pwsh already loaded (10.0 in 7.6) satisfies it instead of failing with "does not match". The one exception:
            // an assembly in deps/ (loaded only into HexCost's own context, which takes every name deps/ has from there)
            // may reference a newer version of an assembly that deps/ ships at that version or newer: the Redis client's
            // closure (System.Diagnostics.DiagnosticSource 10 and others), which the default context of pwsh 7.4 could
            // not bind.
            var bin = Repo.ModuleBin("net8.0");
            var deps = Path.Combine(bin, "deps");
            var shippedInDeps = Directory.GetFiles(deps, "*.dll").ToDictionary(Path.GetFileNameWithoutExtension, f => AssemblyName.GetAssemblyName(f).Version!);
            foreach (var file in Directory.GetFiles(bin, "*.dll", SearchOption.AllDirectories))
            {
                var inDeps = Path.GetDirectoryName(file) == deps;
                using var stream = File.OpenRead(file);
                using var pe = new PEReader(stream);
                var reader = pe.GetMetadataReader();
                foreach (var handle in reader.AssemblyReferences)
                {
                    var reference = reader.GetAssemblyReference(handle);
                    var name = reader.GetString(reference.Name);
                    if (name.StartsWith("HexCost", StringComparison.Ordinal) || name.StartsWith("Polly", StringComparison.Ordinal)) continue;
                    if (inDeps && shippedInDeps.TryGetValue(name, out var shipped))
                    {
                        Assert.True(shipped >= reference.Version, $"{Path.GetFileName(file)} references {name} {reference.Version}, but deps/ ships {shipped}.");
                        continue;
                    }
                    Assert.True(reference.Version.Major <= 8, $"{Path.GetFileName(file)} references {name} {reference.Version}, newer than pwsh 7.4's .NET 8.");
                }
            }
        }

        [Fact]
        public void The_Redis_client_ships_in_deps_for_PowerShell7_and_beside_the_cmdlets_for_Windows_PowerShell()
        {
            var closure = new[] { "StackExchange.Redis", "RESPite", "System.IO.Pipelines", "System.IO.Hashing", "Microsoft.Extensions.Logging.Abstractions" };
            var deps = Directory.GetFiles(Path.Combine(Repo.ModuleBin("net8.0"), "deps"), "*.dll").Select(Path.GetFileNameWithoutExtension).ToArray();
            foreach (var name in closure.Append("System.Diagnostics.DiagnosticSource")) Assert.Contains(name, deps);
            Assert.Equal(10, AssemblyName.GetAssemblyName(Path.Combine(Repo.ModuleBin("net8.0"), "deps", "System.Diagnostics.DiagnosticSource.dll")).Version!.Major);
            Assert.Empty(Directory.GetFiles(Repo.ModuleBin("net8.0"), "StackExchange.*.dll"));

            var beside = Directory.GetFiles(Repo.ModuleBin("netstandard2.0"), "*.dll").Select(Path.GetFileNameWithoutExtension).ToArray();
            foreach (var name in closure.Concat(new[] { "System.Threading.Channels", "Microsoft.Bcl.AsyncInterfaces", "System.Diagnostics.DiagnosticSource" })) Assert.Contains(name, beside);
        }
    }
}
