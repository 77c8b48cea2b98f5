using System;
using System.Collections;
using System.Management.Automation;
using System.Net;
using System.Security;
using System.Threading;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Infrastructure;
using HexCost.Limits;
using HexCost.Runs;
using HexCost.Session;
using HexCost.State;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Connects this PowerShell session to a Hex workspace.</para>
    /// <para type="description">Checks the token with GET /users/me and makes the connection this runspace's default.
    /// The limiter, ledger and cache belong to the account and are shared by every runspace in the process.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "Hex")]
    [OutputType(typeof(HexSession))]
    public sealed class ConnectHexCommand : HexCmdlet
    {
        /// <summary>The Hex API token. Defaults to $env:HEX_API_TOKEN.</summary>
        [Parameter(Position = 0)]
        public SecureString? Token { get; set; }

        /// <summary>Hex's API base, e.g. https://app.hex.tech/api/v1 (the default, or $env:HEX_API_BASE_URL).</summary>
        [Parameter]
        public Uri? BaseUri { get; set; }

        /// <summary>Where HexCost keeps its state (ledger), as a PowerShell path (relative to $PWD, ~ and PSDrives allowed).
        /// Defaults to $env:HEXCOST_HOME, else the per-user data folder.</summary>
        [Parameter]
        public string? StatePath { get; set; }

        /// <summary>Limits to keep to, per group, e.g. @{ RunProject = '20/1m','60/1h'; Request = '60/1m'; Read = '30/1m','1800/1h' }.</summary>
        [Parameter]
        public Hashtable? RateLimit { get; set; }

        /// <summary>How long one request to Hex may take before HexCost gives up on it (and retries, at most 3 tries in
        /// all), from 1 second to 100 seconds. Defaults to 30 seconds.</summary>
        [Parameter]
        public TimeSpan RequestTimeout { get; set; }

        /// <summary>A shared state store on a Redis server, redis://host:port[/db] or rediss:// for TLS, that every host using
        /// this token shares (one budget, ledger and set of idempotency keys). Defaults to $env:HEXCOST_STATE_STORE, else the
        /// file store under -StatePath.</summary>
        [Parameter]
        public string? StateStore { get; set; }

        /// <summary>The Redis ACL user and password for -StateStore.</summary>
        [Parameter]
        [Credential]
        public PSCredential? StateStoreCredential { get; set; }

        /// <summary>Writes the session object.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            RateLimitSettings? limits = null;
            if (RateLimit != null)
            {
                try
                {
                    limits = RateLimitSettings.Parse(RateLimit);
                }
                catch (FormatException error)
                {
                    ThrowTerminatingError(HexErrors.InvalidRateLimit.Record(new ArgumentException(error.Message, nameof(RateLimit), error), RateLimit));
                    return;
                }
            }

            TimeSpan? requestTimeout = null;
            if (MyInvocation.BoundParameters.ContainsKey(nameof(RequestTimeout)))
            {
                if (HexClientOptions.RequestTimeoutProblem(RequestTimeout) is string problem)
                {
                    ThrowTerminatingError(HexErrors.InvalidTimeout.Record(new PSArgumentException(problem + " Nothing was sent to Hex.", nameof(RequestTimeout)), RequestTimeout));
                    return;
                }
                requestTimeout = RequestTimeout;
            }

            var token = Token != null ? new NetworkCredential(string.Empty, Token).Password : null;
            var statePathGiven = MyInvocation.BoundParameters.ContainsKey(nameof(StatePath));
            var previous = SessionStore.GetDefault();
            HexSession session;
            try
            {
                session = Connect(this, token, BaseUri, statePathGiven ? StatePath ?? "" : null, limits, requestTimeout,
                    new StoreChoice(RunService.Given(StateStore), StateStoreCredential, statePathGiven), previous?.CurrentAccount, EventSink, StopToken);
            }
            catch (HexException error)
            {
                var target = error is StateStoreException || error.Message.Contains("-StateStore") || error.Message.Contains("HEXCOST_STATE_STORE") ? StateStore
                    : error.Kind == HexErrorKind.InvalidConfiguration && statePathGiven ? StatePath : (object?)BaseUri;
                ThrowTerminatingError(HexErrors.Record(error, target));
                return;
            }

            SessionStore.SetDefault(session);
            if (previous != null) DisconnectHexCommand.Release(previous);
            WriteVerbose($"Connected to {session.BaseUri} as {session.UserEmail ?? "a workspace token"} (org {session.OrgId}); state in {session.StatePath}; limits {session.RateLimit}.");
            if (PassThru) WriteTypedObject(session, "HexCost.Session");
        }

        /// <summary>Connects (Connect-Hex, and the implicit connect of the other cmdlets). <paramref name="token"/> null: from
        /// $env:HEX_API_TOKEN. <paramref name="statePath"/> null: not given, so $env:HEXCOST_HOME or the default; both are
        /// read as PowerShell paths (relative to $PWD, ~, PSDrives). <paramref name="limits"/> null: no preference.</summary>
        /// <exception cref="HexException">The connect failed; InvalidConfiguration for a state path that cannot be used.</exception>
        internal static HexSession Connect(HexCmdlet cmdlet, string? token, Uri? baseUri, string? statePath, RateLimitSettings? limits,
            IHexEventSink sink, CancellationToken cancellationToken) =>
            Connect(cmdlet, token, baseUri, statePath, limits, null, new StoreChoice(null, null, false), null, sink, cancellationToken);

        /// <summary>What a connect asked of the state store: -StateStore (blank: none), -StateStoreCredential, and whether
        /// -StatePath was given too.</summary>
        private sealed class StoreChoice
        {
            public StoreChoice(string? location, PSCredential? credential, bool statePathGiven)
            {
                Location = location;
                Credential = credential;
                StatePathGiven = statePathGiven;
            }

            public string? Location { get; }
            public PSCredential? Credential { get; }
            public bool StatePathGiven { get; }

            /// <summary>The Redis store to use: -StateStore, else $env:HEXCOST_STATE_STORE; null = the file store.</summary>
            /// <exception cref="HexException">InvalidConfiguration: a credential without a store, or -StatePath with one.</exception>
            public RedisStoreOptions? Resolve()
            {
                var (location, source) = Location != null ? (Location, "-StateStore")
                    : (RunService.Given(Environment.GetEnvironmentVariable("HEXCOST_STATE_STORE")), "$env:HEXCOST_STATE_STORE");
                if (location == null)
                {
                    if (Credential != null)
                        throw new HexException(HexErrorKind.InvalidConfiguration,
                            "-StateStoreCredential is for a Redis state store, and no -StateStore (nor $env:HEXCOST_STATE_STORE) names one. Add -StateStore 'rediss://host:6380', or leave the credential out.");
                    return null;
                }
                if (StatePathGiven)
                    throw new HexException(HexErrorKind.InvalidConfiguration,
                        $"-StatePath names a folder for the state and {source} a Redis server: the state is kept in one place. Give one of them.");
                if (!StateStoreParameters.IsRedis(location))
                    throw new HexException(HexErrorKind.InvalidConfiguration,
                        $"{source} '{HexIds.Show(location).Trim('\'')}' is not a Redis state store: give redis://host:port or rediss://host:port (TLS). To keep the state in a folder, use -StatePath.");
                return StateStoreParameters.Redis(location, Credential, source);
            }
        }

        private static HexSession Connect(HexCmdlet cmdlet, string? token, Uri? baseUri, string? statePath, RateLimitSettings? limits,
            TimeSpan? requestTimeout, StoreChoice store, HexAccount? replacing, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var tokenSource = token != null ? "The -Token given" : "The token in $env:HEX_API_TOKEN";
            token ??= Environment.GetEnvironmentVariable("HEX_API_TOKEN");
            var home = Environment.GetEnvironmentVariable("HEXCOST_HOME");
            var (path, source) = statePath != null ? (statePath, "-StatePath")
                : !string.IsNullOrWhiteSpace(home) ? (home, "$env:HEXCOST_HOME")
                : ((string?)null, "The default state folder");
            string? root = null;
            if (path != null)
            {
                try
                {
                    root = FileSystemPaths.Resolve(cmdlet, path, source);
                }
                catch (ArgumentException error)
                {
                    throw new HexException(HexErrorKind.InvalidConfiguration, error.Message, error);
                }
            }
            var options = new ConnectOptions
            {
                Token = token ?? "",
                TokenSource = tokenSource,
                BaseUri = baseUri,
                StatePath = root,
                StatePathSource = source,
                RateLimits = limits,
                RequestTimeout = requestTimeout,
                StateStore = store.Resolve(),
                Replacing = replacing,
            };
            var account = cmdlet.AwaitResult(HexAccountRegistry.ConnectAsync(options, sink, cancellationToken));
            return new HexSession(account);
        }
    }

    /// <summary>
    /// <para type="synopsis">Disconnects this PowerShell session from Hex.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "Hex", SupportsShouldProcess = false)]
    [OutputType(typeof(void))]
    public sealed class DisconnectHexCommand : HexCmdlet
    {
        /// <summary>The session to disconnect. Defaults to this runspace's session.</summary>
        [Parameter(ValueFromPipeline = true)]
        public HexSession? Session { get; set; }

        protected override void ProcessRecord()
        {
            var current = SessionStore.GetDefault();
            var session = Session ?? current;
            if (session == null)
            {
                WriteVerbose("Not connected; nothing to disconnect.");
                return;
            }
            if (ReferenceEquals(session, current)) SessionStore.SetDefault(null);
            Release(session);
            WriteVerbose($"Disconnected from {session.BaseUri}.");
        }

        internal static void Release(HexSession session)
        {
            var account = session.Detach();
            if (account != null) HexAccountRegistry.Release(account);
        }
    }
}
