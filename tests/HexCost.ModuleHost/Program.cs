using System;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Security;

// Usage: HexCost.ModuleHost <manifest> <baseUri> <token> <statePath> [--preload-pwsh76] [--script <file>]
// With --script, runs that file instead (param($Manifest, $BaseUri, $Token, $StatePath)) and prints what it writes.
// Imports the module into a fresh runspace, connects, runs a project twice with one source version, and prints
// one line per fact; exits 0 when the second run came from the cache.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: HexCost.ModuleHost <manifest> <baseUri> <token> <statePath> [--preload-pwsh76]");
    return 2;
}
// Tests run HexCost on their own clock (pinned mid-cycle): HEXCOST_TEST_CLOCK_OFFSET_MS puts this host's HexCost on it
// too, set as the core loads (the module's types are not known to this host at compile time).
if (long.TryParse(Environment.GetEnvironmentVariable("HEXCOST_TEST_CLOCK_OFFSET_MS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var clockOffset))
{
    AppDomain.CurrentDomain.AssemblyLoad += (_, e) =>
    {
        if (e.LoadedAssembly.GetName().Name != "HexCost.Core") return;
        var registry = e.LoadedAssembly.GetType("HexCost.Session.HexAccountRegistry", throwOnError: true)!;
        registry.GetProperty("DefaultTime")!.SetValue(null, HexCost.Emulator.PinnedClock.WithOffset(TimeSpan.FromMilliseconds(clockOffset)));
    };
}
if (args.Contains("--preload-pwsh76"))
{
    // What pwsh 7.6 has loaded before any module: Microsoft.Bcl.AsyncInterfaces 10.0 and .NET 10's System.Text.Json.
    foreach (var name in new[] { "Microsoft.Bcl.AsyncInterfaces", "System.Text.Json", "System.Threading.RateLimiting", "Microsoft.Extensions.Caching.Memory", "Microsoft.Extensions.Primitives" })
    {
        try { Console.WriteLine($"preloaded {Assembly.Load(new AssemblyName(name)).GetName()}"); }
        catch (System.IO.FileNotFoundException) { Console.WriteLine($"not in this host: {name}"); }
    }
}

var token = new SecureString();
foreach (var c in args[2]) token.AppendChar(c);
using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
runspace.Open();
using var ps = PowerShell.Create();
ps.Runspace = runspace;
var scriptIndex = Array.IndexOf(args, "--script");
if (scriptIndex >= 0) ps.AddScript(System.IO.File.ReadAllText(args[scriptIndex + 1]));
else ps.AddScript("""
    param($Manifest, $BaseUri, $Token, $StatePath)
    $ErrorActionPreference = 'Stop'
    Import-Module $Manifest
    Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $StatePath -RateLimit @{ Read = '600/1m'; Request = '600/1m' } | Out-Null
    $project = @(Get-HexProject | Where-Object { $_.LastPublishedAt -and -not $_.Title.StartsWith('Failing') })[0]
    $first = $project | Invoke-HexRun -SourceVersion 'host-v1' -Wait
    $second = $project | Invoke-HexRun -SourceVersion 'host-v1' -Wait
    "first=$($first.Status) fromCache=$($first.FromCache)"
    "second=$($second.Status) fromCache=$($second.FromCache) sameRun=$($first.RunId -eq $second.RunId)"
    """);
ps.AddParameter("Manifest", args[0]).AddParameter("BaseUri", args[1]).AddParameter("Token", token).AddParameter("StatePath", args[3]);
try
{
    foreach (var line in ps.Invoke()) Console.WriteLine(line);
}
catch (RuntimeException ex)
{
    Console.WriteLine($"error {ex.ErrorRecord.FullyQualifiedErrorId}: {ex.Message}");
    Console.WriteLine(ex.ErrorRecord.Exception);
    return 1;
}
foreach (var error in ps.Streams.Error) Console.WriteLine($"error {error.FullyQualifiedErrorId}: {error}");
foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic).OrderBy(a => a.GetName().Name))
{
    var name = assembly.GetName();
    if (name.Name is "Polly.Core" or "Microsoft.Extensions.Caching.Memory" or "System.Threading.RateLimiting" or "System.Text.Json" or "Microsoft.Bcl.AsyncInterfaces" or "HexCost.Core"
        or "StackExchange.Redis" or "RESPite" or "System.IO.Pipelines" or "System.Diagnostics.DiagnosticSource" or "Microsoft.Extensions.Logging.Abstractions")
        Console.WriteLine($"loaded {name.Name} {name.Version} from {assembly.Location} into {System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(assembly)?.Name}");
}
return ps.HadErrors ? 1 : 0;
