using System.Management.Automation;
using HexCost.Commands.Loading;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>Hooks dependency resolution when the cmdlet DLL is imported directly (HexCost.psm1 does it itself, since a
    /// cached re-import never calls this again).</summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport() => DependencyLoader.Register();
    }
}
