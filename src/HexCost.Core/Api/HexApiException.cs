using System;
using System.Collections.Generic;

namespace HexCost.Api
{
    /// <summary>Why a Hex call failed, as the cmdlets report it (each maps to one stable error id).</summary>
    public enum HexErrorKind
    {
        AuthFailed,
        ProjectNotFound,
        RunNotFound,
        ProjectNotPublished,
        InvalidInputParameters,
        RateLimitExhausted,
        KernelLimit,
        Forbidden,
        BadRequest,
        ServerError,
        Transport,
        RunFailed,
        RunTimeout,
        InsecureBaseUri,
        NotConnected,
        InvalidConfiguration,
        UnexpectedResponse,
        StateCorrupt,
        StateBusy,
        StateStoreUnavailable,
        RunBudgetExceeded,
    }

    public class HexException : Exception
    {
        public HexException(HexErrorKind kind, string message, Exception? inner = null) : base(message, inner)
        {
            Kind = kind;
        }

        public HexErrorKind Kind { get; }
        public int? StatusCode { get; set; }
        public string? TraceId { get; set; }
        public string? ProjectId { get; set; }
        public string? RunId { get; set; }
        public IReadOnlyList<string> BadParameters { get; set; } = Array.Empty<string>();
    }

    /// <summary>RunProject was sent but no answer came back (5xx, timeout, dropped connection): a run may exist.</summary>
    public sealed class HexTriggerOutcomeUnknownException : HexException
    {
        public HexTriggerOutcomeUnknownException(string projectId, DateTimeOffset sentAt, string message, Exception? inner = null)
            : base(HexErrorKind.ServerError, message, inner)
        {
            ProjectId = projectId;
            SentAt = sentAt;
        }

        public DateTimeOffset SentAt { get; }
    }
}
