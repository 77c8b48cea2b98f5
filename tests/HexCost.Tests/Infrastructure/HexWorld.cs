using System;
using System.Collections;
using System.Linq;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Emulator;
using HexCost.Session;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>An emulator on the test clock (<see cref="TestClock"/>) with fast runs, a state directory, and ways to
    /// connect to it from a runspace (Connect-Hex) or from C# (a session with test-speed retry options).</summary>
    internal sealed class HexWorld : IAsyncDisposable
    {
        public static readonly Hashtable FastLimits = new Hashtable { ["Request"] = "6000/1m", ["Read"] = "6000/1m", ["RunProject"] = "6000/1m" };

        private HexWorld(HexEmulator emulator, TempDir state)
        {
            Emulator = emulator;
            State = state;
        }

        public HexEmulator Emulator { get; }
        public TempDir State { get; }
        public EmulatorWorkspace Workspace => Emulator.Workspace;
        public EmulatorStats Stats => Emulator.Stats;

        public static async Task<HexWorld> StartAsync(Action<EmulatorOptions>? configure = null)
        {
            var options = new EmulatorOptions
            {
                PendingDuration = TimeSpan.FromMilliseconds(30),
                RunDuration = TimeSpan.FromMilliseconds(150),
                RateLimitsEnabled = false,
                Time = TestClock.Shared,
            };
            configure?.Invoke(options);
            return new HexWorld(await HexEmulator.StartAsync(options), new TempDir());
        }

        public static SecureString Secure(string text)
        {
            var secure = new SecureString();
            foreach (var c in text) secure.AppendChar(c);
            secure.MakeReadOnly();
            return secure;
        }

        /// <summary>A runspace with the module imported and Connect-Hex done.</summary>
        public PsHost Connected(Hashtable? limits = null)
        {
            var host = new PsHost();
            host.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3]",
                Secure(Emulator.Token), Emulator.BaseUri, State.Path, limits ?? FastLimits).ThrowIfErrors();
            return host;
        }

        /// <summary>A session connected from C#, with retry timings short enough for tests.</summary>
        public async Task<HexSession> SessionAsync(Action<ConnectOptions>? configure = null, Hashtable? limits = null)
        {
            var options = new ConnectOptions
            {
                BaseUri = Emulator.BaseUri,
                Token = Emulator.Token,
                StatePath = State.Path,
                RateLimits = Limits.RateLimitSettings.Parse(limits ?? FastLimits),
                Client = new HexClientOptions
                {
                    DefaultRetryAfter = TimeSpan.FromMilliseconds(300),
                    ServerErrorBaseDelay = TimeSpan.FromMilliseconds(10),
                    ServerErrorMaxDelay = TimeSpan.FromMilliseconds(50),
                    AttemptTimeout = TimeSpan.FromSeconds(10),
                },
                Runs = new HexRunOptions { AdoptionLookupDelay = TimeSpan.FromMilliseconds(20) },
            };
            configure?.Invoke(options);
            var account = await HexAccountRegistry.ConnectAsync(options, null, CancellationToken.None);
            return new HexSession(account);
        }

        public EmulatorProject Project(Func<EmulatorProject, bool>? where = null) =>
            Workspace.Projects.First(p => p.LastPublishedAt != null && p.ArchivedAt == null && p.TrashedAt == null && p.Type == "PROJECT" && (where == null || where(p)));

        public EmulatorProject NewProject(string title, Action<EmulatorProject>? configure = null) => Workspace.AddProject(title, configure);

        public async ValueTask DisposeAsync()
        {
            await Emulator.DisposeAsync();
            State.Dispose();
        }
    }
}
