#if NET8_0_OR_GREATER
using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace HexCost.Commands.Loading
{
    /// <summary>
    /// PowerShell 7: HexCost's dependencies (its core, Polly, Microsoft.Extensions.*, RateLimiting, Cronos) live in
    /// bin/net8.0/deps and load into their own AssemblyLoadContext, so a session that already loaded other versions of
    /// them (another module, or pwsh itself) neither breaks HexCost nor is broken by it. Whatever is not in deps
    /// (System.Text.Json, Microsoft.Bcl.*) comes from the .NET pwsh runs on. The psm1 calls <see cref="Register"/> before
    /// importing the cmdlets; this class must not touch any type from deps.
    /// </summary>
    public static class DependencyLoader
    {
        private static HexCostLoadContext? _context;

        public static void Register(string dependencyDirectory)
        {
            if (_context != null) return;
            _context = new HexCostLoadContext(dependencyDirectory);
            AssemblyLoadContext.Default.Resolving += (_, name) => _context.Owns(name) ? _context.LoadFromAssemblyName(name) : null;
        }

        private sealed class HexCostLoadContext : AssemblyLoadContext
        {
            private readonly string _directory;

            public HexCostLoadContext(string directory) : base("HexCost", isCollectible: false) => _directory = directory;

            public bool Owns(AssemblyName name) => !string.IsNullOrEmpty(name.Name) && File.Exists(PathOf(name));

            protected override Assembly? Load(AssemblyName name) => Owns(name) ? LoadFromAssemblyPath(PathOf(name)) : null;

            private string PathOf(AssemblyName name) => Path.Combine(_directory, name.Name + ".dll");
        }
    }
}
#endif
