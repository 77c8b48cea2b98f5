using System;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>pwsh 7.6 starts with Microsoft.Bcl.AsyncInterfaces 10.0 loaded and serves System.Text.Json and
    /// System.Threading.RateLimiting from .NET 10; the module must bind to those, not fail with "does not match".</summary>
    public class PreloadedAssembliesTests
    {
        [Fact]
        public async Task Imports_and_works_after_the_assemblies_pwsh_preloads()
        {
            var preloaded = new[] { "Microsoft.Bcl.AsyncInterfaces", "System.Text.Json", "System.Threading.RateLimiting", "Microsoft.Extensions.Primitives" }
                .Select(name => Assembly.Load(new AssemblyName(name))).ToArray();
            Assert.Equal(10, preloaded[0].GetName().Version!.Major); // what pwsh 7.6 has loaded
            Assert.True(preloaded[1].GetName().Version!.Major >= 10);

            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            var project = world.Project();
            var run = host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait", project.Id).ThrowIfErrors().Output.Single();
            Assert.Equal("COMPLETED", run.Prop<string>("Status"));

            var loaded = AssemblyLoadContext.Default.Assemblies.Concat(AppDomain.CurrentDomain.GetAssemblies()).Distinct()
                .Where(a => a.GetName().Name == "Microsoft.Bcl.AsyncInterfaces" || a.GetName().Name == "System.Text.Json" || a.GetName().Name == "System.Threading.RateLimiting")
                .ToList();
            // One copy each: the module took the ones already loaded instead of bringing its own.
            Assert.Equal(loaded.Count, loaded.Select(a => a.GetName().Name).Distinct().Count());
            Assert.DoesNotContain(loaded, a => a.Location.StartsWith(Repo.ModuleDir, System.StringComparison.Ordinal));
        }
    }
}
