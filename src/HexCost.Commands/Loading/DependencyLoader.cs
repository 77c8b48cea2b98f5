using System;
using System.IO;
using System.Reflection;
using System.Threading;
#if NET8_0_OR_GREATER
using System.Runtime.Loader;
#endif

namespace HexCost.Commands.Loading
{
    /// <summary>
    /// Resolves HexCost's assemblies for the whole process. HexCost's own assemblies (the cmdlets and the core, whose types
    /// users see: outputs, sessions, exceptions) load where PowerShell finds types, so <c>[HexCost.Model.HexRun]</c> and
    /// <c>catch [HexCost.Api.HexException]</c> work in scripts. Only third-party dependencies are isolated:
    /// <list type="bullet">
    /// <item>PowerShell 7: Polly, Microsoft.Extensions.*, RateLimiting and Cronos live in bin/net8.0/deps and load into
    /// HexCost's own AssemblyLoadContext, so other versions another module or pwsh itself loaded neither break HexCost nor
    /// are broken by it. What is in neither folder (System.Text.Json, Microsoft.Bcl.*) comes from the .NET pwsh runs on.</item>
    /// <item>Windows PowerShell 5.1 has no binding redirects for a module, so a dependency that asks for another version of
    /// an assembly shipped beside the cmdlets (System.Memory wants an older System.Runtime.CompilerServices.Unsafe) is
    /// answered with that copy, and only for names a copy exists for.</item>
    /// </list>
    /// Registered once per process, by IModuleAssemblyInitializer.OnImport when the manifest imports the cmdlet DLL (a later
    /// import of the already loaded assembly may not call OnImport again, and needs nothing more); never unregistered,
    /// because the assemblies stay loaded after Remove-Module and a later import in any runspace uses them again.
    /// Nothing here may touch a type from the core or its dependencies.
    /// </summary>
    public static class DependencyLoader
    {
        private static readonly string ModuleDirectory = Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location) ?? "";
        private static int _registered;

        public static void Register()
        {
            if (Interlocked.Exchange(ref _registered, 1) == 1) return;
#if NET8_0_OR_GREATER
            var dependencies = new DependencyLoadContext(Path.Combine(ModuleDirectory, "deps"));
            AssemblyLoadContext.Default.Resolving += (context, name) =>
            {
                var own = PathIn(ModuleDirectory, name);
                if (own != null) return context.LoadFromAssemblyPath(own);
                return PathIn(dependencies.Directory, name) != null ? dependencies.LoadFromAssemblyName(name) : null;
            };
#else
            AppDomain.CurrentDomain.AssemblyResolve += Resolve;
#endif
            // Loaded now rather than when a cmdlet first needs them, so their types resolve in scripts from the start.
            foreach (var path in System.IO.Directory.GetFiles(ModuleDirectory, "HexCost.*.dll"))
                Assembly.Load(AssemblyName.GetAssemblyName(path));
        }

        private static string? PathIn(string directory, AssemblyName name)
        {
            if (string.IsNullOrEmpty(name.Name)) return null;
            var path = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(path) ? path : null;
        }

#if NET8_0_OR_GREATER
        private sealed class DependencyLoadContext : AssemblyLoadContext
        {
            public DependencyLoadContext(string directory) : base("HexCost", isCollectible: false) => Directory = directory;

            public string Directory { get; }

            protected override Assembly? Load(AssemblyName name)
            {
                var path = PathIn(Directory, name);
                return path != null ? LoadFromAssemblyPath(path) : null;
            }
        }
#else
        internal static Assembly? Resolve(object? sender, ResolveEventArgs args)
        {
            var assemblyName = new AssemblyName(args.Name);
            var path = PathIn(ModuleDirectory, assemblyName);
            if (path == null) return null;
            foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
            {
                if (string.Equals(loaded.GetName().Name, assemblyName.Name, StringComparison.OrdinalIgnoreCase) && !loaded.IsDynamic
                    && string.Equals(SafeLocation(loaded), path, StringComparison.OrdinalIgnoreCase))
                    return loaded;
            }
            return Assembly.LoadFrom(path);
        }

        private static string SafeLocation(Assembly assembly)
        {
            try { return assembly.Location; } catch (NotSupportedException) { return ""; }
        }
#endif
    }
}
