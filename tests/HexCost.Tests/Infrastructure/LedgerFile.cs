using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.State;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>A workspace folder's ledger as the file store keeps it, for tests that read it back or plant records in it.</summary>
    internal static class LedgerFile
    {
        public static string PathOf(string workspaceDirectory) => Path.Combine(workspaceDirectory, FileStateStore.LedgerFileName);

        /// <summary>Every record, in order (damaged lines skipped, as every reader skips them).</summary>
        public static IReadOnlyList<LedgerRecord> ReadAll(string workspaceDirectory)
        {
            using var store = new FileStateStore(workspaceDirectory);
            var records = new List<LedgerRecord>();
            string? cursor = null;
            while (true)
            {
                var page = store.ReadRecordsAsync(cursor, 5000, default).GetAwaiter().GetResult();
                records.AddRange(page.Records);
                if (page.Records.Count == 0 || page.Next == cursor) return records;
                cursor = page.Next;
            }
        }

        /// <summary>Appends records as they are, touching no index entry (a raw write, like a file an older HexCost left).</summary>
        public static void AppendRaw(string workspaceDirectory, params LedgerRecord[] records)
        {
            using var store = new FileStateStore(workspaceDirectory);
            var commit = new StoreCommit();
            commit.Records.AddRange(records);
            Assert(store.CommitAsync(commit, default).GetAwaiter().GetResult().Committed);
        }

        /// <summary>Records as another HexCost session (owner <paramref name="owner"/>) would: with the index entries the record changes.</summary>
        public static async Task RecordAsync(string workspaceDirectory, LedgerRecord record, string owner)
        {
            using var store = new FileStateStore(workspaceDirectory, TestClock.Shared);
            await new WorkspaceState(store, owner, record.User).RecordAsync(record, default);
        }

        /// <summary>Writes lines in the ledger's format straight to the file: a ledger of HexCost before the state store.</summary>
        public static void WriteLegacy(string workspaceDirectory, IEnumerable<LedgerRecord> records)
        {
            Directory.CreateDirectory(workspaceDirectory);
            File.AppendAllLines(PathOf(workspaceDirectory), records.Select(r => System.Text.Json.JsonSerializer.Serialize(r, FileStateStore.LedgerJson)));
        }

        private static void Assert(bool committed)
        {
            if (!committed) throw new System.InvalidOperationException("an unconditional commit was refused");
        }
    }
}
