using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using HexCost.Session;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>Each runspace's default session. Nothing process-wide: two runspaces connect independently
    /// (and share the account underneath through <see cref="HexAccountRegistry"/>).</summary>
    internal static class SessionStore
    {
        private static readonly ConditionalWeakTable<Runspace, Holder> Defaults = new ConditionalWeakTable<Runspace, Holder>();

        public static HexSession? GetDefault()
        {
            var runspace = Runspace.DefaultRunspace;
            if (runspace == null) return null;
            return Defaults.TryGetValue(runspace, out var holder) ? holder.Session : null;
        }

        public static void SetDefault(HexSession? session)
        {
            var runspace = Runspace.DefaultRunspace;
            if (runspace == null) return;
            Defaults.GetValue(runspace, _ => new Holder()).Session = session;
        }

        private sealed class Holder
        {
            public HexSession? Session;
        }
    }
}
