using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>A tests/HexCost.StoreHost process running one script against a store location: its JSON lines are
    /// collected as they come; it waits for <see cref="Go"/> before it runs the script.</summary>
    internal sealed class StoreHostProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<JsonElement> _lines = new List<JsonElement>();
        private readonly List<string> _errors = new List<string>();
        private readonly TaskCompletionSource<bool> _ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _changed = new SemaphoreSlim(0);

        private StoreHostProcess(string script, string location, IEnumerable<string> options)
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var dll = Path.Combine(Repo.Root, "tests", "HexCost.StoreHost", "bin", configuration, "net10.0", "HexCost.StoreHost.dll");
            Assert.True(File.Exists(dll), dll + " is not built");
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var arg in new[] { dll, script, location }.Concat(options)) start.ArgumentList.Add(arg);
            _process = Process.Start(start.OnThisClock())!;
            _process.OutputDataReceived += (_, e) => OnLine(e.Data, error: false);
            _process.ErrorDataReceived += (_, e) => OnLine(e.Data, error: true);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public static StoreHostProcess Start(string script, string location, params string[] options) => new StoreHostProcess(script, location, options);

        /// <summary>Starts <paramref name="count"/> hosts, waits until each is ready, then lets them all go at once.</summary>
        public static async Task<StoreHostProcess[]> StartTogetherAsync(int count, Func<int, StoreHostProcess> start)
        {
            var hosts = Enumerable.Range(0, count).Select(start).ToArray();
            foreach (var host in hosts) await host.ReadyAsync();
            foreach (var host in hosts) host.Go();
            return hosts;
        }

        public IReadOnlyList<JsonElement> Lines
        {
            get
            {
                lock (_lines) return _lines.ToList();
            }
        }

        public IEnumerable<JsonElement> Results(string op) => Lines.Where(l => l.GetProperty("op").GetString() == op);

        public async Task ReadyAsync()
        {
            var timeout = Task.Delay(TimeSpan.FromSeconds(60));
            if (await Task.WhenAny(_ready.Task, timeout, _process.WaitForExitAsync()) != _ready.Task)
                Assert.Fail("the store host did not get ready: " + Describe());
        }

        public void Go() => _process.StandardInput.WriteLine("go");

        /// <summary>Waits (up to a minute) until the host has printed a line <paramref name="condition"/> accepts.</summary>
        public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> condition)
        {
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (true)
            {
                var match = Lines.Where(condition).ToList();
                if (match.Count > 0) return match[0];
                if (_process.HasExited && !Lines.Any(condition)) Assert.Fail("the store host ended first: " + Describe());
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) Assert.Fail("the store host did not print what was expected: " + Describe());
                await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
        }

        /// <summary>Waits for a clean end (up to two minutes) and fails the test on any other.</summary>
        public async Task FinishAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
                Assert.Fail("the store host did not finish: " + Describe());
            }
            _process.WaitForExit();
            Assert.True(_process.ExitCode == 0, "the store host failed: " + Describe());
        }

        public void CloseInput() => _process.StandardInput.Close();

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

        private void OnLine(string? line, bool error)
        {
            if (line == null) return;
            if (error || !line.StartsWith("{", StringComparison.Ordinal))
            {
                lock (_lines) _errors.Add(line);
                return;
            }
            var element = JsonDocument.Parse(line).RootElement.Clone();
            lock (_lines) _lines.Add(element);
            if (element.GetProperty("op").GetString() == "ready") _ready.TrySetResult(true);
            _changed.Release();
        }

        private string Describe()
        {
            lock (_lines) return string.Join("\n", _lines.Select(l => l.GetRawText()).Concat(_errors).TakeLast(40));
        }
    }
}
