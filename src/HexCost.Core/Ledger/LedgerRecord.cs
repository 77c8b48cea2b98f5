using System;
using System.Text.Json.Serialization;

namespace HexCost.Ledger
{
    public static class LedgerRecordTypes
    {
        /// <summary>One RunProject request that reached Hex (or may have): Outcome says what came back.</summary>
        public const string Trigger = "Trigger";
        /// <summary>Written before a RunProject is sent for an idempotency key (if no Trigger follows, a crash may have
        /// left a run in Hex that the next attempt must look for) or for a cache key (other processes wait for the run
        /// rather than start their own; Outcome Released when no run came of it).</summary>
        public const string Intent = "Intent";
        /// <summary>A run found after a lost RunProject answer and taken as ours.</summary>
        public const string Adopt = "Adopt";
        /// <summary>A run reached a terminal status.</summary>
        public const string Complete = "Complete";
        public const string CacheHit = "CacheHit";
        public const string Cancel = "Cancel";
        /// <summary>A -Wait was stopped (Ctrl+C) while its run was still in flight: the run goes on in Hex, unwatched.</summary>
        public const string WaitStopped = "WaitStopped";
        /// <summary>Credits one user used, imported from Hex's usage export.</summary>
        public const string CreditUsage = "CreditUsage";
        /// <summary>A change of the spend policy (old and new values in Note).</summary>
        public const string SpendPolicy = "SpendPolicy";
        /// <summary>A run-budget threshold was crossed and warned about (once per window).</summary>
        public const string BudgetAlert = "BudgetAlert";
    }

    public static class TriggerOutcomes
    {
        public const string Created = "Created";
        public const string Unknown = "Unknown";
        public const string Rejected = "Rejected";
        /// <summary>On an Intent for a cache key: the process that wrote it sent no run after all.</summary>
        public const string Released = "Released";
    }

    /// <summary>One line of the ledger. Never holds a token.</summary>
    public sealed class LedgerRecord
    {
        [JsonPropertyName("v")] public int Version { get; set; } = 1;
        /// <summary>Unique per record, so a process that reads back the ledger can tell its own appends.</summary>
        public string? Id { get; set; }
        public string Type { get; set; } = "";
        public DateTimeOffset At { get; set; }
        public string? ProjectId { get; set; }
        public string? RunId { get; set; }
        public string? Outcome { get; set; }
        public string? Status { get; set; }
        public string? CacheKey { get; set; }
        /// <summary>The caller's -IdempotencyKey: at most one run per key, across crashes and retries.</summary>
        public string? IdempotencyKey { get; set; }
        public string? SourceVersion { get; set; }
        public string? InputParameters { get; set; }
        public string? RunUrl { get; set; }
        public string? TraceId { get; set; }
        public int? ProjectVersion { get; set; }
        public DateTimeOffset? StartTime { get; set; }
        public DateTimeOffset? EndTime { get; set; }
        public double? ElapsedSeconds { get; set; }
        public int? Attempts { get; set; }
        public double? ThrottledSeconds { get; set; }
        public DateTimeOffset? RequestedAt { get; set; }
        public bool? Forced { get; set; }
        public string? User { get; set; }
        /// <summary>The account instance that wrote the record: its claim (an Intent) is held while that owner's lease in the
        /// state store is renewed, whatever host it runs on.</summary>
        public string? Owner { get; set; }
        public int? ProcessId { get; set; }
        /// <summary>Written by HexCost before 0.2 (liveness by process id and start time); read, never written.</summary>
        public DateTimeOffset? ProcessStartedAt { get; set; }
        public string? Note { get; set; }
        public decimal? Credits { get; set; }
        /// <summary>Whose usage a CreditUsage record is (email or user id).</summary>
        public string? UsageUser { get; set; }
        /// <summary>Identity of an imported row, so re-imports add nothing.</summary>
        public string? UsageKey { get; set; }
    }
}
