using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Limits;
using HexCost.State;

namespace HexCost.Session
{
    public sealed class ConnectOptions
    {
        public const string DefaultBaseUri = "https://app.hex.tech/api/v1";

        public Uri? BaseUri { get; set; }
        /// <summary>The API token; spaces and line breaks around it are trimmed.</summary>
        public string Token { get; set; } = "";
        /// <summary>Where the token came from, for messages (never the token itself).</summary>
        public string TokenSource { get; set; } = "The token";
        /// <summary>The state root as a full path; null = <see cref="StateFiles.DefaultRoot"/>.</summary>
        public string? StatePath { get; set; }
        /// <summary>Where <see cref="StatePath"/> came from, for messages (e.g. -StatePath).</summary>
        public string StatePathSource { get; set; } = "The state path";
        /// <summary>A shared state store on a Redis server (Connect-Hex -StateStore, $env:HEXCOST_STATE_STORE); null = the file
        /// store under the state path. Never falls back to a file when the server cannot be reached.</summary>
        public RedisStoreOptions? StateStore { get; set; }
        /// <summary>Limits asked for; null = no preference (Hex's documented limits for an account not yet connected, and
        /// whatever is in force for one that is).</summary>
        public RateLimitSettings? RateLimits { get; set; }
        /// <summary>The account of the session this connect replaces. When no one else holds it, the connect starts afresh
        /// with what it asked for (state path, limits) instead of keeping the account's.</summary>
        public HexAccount? Replacing { get; set; }
        public HexClientOptions Client { get; set; } = new HexClientOptions();
        /// <summary>Connect-Hex -RequestTimeout: how long one request may take; null = the account's (30 s for a new one).
        /// One HTTP client serves every runspace of the account, so the last connect that gives one sets it for all.</summary>
        public TimeSpan? RequestTimeout { get; set; }
        public HexRunOptions Runs { get; set; } = new HexRunOptions();
        /// <summary>The account's clock: every time HexCost reads, records or waits for. Defaults to <see cref="HexAccountRegistry.DefaultTime"/>.</summary>
        public TimeProvider Time { get; set; } = HexAccountRegistry.DefaultTime;
        /// <summary>For tests: the HTTP handler to send through.</summary>
        public HttpMessageHandler? Handler { get; set; }
    }

    /// <summary>
    /// The process-wide table of accounts. Connecting twice with the same base URI and token (from any runspace or
    /// thread) yields the same <see cref="HexAccount"/>, so its limiter, ledger and cache are shared, never multiplied.
    /// </summary>
    public static class HexAccountRegistry
    {
        private static readonly ConcurrentDictionary<string, Lazy<SharedWork<HexAccount>>> Accounts = new ConcurrentDictionary<string, Lazy<SharedWork<HexAccount>>>();

        /// <summary>The clock of accounts connected without one of their own (Connect-Hex, implicit connects): the system's.
        /// Tests set it to a pinned clock shared with their Hex emulator, so results do not depend on the day they run.</summary>
        public static TimeProvider DefaultTime { get; set; } = TimeProvider.System;

        public static Uri ResolveBaseUri(Uri? requested)
        {
            var text = requested?.OriginalString;
            if (string.IsNullOrWhiteSpace(text)) text = Environment.GetEnvironmentVariable("HEX_API_BASE_URL");
            if (string.IsNullOrWhiteSpace(text)) text = ConnectOptions.DefaultBaseUri;
            if (!Uri.TryCreate(text!.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                throw new HexException(HexErrorKind.InvalidConfiguration,
                    $"-BaseUri '{text}' is not an absolute http(s) URI. Give Hex's API base, e.g. {ConnectOptions.DefaultBaseUri} (or https://eu.hex.tech/api/v1).");
            }
            if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
            {
                throw new HexException(HexErrorKind.InsecureBaseUri,
                    $"HexCost sends the API token only over https, and '{uri.GetLeftPart(UriPartial.Authority)}' is plain http to a host that is not this machine. Use https://{uri.Authority}{uri.AbsolutePath} (plain http is allowed only to localhost/127.0.0.1/[::1]).");
            }
            if (!string.IsNullOrEmpty(uri.UserInfo))
            {
                throw new HexException(HexErrorKind.InvalidConfiguration, "The base URI must not carry a user name or password; give the token with -Token or $env:HEX_API_TOKEN.");
            }
            return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/'));
        }

        public static async Task<HexAccount> ConnectAsync(ConnectOptions options, IHexEventSink? sink, CancellationToken cancellationToken)
        {
            var token = CheckToken(options);
            var baseUri = ResolveBaseUri(options.BaseUri);
            if (options.RequestTimeout is TimeSpan requestTimeout) options.Client.AttemptTimeout = requestTimeout;
            options.StateStore?.Parse(); // a location that cannot be a Redis server fails before any request
            // A Redis store keeps the state on the server: no state folder is made (not even when the server cannot be reached).
            var stateRoot = StateFiles.PrepareRoot(options.StatePath, options.StatePathSource, create: options.StateStore == null);
            var key = baseUri.AbsoluteUri.ToLowerInvariant() + "|" + Fingerprint(token);
            Lazy<SharedWork<HexAccount>>? replaced = null;
            while (true)
            {
                // One connect per account, on a lifetime of its own: a caller that stops (Ctrl+C) ends its own wait, not the
                // connect another runspace waits for too; each caller hears the connect's retries on its own sink.
                var lazy = Accounts.GetOrAdd(key, k => new Lazy<SharedWork<HexAccount>>(() =>
                    new SharedWork<HexAccount>(CancellationToken.None, (shared, ct) => CreateAsync(k, baseUri, token, stateRoot, options, shared, ct))));
                HexAccount account;
                try
                {
                    account = await lazy.Value.WaitAsync(sink ?? NullEventSink.Instance, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    if (lazy.Value.Task.IsCompleted && lazy.Value.Task.Status != TaskStatus.RanToCompletion)
                    {
                        ((ICollection<KeyValuePair<string, Lazy<SharedWork<HexAccount>>>>)Accounts).Remove(new KeyValuePair<string, Lazy<SharedWork<HexAccount>>>(key, lazy));
                        // The account this connect was to replace stays the one of its session.
                        if (replaced != null) Accounts.TryAdd(key, replaced);
                    }
                    throw;
                }
                if (account.IsDisposed || account.Store is FileStateStore { IsGone: true })
                {
                    // Disposed, or its state folder was deleted under it: connect afresh (its own sessions keep it until released).
                    ((ICollection<KeyValuePair<string, Lazy<SharedWork<HexAccount>>>>)Accounts).Remove(new KeyValuePair<string, Lazy<SharedWork<HexAccount>>>(key, lazy));
                    continue;
                }
                var otherState = !string.Equals(account.Store.Location, new StateStoreOptions { StateRoot = stateRoot, Server = options.StateStore }.LocationFor(account.OrgId), StringComparison.Ordinal);
                var asked = options.RateLimits;
                var otherLimits = asked != null && asked.ToString() != account.Limiter.Settings.ToString();
                if ((otherState || otherLimits) && ReferenceEquals(account, options.Replacing) && account.References == 1
                    && ((ICollection<KeyValuePair<string, Lazy<SharedWork<HexAccount>>>>)Accounts)
                        .Remove(new KeyValuePair<string, Lazy<SharedWork<HexAccount>>>(key, lazy)))
                {
                    // Only the session being replaced holds the account: connect afresh, as asked. The old account ends
                    // when that session is released.
                    replaced = lazy;
                    continue;
                }
                if (otherState && (!string.IsNullOrWhiteSpace(options.StatePath) || options.StateStore != null))
                {
                    var askedState = options.StateStore != null ? options.StateStore.Parse().Location : $"{options.StatePathSource} {stateRoot}";
                    sink?.Warning($"This account is already connected in this process, by another runspace, with its state in {account.Store.Location}; "
                                  + $"{askedState} is not used, since one ledger and budget serve every runspace of the account. "
                                  + "Disconnect-Hex in the other runspaces first to move it.");
                }
                if (asked != null) ApplyLimits(account, asked, sink);
                if (options.RequestTimeout is TimeSpan timeout && timeout != account.Client.RequestTimeout)
                {
                    sink?.Verbose($"The account is shared with other runspaces of this process; each request of any of them may now take {timeout.TotalSeconds:0.#} s (was {account.Client.RequestTimeout.TotalSeconds:0.#} s).");
                    account.Client.RequestTimeout = timeout;
                }
                account.AddReference();
                return account;
            }
        }

        /// <summary>The limits of an account other runspaces share: a stricter window asked for is added (every runspace then
        /// keeps to it); one the account is stricter than stays, with a warning.</summary>
        private static void ApplyLimits(HexAccount account, RateLimitSettings asked, IHexEventSink? sink)
        {
            var inForce = account.Limiter.Settings;
            var merged = new Hashtable();
            var added = new List<string>();
            var kept = new List<string>();
            foreach (var group in inForce.Groups)
            {
                var windows = inForce[group].ToList();
                foreach (var window in asked[group])
                {
                    if (windows.Any(w => Implies(w, window))) continue;
                    windows.Add(window);
                    added.Add($"{group} {window}");
                }
                foreach (var window in inForce[group])
                {
                    if (!asked[group].Any(w => Implies(w, window))) kept.Add($"{group} {window}");
                }
                merged[group.ToString()] = windows.Select(w => w.ToString()).ToArray();
            }
            if (added.Count > 0)
            {
                account.Limiter.Tighten(RateLimitSettings.Parse(merged));
                sink?.Verbose($"The account is shared with other runspaces of this process; its limiter now also keeps to {string.Join(", ", added)}, for all of them.");
            }
            if (kept.Count > 0)
            {
                sink?.Warning($"This account is already connected in this process, by another runspace, with stricter limits: {string.Join(", ", kept)} stay in force "
                              + $"(now {account.Limiter.Settings}), since one limiter serves every runspace. Disconnect-Hex in the other runspaces first to loosen them.");
            }
        }

        /// <summary>Keeping to <paramref name="held"/> keeps to <paramref name="other"/> too: no more requests fit in any span of
        /// <paramref name="other"/>'s window than it allows (2/3s lets at most 40 through in a minute, so it keeps to 10000/1m).</summary>
        internal static bool Implies(RateWindow held, RateWindow other)
        {
            if (held.Window >= other.Window) return held.Limit <= other.Limit;
            var windows = Math.Ceiling((double)other.Window.Ticks / held.Window.Ticks);
            return held.Limit * windows <= other.Limit;
        }

        /// <summary>The token, trimmed; refused before any request when it is missing, empty or holds what no token has.</summary>
        private static string CheckToken(ConnectOptions options)
        {
            if (string.IsNullOrEmpty(options.Token))
            {
                throw new HexException(HexErrorKind.NotConnected,
                    "No Hex API token was given. Pass -Token (a SecureString, e.g. from Get-Secret) or set $env:HEX_API_TOKEN.");
            }
            var token = options.Token.Trim();
            if (token.Length == 0)
            {
                throw new HexException(HexErrorKind.AuthFailed,
                    $"{options.TokenSource} is only spaces or line breaks; no request was sent. Copy the token again from Hex (Settings > API keys).");
            }
            for (var i = 0; i < token.Length; i++)
            {
                if (token[i] > ' ' && token[i] < '\u007f') continue;
                var what = char.IsWhiteSpace(token[i]) ? "a space or line break" : char.IsControl(token[i]) ? "a control character" : "a character that is not plain ASCII";
                throw new HexException(HexErrorKind.AuthFailed,
                    $"{options.TokenSource} holds {what} at position {(i + 1).ToString(CultureInfo.InvariantCulture)} of {token.Length.ToString(CultureInfo.InvariantCulture)}, "
                    + "which no Hex token has; no request was sent. Copy the token again from Hex (Settings > API keys), as one line.");
            }
            return token;
        }

        /// <summary>Drops one reference; the last one disposes the account and forgets it.</summary>
        public static void Release(HexAccount account)
        {
            if (account.RemoveReference() > 0) return;
            if (Accounts.TryGetValue(account.Key, out var lazy) && lazy.IsValueCreated && lazy.Value.Task.Status == TaskStatus.RanToCompletion && lazy.Value.Task.Result == account)
            {
                ((ICollection<KeyValuePair<string, Lazy<SharedWork<HexAccount>>>>)Accounts).Remove(new KeyValuePair<string, Lazy<SharedWork<HexAccount>>>(account.Key, lazy));
            }
            account.Dispose();
        }

        private static async Task<HexAccount> CreateAsync(string key, Uri baseUri, string token, string stateRoot, ConnectOptions options, IHexEventSink? sink, CancellationToken cancellationToken)
        {
            var limiter = new HexRateLimiter(options.RateLimits ?? RateLimitSettings.Default, options.Time);
            var client = new HexApiClient(baseUri, token, limiter, options.Client, options.Time, options.Handler);
            IHexStateStore? store = null;
            try
            {
                var me = await client.GetMeAsync(sink, cancellationToken).ConfigureAwait(false);
                var orgId = me.Org?.Id ?? throw new HexException(HexErrorKind.UnexpectedResponse,
                    "Hex's /users/me answer has no org id, so HexCost cannot tell which workspace this token belongs to. Check -BaseUri points at Hex's API.");
                try
                {
                    store = await StateStores.OpenAsync(new StateStoreOptions { StateRoot = stateRoot, Server = options.StateStore }, orgId, options.Time, sink, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw new HexException(HexErrorKind.InvalidConfiguration,
                        $"HexCost cannot keep its state under {stateRoot} ({ex.Message}). Give {options.StatePathSource} a folder you may write to.", ex);
                }
                var account = new HexAccount(key, client, me, orgId, store, stateRoot, options.Time, options.Runs);
                try
                {
                    await account.StartLeaseAsync(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    account.Dispose();
                    throw;
                }
                return account;
            }
            catch
            {
                store?.Dispose();
                client.Dispose();
                limiter.Dispose();
                throw;
            }
        }

        private static bool IsLoopback(Uri uri)
        {
            if (uri.IsLoopback) return true;
            return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
        }

        private static string Fingerprint(string token)
        {
            using var sha = SHA256.Create();
            var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(token));
            return string.Concat(hash.Take(12).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }
    }
}
