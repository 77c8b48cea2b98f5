using System;
using System.Management.Automation;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Runs;
using HexCost.State;

namespace HexCost.Commands
{
    /// <summary>
    /// <para type="synopsis">Copies the session's workspace state (ledger, spend policy, history) into another state store.</para>
    /// <para type="description">Moves a workspace from one machine to many: every ledger record once, with the idempotency keys,
    /// cached runs and run budget they imply, and the documents the destination lacks. Running it again adds nothing.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Copy, "HexState", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(StateCopyResult))]
    public sealed class CopyHexStateCommand : HexSessionCmdlet
    {
        /// <summary>Where to copy to: a Redis state store (redis://host:port or rediss://host:port), or a state folder (another
        /// -StatePath) as a PowerShell path.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        public string Destination { get; set; } = "";

        /// <summary>The Redis ACL user and password for a Redis -Destination.</summary>
        [Parameter]
        [Credential]
        public PSCredential? DestinationCredential { get; set; }

        /// <summary>Writes what was copied (HexCost.StateCopy).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void EndProcessing()
        {
            var source = Account.Store;
            StateStoreOptions target;
            try
            {
                target = Target();
            }
            catch (ArgumentException error)
            {
                ThrowTerminatingError(HexErrors.InvalidConfiguration.Record(error, Destination));
                return;
            }
            catch (HexException error)
            {
                ThrowTerminatingError(HexErrors.Record(error, Destination));
                return;
            }
            var location = target.LocationFor(Account.OrgId);
            if (string.Equals(location, source.Location, StringComparison.Ordinal))
            {
                ThrowTerminatingError(HexErrors.InvalidConfiguration.Record(new ArgumentException(
                    $"-Destination '{location}' is the store this session already uses; give another state folder or store.", nameof(Destination)), Destination));
                return;
            }
            if (!ShouldProcess(location, $"Copy the HexCost state of workspace {Account.OrgId} from {source.Location}")) return;

            IHexStateStore? destination = null;
            try
            {
                if (target.Server == null) target.StateRoot = Ledger.StateFiles.PrepareRoot(target.StateRoot, "-Destination");
                destination = Await(StateStores.OpenAsync(target, Account.OrgId, Account.Time, EventSink, StopToken));
                var result = Await(StateCopy.CopyAsync(source, destination, EventSink, StopToken));
                WriteVerbose($"Copied {result.RecordsCopied} ledger records and {result.DocumentsCopied} documents from {result.Source} to {result.Destination} "
                             + $"({result.RecordsAlreadyCopied} records were there from an earlier copy; {result.DocumentsKept} documents kept as the destination had them).");
                if (PassThru) WriteTypedObject(result, "HexCost.StateCopy");
            }
            catch (HexException error)
            {
                WriteHexError(error, Destination);
            }
            finally
            {
                destination?.Dispose();
            }
        }

        /// <summary>The store -Destination names: a Redis URI, else a state folder read as PowerShell reads paths.</summary>
        private StateStoreOptions Target()
        {
            var given = RunService.Given(Destination);
            if (StateStoreParameters.IsRedis(given)) return new StateStoreOptions { Server = StateStoreParameters.Redis(given!, DestinationCredential, "-Destination") };
            if (DestinationCredential != null)
                throw new ArgumentException("-DestinationCredential is for a Redis -Destination (redis:// or rediss://); a state folder takes none.", nameof(DestinationCredential));
            return new StateStoreOptions { StateRoot = System.IO.Path.GetFullPath(FileSystemPaths.Resolve(this, Destination, "-Destination")) };
        }
    }
}
