using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>A bare PowerShell host process (tests/HexCost.ModuleHost and its variants, built with these tests) that
    /// imports a module and runs against a world's emulator and state directory.</summary>
    internal static class ModuleHostProcess
    {
        /// <summary>Read by tests/HexCost.ModuleHost: milliseconds its HexCost clock runs ahead of the real one.</summary>
        public const string ClockOffsetVariable = "HEXCOST_TEST_CLOCK_OFFSET_MS";

        /// <summary>Starts <paramref name="host"/> on <paramref name="manifest"/>; <paramref name="extra"/> follows the
        /// standard arguments (e.g. --script file).</summary>
        public static Process Start(HexWorld world, string manifest, string host = "HexCost.ModuleHost", params string[] extra)
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var hostDll = Path.Combine(Repo.Root, "tests", host, "bin", configuration, "net10.0", host + ".dll");
            Assert.True(File.Exists(hostDll), hostDll + " is not built");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { hostDll, manifest, world.Emulator.BaseUri.ToString(), world.Emulator.Token, world.State.Path }.Concat(extra))
                start.ArgumentList.Add(arg);
            // The host's HexCost runs on the emulator's clock (the test clock, or a fake one a test gave the emulator).
            var offset = world.Emulator.Options.Time.GetUtcNow() - DateTimeOffset.UtcNow;
            start.Environment[ClockOffsetVariable] = ((long)offset.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Process.Start(start.OnThisClock())!;
        }

        /// <summary>Waits for the process to end (killing it after <paramref name="timeout"/>) and returns its exit code
        /// and everything it wrote, standard output then standard error.</summary>
        public static async Task<(int ExitCode, string Text)> OutputAsync(Process process, TimeSpan timeout)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(exited, Task.Delay(timeout)) != exited)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"the host did not finish within {timeout}");
            }
            return (process.ExitCode, await output + await errors);
        }
    }
}
