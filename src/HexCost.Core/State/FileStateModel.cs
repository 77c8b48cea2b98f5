using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace HexCost.State
{
    // The JSON shapes of FileStateStore's files under state/. Instants are UTC ticks.

    internal sealed class IndexEntryDoc
    {
        [JsonPropertyName("v")] public long V { get; set; }
        [JsonPropertyName("value")] public string? Value { get; set; }
    }

    internal sealed class BudgetDoc
    {
        public List<BudgetRun> Runs { get; set; } = new List<BudgetRun>();
        public List<BudgetReservation> Reservations { get; set; } = new List<BudgetReservation>();
    }

    internal sealed class BudgetRun
    {
        public string Id { get; set; } = "";
        public string ProjectId { get; set; } = "";
        public long At { get; set; }
    }

    internal sealed class BudgetReservation
    {
        public string Id { get; set; } = "";
        public string ProjectId { get; set; } = "";
        public string Owner { get; set; } = "";
        public long At { get; set; }
    }

    /// <summary>commit.pending: everything one step changes, written (and flushed) before any of it is applied, so the
    /// next locked operation can finish it after a crash. Every part is absolute or deduplicated, so redoing it twice is
    /// the same as once.</summary>
    internal sealed class PendingCommit
    {
        /// <summary>The ledger's length before this step appended anything: records found after it are not appended again.</summary>
        public long LedgerLength { get; set; }
        /// <summary>The ledger lines to append (without their newline), and the Id of each, in order.</summary>
        public List<string> Lines { get; set; } = new List<string>();
        public List<string> Ids { get; set; } = new List<string>();
        public List<PendingWrite> Writes { get; set; } = new List<PendingWrite>();
        public List<BudgetRun> BudgetAdds { get; set; } = new List<BudgetRun>();
        public string? EndReservation { get; set; }
        public string? DocumentName { get; set; }
        public string? DocumentContent { get; set; }
        /// <summary>Write state/version (a seed marks a legacy workspace as migrated).</summary>
        public bool Initialize { get; set; }
    }

    internal sealed class PendingWrite
    {
        public string Key { get; set; } = "";
        [JsonPropertyName("v")] public long V { get; set; }
        public string? Value { get; set; }
    }
}
