using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Infrastructure;
using HexCost.Ledger;

namespace HexCost.State
{
    /// <summary>What Copy-HexState did. PSTypeName HexCost.StateCopy.</summary>
    public sealed class StateCopyResult
    {
        public string Source { get; set; } = "";
        public string Destination { get; set; } = "";
        /// <summary>Records appended to the destination by this copy.</summary>
        public int RecordsCopied { get; set; }
        /// <summary>Records an earlier copy from the same source already brought (not appended again).</summary>
        public int RecordsAlreadyCopied { get; set; }
        /// <summary>Documents (the spend policy, the credit snapshot) written to the destination.</summary>
        public int DocumentsCopied { get; set; }
        /// <summary>Documents left as the destination had them (it already had its own).</summary>
        public int DocumentsKept { get; set; }
    }

    /// <summary>
    /// Copies a workspace's state from one store to another (Copy-HexState: a folder into Redis when a workspace moves from
    /// one machine to many): every ledger record in order, with the index entries and run budget it implies, and the
    /// documents the destination lacks. The destination keeps a watermark per source (how far that source was copied),
    /// committed with each batch, so running the copy again, or after an interruption, adds nothing twice.
    /// </summary>
    public static class StateCopy
    {
        private const int Batch = 500;
        private static readonly string[] Documents = { Credits.SpendPolicyStore.PolicyDocument, Credits.SpendPolicyStore.SnapshotDocument };

        public static async Task<StateCopyResult> CopyAsync(IHexStateStore source, IHexStateStore destination, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var result = new StateCopyResult { Source = source.Location, Destination = destination.Location };
            var watermarkKey = "copy:" + Fingerprint(source.Location);
            var (cursor, done) = await WatermarkAsync(destination, watermarkKey, cancellationToken).ConfigureAwait(false);
            result.RecordsAlreadyCopied = done;
            while (true)
            {
                var page = await source.ReadRecordsAsync(cursor, Batch, cancellationToken).ConfigureAwait(false);
                if (page.Records.Count == 0 || page.Next == cursor) break;
                var next = new Watermark { Cursor = page.Next, Records = done + page.Records.Count };
                var outcome = await CommitBatchAsync(destination, watermarkKey, cursor, page.Records, next, cancellationToken).ConfigureAwait(false);
                if (outcome == BatchOutcome.MovedOn)
                {
                    // Another copy from the same source got there first: go on from where it is.
                    (cursor, done) = await WatermarkAsync(destination, watermarkKey, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                result.RecordsCopied += page.Records.Count;
                cursor = page.Next;
                done = next.Records;
                sink.Progress(new HexProgress(ProgressIds.Paging, "Copying HexCost state", $"{done} ledger records copied to {destination.Location}"));
            }
            sink.Progress(new HexProgress(ProgressIds.Paging, "Copying HexCost state", "Done", completed: true));

            foreach (var name in Documents)
            {
                var content = await source.ReadDocumentAsync(name, cancellationToken).ConfigureAwait(false);
                if (content == null) continue;
                var there = await destination.ReadDocumentAsync(name, cancellationToken).ConfigureAwait(false);
                if (there == null)
                {
                    await destination.WriteDocumentAsync(name, content, Array.Empty<LedgerRecord>(), cancellationToken).ConfigureAwait(false);
                    result.DocumentsCopied++;
                }
                else
                {
                    if (!string.Equals(there, content, StringComparison.Ordinal))
                        sink.Warning($"{destination.Location} already has its own {name}; it was kept, not replaced by the one in {source.Location}. Set it again with Set-HexSpendLimit if it should change.");
                    result.DocumentsKept++;
                }
            }
            return result;
        }

        private enum BatchOutcome { Committed, MovedOn }

        /// <summary>Appends one batch with its index changes and the new watermark, in one step: only if the watermark is still
        /// where this copy read it and no entry the batch changes moved meanwhile (else the entries are read again).</summary>
        private static async Task<BatchOutcome> CommitBatchAsync(IHexStateStore destination, string watermarkKey, string? from,
            IReadOnlyList<LedgerRecord> records, Watermark next, CancellationToken cancellationToken)
        {
            while (true)
            {
                var view = await destination.ReadAsync(new[] { watermarkKey }, cancellationToken).ConfigureAwait(false);
                if (LedgerIndex.Parse<Watermark>(view[watermarkKey].Value)?.Cursor != from) return BatchOutcome.MovedOn;
                var entries = await WorkspaceState.ReadTouchedAsync(destination, view.Entries, records, cancellationToken).ConfigureAwait(false);
                var commit = WorkspaceState.CommitOf(entries, records);
                var mark = commit.Writes.FindIndex(w => w.Key == watermarkKey);
                if (mark >= 0) commit.Writes.RemoveAt(mark);
                commit.Writes.Add(new KeyValuePair<string, string?>(watermarkKey, LedgerIndex.Write(next)));
                if ((await destination.CommitAsync(commit, cancellationToken).ConfigureAwait(false)).Committed) return BatchOutcome.Committed;
            }
        }

        private static async Task<(string? Cursor, int Records)> WatermarkAsync(IHexStateStore destination, string key, CancellationToken cancellationToken)
        {
            var view = await destination.ReadAsync(new[] { key }, cancellationToken).ConfigureAwait(false);
            var mark = LedgerIndex.Parse<Watermark>(view[key].Value);
            return (mark?.Cursor, mark?.Records ?? 0);
        }

        private static string Fingerprint(string location)
        {
            using var sha = SHA256.Create();
            return string.Concat(sha.ComputeHash(Encoding.UTF8.GetBytes(location)).Take(12).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        }

        /// <summary>How far a source was copied: its cursor after the last record copied, and how many records that was.</summary>
        public sealed class Watermark
        {
            public string? Cursor { get; set; }
            public int Records { get; set; }
        }
    }
}
