using System;

namespace HexCost.Model
{
    /// <summary>One run as HexCost reports it: flat and scalar, one Export-Csv row. PSTypeName HexCost.Run.</summary>
    public sealed class HexRun
    {
        public string ProjectId { get; set; } = "";
        public string? RunId { get; set; }
        /// <summary>One of Hex's six statuses: PENDING, RUNNING, ERRORED, COMPLETED, KILLED, UNABLE_TO_ALLOCATE_KERNEL.</summary>
        public string? Status { get; set; }
        public DateTime? StartTime { get; set; }
        public DateTime? EndTime { get; set; }
        public double? ElapsedSeconds { get; set; }
        public string? RunUrl { get; set; }
        public string? TraceId { get; set; }
        public int? ProjectVersion { get; set; }
        /// <summary>The inputs sent, as canonical JSON (sorted keys, no whitespace).</summary>
        public string? InputParameters { get; set; }
        public string? SourceVersion { get; set; }
        public bool FromCache { get; set; }
        /// <summary>RunProject requests this run took (retries after 429/503, re-sends after an unanswered trigger).</summary>
        public int Attempts { get; set; }
        /// <summary>Seconds spent waiting for rate-limit permits and 429 retry delays before Hex took the trigger.</summary>
        public double ThrottledSeconds { get; set; }
        public DateTime? RequestedAt { get; set; }
        /// <summary>The -IdempotencyKey the run was started under, if any.</summary>
        public string? IdempotencyKey { get; set; }

        public HexRun Clone() => (HexRun)MemberwiseClone();

        public override string ToString() => $"{ProjectId}/{RunId} {Status}";
    }
}
