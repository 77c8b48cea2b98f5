using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>
    /// Windows PowerShell 5.1 (.NET Framework) has no binding redirects for a module, so a dependency that asks for
    /// another version of an assembly we ship (System.Memory wants an older System.Runtime.CompilerServices.Unsafe,
    /// for instance) would fail to load. This resolver answers such requests with the copy beside this module, and only
    /// for names that copy exists for. PowerShell 7 resolves through the module folder by itself and binds to the
    /// newer framework copies, so the resolver stays off there.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        private static readonly string Directory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? "";
#if !NET8_0_OR_GREATER
        private static bool _registered;
#endif

        public void OnImport()
        {
#if !NET8_0_OR_GREATER
            if (_registered) return;
            _registered = true;
            AppDomain.CurrentDomain.AssemblyResolve += Resolve;
#endif
        }

        internal static Assembly? Resolve(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name).Name;
            if (string.IsNullOrEmpty(name)) return null;
            var path = Path.Combine(Directory, name + ".dll");
            if (!File.Exists(path)) return null;
            foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
            {
                if (string.Equals(loaded.GetName().Name, name, StringComparison.OrdinalIgnoreCase) && !loaded.IsDynamic
                    && string.Equals(SafeLocation(loaded), path, StringComparison.OrdinalIgnoreCase))
                    return loaded;
            }
            return Assembly.LoadFrom(path);
        }

        private static string SafeLocation(Assembly assembly)
        {
            try { return assembly.Location; } catch (NotSupportedException) { return ""; }
        }
    }
}
