using System.Management.Automation;
using HexCost.Commands.Loading;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>Hooks dependency resolution, once per process, when the manifest imports the cmdlet DLL.</summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport() => DependencyLoader.Register();
    }
}
