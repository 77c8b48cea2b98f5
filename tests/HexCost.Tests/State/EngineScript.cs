using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>
    /// A real HexCost.ModuleHost process running a PowerShell script against a world's emulator and state root, for the
    /// state engine's multi-process tests. The script gets a prologue: <c>$Name</c>, <c>Log</c> (a line to this process's
    /// log file, read by the test while the process runs: processes that are killed print nothing), <c>Barrier</c> (every
    /// process of a round waits until <c>$Count</c> have reached it, so their requests meet), <c>WaitFor</c> (a file the
    /// test creates) and <c>Connect</c> (Connect-Hex with the given limits, -PassThru into <c>$Session</c>).
    /// </summary>
    internal sealed class EngineScript : IDisposable
    {
        public const string Limits = "@{ RunProject = '600/1m'; Read = '600/1m'; Request = '600/1m' }";

        private readonly Process _process;
        private readonly Task<string> _stdout;
        private readonly Task<string> _stderr;

        private EngineScript(Process process, string name, string logPath)
        {
            _process = process;
            Name = name;
            LogPath = logPath;
            _stdout = process.StandardOutput.ReadToEndAsync();
            _stderr = process.StandardError.ReadToEndAsync();
        }

        public string Name { get; }
        public string LogPath { get; }
        public Process Process => _process;
        public bool HasExited => _process.HasExited;

        /// <summary>The folder of barrier, go and log files, under the world's state root.</summary>
        public static string SyncDir(HexWorld world)
        {
            var dir = Path.Combine(world.State.Path, "sync");
            Directory.CreateDirectory(dir);
            return dir;
        }

        /// <summary>The home folder ($env:HEXCOST_HOME) of host <paramref name="name"/> started with a Redis state store.</summary>
        public static string HomeOf(HexWorld world, string name) => Path.Combine(world.State.Path, "homes", name);

        /// <summary>Creates the file <c>WaitFor <paramref name="name"/></c> waits for.</summary>
        public static void Go(HexWorld world, string name) => File.WriteAllText(Path.Combine(SyncDir(world), name), "");

        /// <param name="connect">Whether the prologue connects (Connect-Hex with <paramref name="limits"/>) before the body.</param>
        /// <param name="otherPidNamespace">Runs the host in a PID namespace of its own (unshare): its process id means
        /// nothing here, as another host's would not.</param>
        /// <param name="clockSkew">How far this process's clock is off the test clock (another host's clock).</param>
        /// <param name="stateStore">A Redis state store (redis://host:port): <c>Connect</c> passes it as -StateStore instead of
        /// -StatePath, and the process gets a home folder of its own ($env:HEXCOST_HOME, <see cref="HomeOf"/>), as a separate
        /// host would: no state folder is shared.</param>
        public static EngineScript Start(HexWorld world, string name, string body, string limits = Limits, bool connect = true,
            bool otherPidNamespace = false, TimeSpan clockSkew = default, string? stateStore = null)
        {
            var sync = SyncDir(world);
            var logPath = Path.Combine(sync, name + ".log");
            var script = @"param($Manifest, $BaseUri, $Token, $StatePath)
$ErrorActionPreference = 'Stop'
$Name = '" + name + @"'
$Sync = [System.IO.Path]::Combine($StatePath, 'sync')
$LogPath = [System.IO.Path]::Combine($Sync, ""$Name.log"")
function Log([string]$Text) { [System.IO.File]::AppendAllText($LogPath, $Text + ""`n"") }
function Barrier([string]$Barrier, [int]$Count) {
    [System.IO.File]::WriteAllText([System.IO.Path]::Combine($Sync, ""$Barrier.barrier.$Name""), '')
    while (@([System.IO.Directory]::GetFiles($Sync, ""$Barrier.barrier.*"")).Count -lt $Count) { [System.Threading.Thread]::Sleep(1) }
}
function WaitFor([string]$File) { while (-not [System.IO.File]::Exists([System.IO.Path]::Combine($Sync, $File))) { [System.Threading.Thread]::Sleep(5) } }
function Connect([string]$Root = $StatePath) {
" + (stateStore == null
                ? "    $script:Session = Connect-Hex -Token $Token -BaseUri $BaseUri -StatePath $Root -RateLimit " + limits + " -PassThru"
                : "    $script:Session = Connect-Hex -Token $Token -BaseUri $BaseUri -StateStore '" + stateStore + "' -RateLimit " + limits + " -PassThru") + @"
}
# Verbose lines go to the log as they come; everything else stays output.
filter LogVerbose { if ($_ -is [System.Management.Automation.VerboseRecord]) { Log ""verbose $($_.Message)"" } else { $_ } }
function Parsed { $store = $Session.GetAccount().Store; $store.GetType().GetProperty('RecordsParsed', [System.Reflection.BindingFlags]'Instance,NonPublic').GetValue($store) }
Import-Module $Manifest
" + (connect ? "Connect\n" : "") + @"Log 'connected'
" + body;
            var file = Path.Combine(sync, name + ".ps1");
            File.WriteAllText(file, script);

            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var hostDll = Path.Combine(Repo.Root, "tests", "HexCost.ModuleHost", "bin", configuration, "net10.0", "HexCost.ModuleHost.dll");
            Assert.True(File.Exists(hostDll), hostDll + " is not built");
            var start = new ProcessStartInfo(otherPidNamespace ? "unshare" : "dotnet")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            if (otherPidNamespace)
            {
                foreach (var arg in new[] { "--pid", "--fork", "--mount-proc", "--kill-child", "dotnet" }) start.ArgumentList.Add(arg);
            }
            foreach (var arg in new[] { hostDll, Repo.Manifest, world.Emulator.BaseUri.ToString(), world.Emulator.Token, world.State.Path, "--script", file })
                start.ArgumentList.Add(arg);
            var offset = world.Emulator.Options.Time.GetUtcNow() - DateTimeOffset.UtcNow + clockSkew;
            start.Environment[ModuleHostProcess.ClockOffsetVariable] = ((long)offset.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            start.Environment.Remove("HEXCOST_STATE_STORE");
            if (stateStore != null)
            {
                var home = HomeOf(world, name);
                Directory.CreateDirectory(home);
                start.Environment["HEXCOST_HOME"] = home;
            }
            return new EngineScript(Process.Start(start.OnThisClock())!, name, logPath);
        }

        /// <summary>Whether this machine can start a process in a PID namespace of its own (unshare, as root).</summary>
        public static bool CanUsePidNamespace { get; } = Probe();

        private static bool Probe()
        {
            try
            {
                var probe = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var arg in new[] { "--pid", "--fork", "--mount-proc", "sh", "-c", "echo $$" }) probe.ArgumentList.Add(arg);
                using var process = Process.Start(probe)!;
                var output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                return process.ExitCode == 0 && output.Trim() == "1";
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception || ex is InvalidOperationException)
            {
                return false;
            }
        }

        public IReadOnlyList<string> Log()
        {
            try
            {
                using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
            catch (FileNotFoundException)
            {
                return Array.Empty<string>();
            }
        }

        /// <summary>Waits (up to <paramref name="timeout"/>, two minutes by default) for a log line <paramref name="match"/> accepts.</summary>
        public async Task<string> WaitForLogAsync(Func<string, bool> match, TimeSpan? timeout = null)
        {
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(2));
            while (true)
            {
                var line = Log().FirstOrDefault(match);
                if (line != null) return line;
                if (_process.HasExited)
                {
                    line = Log().FirstOrDefault(match);
                    if (line != null) return line;
                    Assert.Fail($"{Name} ended before it logged what was expected:\n{await TextAsync()}\nlog:\n{string.Join("\n", Log())}");
                }
                if (DateTime.UtcNow > deadline) Assert.Fail($"{Name} did not log what was expected in time; log:\n{string.Join("\n", Log())}");
                await Task.Delay(10);
            }
        }

        public Task<string> WaitForLogAsync(string prefix, TimeSpan? timeout = null) =>
            WaitForLogAsync(l => l.StartsWith(prefix, StringComparison.Ordinal), timeout);

        /// <summary>Waits for the end (killing the process after <paramref name="timeout"/>) and returns the exit code and the
        /// output lines, each trimmed.</summary>
        public async Task<(int ExitCode, IReadOnlyList<string> Lines)> FinishAsync(TimeSpan? timeout = null)
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
                Assert.Fail($"{Name} did not finish in time; log:\n{string.Join("\n", Log())}");
            }
            var text = await TextAsync();
            return (_process.ExitCode, text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList());
        }

        /// <summary>Waits for a clean end and returns the output lines; fails with everything the process wrote otherwise.</summary>
        public async Task<IReadOnlyList<string>> SucceedAsync(TimeSpan? timeout = null)
        {
            var (code, lines) = await FinishAsync(timeout);
            Assert.True(code == 0, $"{Name} exited with {code}:\n{string.Join("\n", lines)}\nlog:\n{string.Join("\n", Log())}");
            return lines;
        }

        public async Task<string> TextAsync() => await _stdout + await _stderr;

        /// <summary>kill -9 (SIGKILL), and waits until the process is gone.</summary>
        public void Kill()
        {
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
            }
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
    }

    /// <summary>A runspace of this test process connected with -PassThru, and the account under it.</summary>
    internal sealed class ConnectedRunspace : IDisposable
    {
        public ConnectedRunspace(HexWorld world, Hashtable? limits = null)
        {
            Host = new PsHost();
            var result = Host.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru",
                HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path, limits ?? HexWorld.FastLimits).ThrowIfErrors();
            Session = (HexSession)result.Output.Single().BaseObject;
        }

        public PsHost Host { get; }
        public HexSession Session { get; }
        public HexAccount Account => Session.GetAccount();
        public HexCost.State.FileStateStore Store => (HexCost.State.FileStateStore)Account.Store;

        public void Dispose() => Host.Dispose();
    }

    internal static class Poll
    {
        /// <summary>Waits (up to <paramref name="timeout"/>, a minute by default) until <paramref name="condition"/> holds.</summary>
        public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
        {
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(1));
            while (!condition())
            {
                if (DateTime.UtcNow > deadline) Assert.Fail("timed out waiting until " + what);
                await Task.Delay(5);
            }
        }
    }
}
