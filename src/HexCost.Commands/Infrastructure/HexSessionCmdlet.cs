using System;
using System.Management.Automation;
using HexCost.Api;
using HexCost.Session;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>A cmdlet that talks to Hex: takes -Session, else the runspace's default session, else connects
    /// implicitly from $env:HEX_API_TOKEN, else fails with HexNotConnected.</summary>
    public abstract class HexSessionCmdlet : HexCmdlet
    {
        /// <summary>The session to use (from Connect-Hex -PassThru). Defaults to this runspace's session.</summary>
        [Parameter]
        [ValidateNotNull]
        public HexSession? Session { get; set; }

        private HexAccount? _account;

        protected HexAccount Account => _account ??= ResolveAccount();

        private HexAccount ResolveAccount()
        {
            try
            {
                var session = Session ?? SessionStore.GetDefault();
                if (session == null && !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("HEX_API_TOKEN")))
                {
                    WriteVerbose("Not connected in this runspace; connecting with $env:HEX_API_TOKEN.");
                    session = ConnectHexCommand.Connect(this, null, null, null, null, EventSink, StopToken);
                    SessionStore.SetDefault(session);
                }
                if (session == null)
                {
                    throw new HexException(HexErrorKind.NotConnected,
                        "Not connected to Hex in this session. Run Connect-Hex (with -Token, or set $env:HEX_API_TOKEN) first, or pass -Session.");
                }
                return session.GetAccount();
            }
            catch (HexException error)
            {
                ThrowTerminatingError(HexErrors.Record(error, Session));
                throw;
            }
        }

        /// <summary>Runs core work, turning a core error into an ErrorRecord on <paramref name="target"/>.
        /// Returns false when an error was written.</summary>
        protected bool TryAwait<T>(System.Threading.Tasks.Task<T> task, object? target, out T result)
        {
            try
            {
                result = Await(task);
                return true;
            }
            catch (HexException error)
            {
                WriteHexError(error, target);
            }
            result = default!;
            return false;
        }
    }
}
