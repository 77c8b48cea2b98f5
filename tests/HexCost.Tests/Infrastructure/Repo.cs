using System;
using System.IO;

namespace HexCost.Tests.Infrastructure
{
    internal static class Repo
    {
        public static string Root { get; } = FindRoot();

        public static string Manifest => Path.Combine(Root, "HexCost.psd1");

        /// <summary>The module folder every build assembles (what a gallery user installs; ./HexCost.psd1 imports it).</summary>
        public static string ModuleDir => Path.Combine(Root, "module", "HexCost");

        public static string ModuleBin(string framework) => Path.Combine(ModuleDir, "bin", framework);

        private static string FindRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "HexCost.psd1"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("HexCost.psd1 not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A state directory that is removed after the test.</summary>
    internal sealed class TempDir : IDisposable
    {
        public TempDir()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hexcost-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
