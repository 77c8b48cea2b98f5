using System;
using HexCost.Api;

namespace HexCost.Session
{
    /// <summary>A runspace's handle on a shared <see cref="HexAccount"/>. Holds no token. PSTypeName HexCost.Session.</summary>
    public sealed class HexSession
    {
        private HexAccount? _account;

        private readonly Limits.HexRateLimiter _limiter;
        private readonly HexApiClient _client;

        public HexSession(HexAccount account)
        {
            _account = account;
            _limiter = account.Limiter;
            _client = account.Client;
            BaseUri = account.Client.BaseUri.AbsoluteUri;
            OrgId = account.OrgId;
            UserId = account.UserId;
            UserEmail = account.UserEmail;
            Role = account.Role;
            StatePath = account.Store is State.FileStateStore ? account.StateDirectory : null;
            StateStore = account.Store.Location;
            TokenExpires = account.TokenExpires;
            ConnectedAt = account.Time.GetUtcNow().UtcDateTime;
        }

        public string BaseUri { get; }
        public string OrgId { get; }
        public string? UserId { get; }
        public string? UserEmail { get; }
        public string? Role { get; }
        /// <summary>This workspace's state folder (ledger, index, permits) with the file store; null with a Redis store.</summary>
        public string? StatePath { get; }
        /// <summary>Where the state every process and host of this account shares is kept: the workspace's folder, or the Redis
        /// server (redis://host:port, never with credentials).</summary>
        public string StateStore { get; }
        public DateTime? TokenExpires { get; }
        /// <summary>The limits in force for the account: the ones asked for, or the stricter ones of the account other
        /// runspaces share (read live, so a runspace that tightens them shows here too).</summary>
        public string RateLimit => _limiter.Settings.ToString();
        /// <summary>How long one request may take before HexCost gives up on it (Connect-Hex -RequestTimeout), read live.</summary>
        public TimeSpan RequestTimeout => _client.RequestTimeout;
        public DateTime ConnectedAt { get; }
        public bool IsConnected => _account != null && !_account.IsDisposed;

        /// <summary>The shared account behind this session.</summary>
        /// <exception cref="HexException">The session was disconnected.</exception>
        public HexAccount GetAccount()
        {
            var account = _account;
            if (account == null || account.IsDisposed)
            {
                throw new HexException(HexErrorKind.NotConnected,
                    $"This Hex session ({UserEmail} at {BaseUri}) was disconnected. Run Connect-Hex again.");
            }
            return account;
        }

        /// <summary>The account while the session is connected, else null.</summary>
        internal HexAccount? CurrentAccount => _account is HexAccount account && !account.IsDisposed ? account : null;

        /// <summary>Detaches from the account; returns it once (to release), then null.</summary>
        public HexAccount? Detach() => System.Threading.Interlocked.Exchange(ref _account, null);

        public override string ToString() => $"{UserEmail ?? UserId ?? "workspace token"} @ {BaseUri} (org {OrgId})";
    }
}
