using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;

namespace HexCost.Tools;

/// <summary>
/// The real pwsh the repository pins: the PowerShell dotnet tool in .config/dotnet-tools.json, whose pwsh.dll sits in the
/// NuGet package folder once `dotnet tool restore` has run. Shared by the demo and the benchmarks (linked into both).
/// </summary>
internal static class PwshTool
{
    /// <summary>pwsh.dll, restoring the tool first when it is missing.</summary>
    public static string Find(string repoRoot)
    {
        var (version, path) = Locate(repoRoot);
        if (File.Exists(path)) return path;
        var restore = Process.Start(new ProcessStartInfo("dotnet", "tool restore") { WorkingDirectory = repoRoot, UseShellExecute = false })!;
        restore.WaitForExit();
        if (restore.ExitCode != 0 || !File.Exists(path))
            throw new InvalidOperationException($"pwsh {version} could not be restored ('dotnet tool restore' exited {restore.ExitCode}; {path} is missing).");
        return path;
    }

    /// <summary>Arguments for <c>dotnet</c> that run pwsh with <paramref name="arguments"/>.</summary>
    public static ProcessStartInfo StartInfo(string pwsh, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(pwsh);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        return start;
    }

    private static (string Version, string Path) Locate(string repoRoot)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(repoRoot, ".config", "dotnet-tools.json")));
        var version = manifest.RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString()!;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packages))
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var platform = OperatingSystem.IsWindows() ? "win" : "unix";
        return (version, Path.Combine(packages, "powershell", version, "tools", "net10.0", "any", platform, "pwsh.dll"));
    }
}
