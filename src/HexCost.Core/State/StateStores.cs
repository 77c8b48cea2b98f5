using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Infrastructure;
using HexCost.Ledger;

namespace HexCost.State
{
    /// <summary>Where a workspace's state is kept: a folder (the file store, the default), or a shared server.</summary>
    public sealed class StateStoreOptions
    {
        /// <summary>The state root (full path): the file store keeps each workspace in a folder under it.</summary>
        public string StateRoot { get; set; } = "";

        /// <summary>A shared store on a Redis server (Connect-Hex -StateStore); null = the file store under <see cref="StateRoot"/>.</summary>
        public RedisStoreOptions? Server { get; set; }

        /// <summary>Where the workspace's state is, as the store will say it (<see cref="IHexStateStore.Location"/>).</summary>
        public string LocationFor(string orgId) => Server != null ? Server.Parse().Location : System.IO.Path.GetFullPath(StateFiles.WorkspaceDirectory(StateRoot, orgId));
    }

    /// <summary>Opens a workspace's state store: the one place that knows which store a configuration means.</summary>
    public static class StateStores
    {
        /// <summary>The workspace's store. The file store (the workspace's folder under the state root): a folder that holds
        /// only a ledger written before the state engine (HexCost 0.1) is migrated first: its index is built from every record,
        /// so idempotency keys, cached runs and the week's run budget carry over; nothing of the ledger is rewritten.</summary>
        public static async Task<IHexStateStore> OpenAsync(StateStoreOptions options, string orgId, TimeProvider time, IHexEventSink? sink, CancellationToken cancellationToken)
        {
            if (options.Server != null) return await OpenServerAsync(options.Server, orgId, sink, cancellationToken).ConfigureAwait(false);
            var store = new FileStateStore(StateFiles.WorkspaceDirectory(options.StateRoot, orgId), time);
            try
            {
                if (store.HasLegacyLedgerOnly) await MigrateAsync(store, sink, cancellationToken).ConfigureAwait(false);
                return store;
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        private static readonly HashSet<string> Warned = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>The Redis store. Once per process and server, a server that could lose or evict records (or that does not
        /// let HexCost look) is said.</summary>
        private static async Task<IHexStateStore> OpenServerAsync(RedisStoreOptions server, string orgId, IHexEventSink? sink, CancellationToken cancellationToken)
        {
            var store = await RedisStateStore.ConnectAsync(server, orgId, cancellationToken).ConfigureAwait(false);
            try
            {
                bool first;
                lock (Warned) first = Warned.Add(store.Location);
                if (first)
                {
                    foreach (var warning in await store.DurabilityWarningsAsync(cancellationToken).ConfigureAwait(false)) sink?.Warning(warning);
                }
                return store;
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        /// <summary>Builds the index of a ledger written before the state engine, from every record in order.</summary>
        internal static async Task MigrateAsync(FileStateStore store, IHexEventSink? sink, CancellationToken cancellationToken)
        {
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            var runs = new List<BudgetEntry>();
            var count = 0;
            string? cursor = null;
            while (true)
            {
                var page = await store.ReadRecordsAsync(cursor, 5000, cancellationToken).ConfigureAwait(false);
                foreach (var record in page.Records)
                {
                    count++;
                    LedgerIndex.Apply(values, record, runs);
                }
                if (page.Records.Count == 0 || page.Next == cursor) break;
                cursor = page.Next;
            }
            var now = await store.NowAsync(cancellationToken).ConfigureAwait(false);
            var recent = runs.Where(r => r.At > now - TimeSpan.FromDays(8)).ToList();
            await store.SeedIndexAsync(values.Where(v => v.Value != null).ToList(), recent, cancellationToken).ConfigureAwait(false);
            sink?.Verbose($"Migrated the state in {store.Location}: indexed {count} ledger records ({values.Count(v => v.Value != null)} entries, {recent.Count} runs of the last week).");
        }
    }
}
