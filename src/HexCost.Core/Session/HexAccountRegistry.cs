using System;
using System.Collections.Concurrent;
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

namespace HexCost.Session
{
    public sealed class ConnectOptions
    {
        public const string DefaultBaseUri = "https://app.hex.tech/api/v1";

        public Uri? BaseUri { get; set; }
        public string Token { get; set; } = "";
        public string? StatePath { get; set; }
        public RateLimitSettings RateLimits { get; set; } = RateLimitSettings.Default;
        public HexClientOptions Client { get; set; } = new HexClientOptions();
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
        private static readonly ConcurrentDictionary<string, Lazy<Task<HexAccount>>> Accounts = new ConcurrentDictionary<string, Lazy<Task<HexAccount>>>();

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
                    $"'{text}' is not an absolute http(s) URI. Give Hex's API base, e.g. {ConnectOptions.DefaultBaseUri} (or https://eu.hex.tech/api/v1).");
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
            if (string.IsNullOrWhiteSpace(options.Token))
            {
                throw new HexException(HexErrorKind.NotConnected,
                    "No Hex API token was given. Pass -Token (a SecureString, e.g. from Get-Secret) or set $env:HEX_API_TOKEN.");
            }
            var baseUri = ResolveBaseUri(options.BaseUri);
            var stateRoot = Path.GetFullPath(string.IsNullOrWhiteSpace(options.StatePath) ? StateFiles.DefaultRoot() : options.StatePath!);
            var key = baseUri.AbsoluteUri.ToLowerInvariant() + "|" + Fingerprint(options.Token);
            while (true)
            {
                var lazy = Accounts.GetOrAdd(key, k => new Lazy<Task<HexAccount>>(() => CreateAsync(k, baseUri, stateRoot, options, sink, cancellationToken)));
                HexAccount account;
                try
                {
                    account = await lazy.Value.ConfigureAwait(false);
                }
                catch
                {
                    Accounts.TryRemove(key, out _);
                    throw;
                }
                if (account.IsDisposed)
                {
                    Accounts.TryRemove(key, out _);
                    continue;
                }
                if (!string.Equals(account.StateRoot, stateRoot, StringComparison.Ordinal))
                {
                    sink?.Warning($"This account is already connected in this process with state in {account.StateRoot}; HexCost keeps using it (one ledger and limiter per account). Disconnect-Hex everywhere first to move it.");
                }
                if (account.Limiter.Settings.ToString() != options.RateLimits.ToString())
                {
                    sink?.Warning($"This account is already connected in this process with the limits {account.Limiter.Settings}; HexCost keeps them, since one limiter serves every runspace. Disconnect-Hex everywhere first to change them.");
                }
                account.AddReference();
                return account;
            }
        }

        /// <summary>Drops one reference; the last one disposes the account and forgets it.</summary>
        public static void Release(HexAccount account)
        {
            if (account.RemoveReference() > 0) return;
            if (Accounts.TryGetValue(account.Key, out var lazy) && lazy.IsValueCreated && lazy.Value.Status == TaskStatus.RanToCompletion && lazy.Value.Result == account)
            {
                Accounts.TryRemove(account.Key, out _);
            }
            account.Dispose();
        }

        private static async Task<HexAccount> CreateAsync(string key, Uri baseUri, string stateRoot, ConnectOptions options, IHexEventSink? sink, CancellationToken cancellationToken)
        {
            var limiter = new HexRateLimiter(options.RateLimits, options.Time);
            var client = new HexApiClient(baseUri, options.Token, limiter, options.Client, options.Time, options.Handler);
            try
            {
                var me = await client.GetMeAsync(sink, cancellationToken).ConfigureAwait(false);
                return new HexAccount(key, client, me, stateRoot, options.Time, options.Runs);
            }
            catch
            {
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
