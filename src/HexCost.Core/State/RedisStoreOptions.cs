using System;
using System.Globalization;
using HexCost.Api;

namespace HexCost.State
{
    /// <summary>Where and how to reach the Redis server of a shared state store (<see cref="RedisStateStore.ConnectAsync"/>).
    /// Holds no StackExchange.Redis type, so a session can carry it without loading the Redis client.</summary>
    public sealed class RedisStoreOptions
    {
        public RedisStoreOptions(string uri)
        {
            Uri = uri;
        }

        /// <summary><c>redis://host:port[/db]</c>, or <c>rediss://</c> for TLS; a user name may stand before the host
        /// (<c>redis://user@host:6379</c>).</summary>
        public string Uri { get; }

        /// <summary>The ACL user (overrides a user in the URI); null: the URI's, else the default user.</summary>
        public string? User { get; set; }

        /// <summary>The password (never logged nor shown in a message).</summary>
        public string? Password { get; set; }

        /// <summary>How long connecting may take before the server counts as unreachable.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>How long one operation may wait for its answer (or for a server that is loading its data) before the store
        /// counts as busy.</summary>
        public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(10);

        /// <summary>For rediss://: a PEM or DER file of the certificate authority that issued the server's certificate, when
        /// the machine does not trust it already (a private CA).</summary>
        public string? TrustedCertificateAuthorityPath { get; set; }

        /// <summary>The URI, parsed: host, port, database, TLS and the location to show (without user or password).</summary>
        internal RedisEndpoint Parse()
        {
            if (string.IsNullOrWhiteSpace(Uri)) throw Invalid("no URI was given");
            if (!System.Uri.TryCreate(Uri.Trim(), UriKind.Absolute, out var uri)) throw Invalid("it is not a URI");
            var tls = string.Equals(uri.Scheme, "rediss", StringComparison.OrdinalIgnoreCase);
            if (!tls && !string.Equals(uri.Scheme, "redis", StringComparison.OrdinalIgnoreCase)) throw Invalid("the scheme must be redis:// or rediss://");
            if (string.IsNullOrEmpty(uri.Host)) throw Invalid("it names no host");
            if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)) throw Invalid("it may not carry a query or fragment");
            var port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port;
            var database = 0;
            var path = uri.AbsolutePath.Trim('/');
            if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database > 15_000))
                throw Invalid("the path must be a database number, such as /0");
            string? user = null, password = null;
            if (!string.IsNullOrEmpty(uri.UserInfo))
            {
                var parts = uri.UserInfo.Split(new[] { ':' }, 2);
                user = System.Uri.UnescapeDataString(parts[0]);
                if (parts.Length > 1) password = System.Uri.UnescapeDataString(parts[1]);
                if (user.Length == 0) user = null;
            }
            var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
            var shown = uri.HostNameType == UriHostNameType.IPv6 ? "[" + host + "]" : host;
            var location = (tls ? "rediss" : "redis") + "://" + shown + ":" + port.ToString(CultureInfo.InvariantCulture)
                           + (database != 0 ? "/" + database.ToString(CultureInfo.InvariantCulture) : "");
            return new RedisEndpoint(host, port, database, tls, location, shown + ":" + port.ToString(CultureInfo.InvariantCulture),
                string.IsNullOrEmpty(User) ? user : User, Password ?? password);
        }

        private HexException Invalid(string why)
        {
            var shown = Uri ?? "";
            var at = shown.LastIndexOf('@');
            var scheme = shown.IndexOf("://", StringComparison.Ordinal);
            if (at >= 0) shown = (scheme >= 0 ? shown.Substring(0, scheme + 3) : "") + "…@" + shown.Substring(at + 1);
            return new HexException(HexErrorKind.InvalidConfiguration,
                $"'{shown}' is not a Redis state store location: {why}. Give redis://host:port[/db] or rediss://host:port[/db] (TLS).");
        }
    }

    internal sealed class RedisEndpoint
    {
        public RedisEndpoint(string host, int port, int database, bool tls, string location, string hostPort, string? user, string? password)
        {
            Host = host;
            Port = port;
            Database = database;
            Tls = tls;
            Location = location;
            HostPort = hostPort;
            User = user;
            Password = password;
        }

        public string Host { get; }
        public int Port { get; }
        public int Database { get; }
        public bool Tls { get; }
        public string Location { get; }
        public string HostPort { get; }
        public string? User { get; }
        public string? Password { get; }
    }
}
