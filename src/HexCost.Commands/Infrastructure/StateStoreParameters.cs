using System;
using System.Management.Automation;
using HexCost.Api;
using HexCost.State;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>A Redis state store named on the command line (Connect-Hex -StateStore, Copy-HexState -Destination).</summary>
    internal static class StateStoreParameters
    {
        public static bool IsRedis(string? location) =>
            location != null && (location.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase));

        /// <summary>The store <paramref name="location"/> names, with the ACL user and password of <paramref name="credential"/>.</summary>
        /// <exception cref="HexException">InvalidConfiguration: not a Redis location; the message starts with <paramref name="source"/>.</exception>
        public static RedisStoreOptions Redis(string location, PSCredential? credential, string source)
        {
            var options = new RedisStoreOptions(location);
            if (credential != null)
            {
                options.User = credential.UserName.TrimStart('\\');
                options.Password = credential.GetNetworkCredential().Password;
            }
            try
            {
                options.Parse();
            }
            catch (HexException bad)
            {
                throw new HexException(bad.Kind, source + ": " + bad.Message, bad);
            }
            return options;
        }
    }
}
