using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using HexCost.Api;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>One error id HexCost writes: the start of its FullyQualifiedErrorId, its category and what it means.</summary>
    public sealed class HexErrorId
    {
        internal HexErrorId(string id, ErrorCategory category, bool terminating, string meaning)
        {
            Id = id;
            Category = category;
            Terminating = terminating;
            Meaning = meaning;
        }

        public string Id { get; }
        public ErrorCategory Category { get; }

        /// <summary>Ends the whole command: nothing later in the pipeline could succeed.</summary>
        public bool Terminating { get; }

        /// <summary>What went wrong and what to do, as README and about_HexCost document it.</summary>
        public string Meaning { get; }

        public ErrorRecord Record(Exception exception, object? target, ErrorCategory? category = null) =>
            new ErrorRecord(exception, Id, category ?? Category, target);

        public override string ToString() => Id;
    }

    /// <summary>
    /// Every error id HexCost writes. Ids are public interface: never rename one. Every ErrorRecord HexCost writes is made
    /// here (a test fails on an id or an ErrorRecord made anywhere else, and on an id missing from README or about_HexCost).
    /// </summary>
    public static class HexErrors
    {
        // Connecting and the session.
        public static readonly HexErrorId AuthFailed = new HexErrorId("HexAuthFailed", ErrorCategory.AuthenticationError, true,
            "Hex refused the token (401). Never retried. Create a new token in Hex (Settings > API keys) and Connect-Hex again.");
        public static readonly HexErrorId NotConnected = new HexErrorId("HexNotConnected", ErrorCategory.ConnectionError, true,
            "No session: run Connect-Hex, or set $env:HEX_API_TOKEN, or pass a -Session that is still connected.");
        public static readonly HexErrorId InsecureBaseUri = new HexErrorId("HexInsecureBaseUri", ErrorCategory.SecurityError, true,
            "-BaseUri is plain http to a host that is not this machine; the token would travel in clear. Use https://.");
        public static readonly HexErrorId InvalidConfiguration = new HexErrorId("HexInvalidConfiguration", ErrorCategory.InvalidArgument, true,
            "A setting HexCost cannot use (a -BaseUri that is not an absolute http(s) URI, a -StatePath that is a file or cannot be created).");
        public static readonly HexErrorId InvalidRateLimit = new HexErrorId("HexInvalidRateLimit", ErrorCategory.InvalidArgument, true,
            "-RateLimit names a group that does not exist or a limit it cannot read; groups are Read, Request and RunProject, limits like '20/1m'.");
        public static readonly HexErrorId StateError = new HexErrorId("HexStateError", ErrorCategory.InvalidData, true,
            "HexCost's state (ledger, spend policy, permits) cannot be read or written; the message names the file or the store.");
        public static readonly HexErrorId StateStoreUnavailable = new HexErrorId("HexStateStoreUnavailable", ErrorCategory.ConnectionError, false,
            "The Redis state store (Connect-Hex -StateStore) cannot be reached or refused the credentials; the message names the host and cause. HexCost never falls back to a local file (that would split the budget), and sends no run whose claim it could not store.");
        public static readonly HexErrorId StateBusy = new HexErrorId("HexStateBusy", ErrorCategory.ResourceBusy, false,
            "HexCost's state store stayed busy (another HexCost process holds the state folder's lock, or the store does not answer) for longer than HexCost waits; the message names it. Try again; end a stuck HexCost process.");

        // Talking to Hex.
        public static readonly HexErrorId ConnectionFailed = new HexErrorId("HexConnectionFailed", ErrorCategory.ConnectionError, false,
            "Hex could not be reached (connection refused, DNS, TLS, timeout) after HexCost's retries; the message names the host and the likely cause.");
        public static readonly HexErrorId BadRequest = new HexErrorId("HexBadRequest", ErrorCategory.InvalidArgument, false,
            "Hex refused the request as malformed (400/422); the message gives Hex's reason.");
        public static readonly HexErrorId Forbidden = new HexErrorId("HexForbidden", ErrorCategory.PermissionDenied, false,
            "The token's user lacks the role for this call (403), e.g. AI credit usage needs a Manager or Admin.");
        public static readonly HexErrorId ServerError = new HexErrorId("HexServerError", ErrorCategory.ConnectionError, false,
            "Hex kept answering 5xx after HexCost's retries; try again later.");
        public static readonly HexErrorId UnexpectedResponse = new HexErrorId("HexUnexpectedResponse", ErrorCategory.InvalidData, false,
            "Hex answered with something HexCost cannot read (status or body); the message says what came back.");
        public static readonly HexErrorId RateLimitExhausted = new HexErrorId("HexRateLimitExhausted", ErrorCategory.LimitsExceeded, false,
            "Hex's rate limit would not free up before the deadline (429s past 6 tries, or a Retry-After ending over 15 minutes after the request began); the message gives the wait and when to run again.");
        public static readonly HexErrorId KernelLimit = new HexErrorId("HexKernelLimit", ErrorCategory.ResourceBusy, false,
            "Every Hex kernel stayed busy for longer than HexCost retries; no run was created.");

        // Projects and runs.
        public static readonly HexErrorId ProjectNotFound = new HexErrorId("HexProjectNotFound", ErrorCategory.ObjectNotFound, false,
            "No project with this id in the workspace (or the token cannot see it).");
        public static readonly HexErrorId ProjectNotPublished = new HexErrorId("HexProjectNotPublished", ErrorCategory.InvalidOperation, false,
            "The project was never published; Hex runs only published projects through the API. Publish it in Hex first.");
        public static readonly HexErrorId RunNotFound = new HexErrorId("HexRunNotFound", ErrorCategory.ObjectNotFound, false,
            "The project has no run with this id.");
        public static readonly HexErrorId InvalidInputParameters = new HexErrorId("HexInvalidInputParameters", ErrorCategory.InvalidArgument, false,
            "-InputParameters cannot be sent (a name the project does not have, a value JSON cannot hold, nesting too deep); the message names the parameter.");
        public static readonly HexErrorId RunFailed = new HexErrorId("HexRunFailed", ErrorCategory.InvalidResult, false,
            "The run ended ERRORED, KILLED or UNABLE_TO_ALLOCATE_KERNEL; the run is still written to the pipeline.");
        public static readonly HexErrorId RunTimeout = new HexErrorId("HexRunTimeout", ErrorCategory.OperationTimeout, false,
            "-Wait reached -Timeout; the run was cancelled unless -NoCancelOnTimeout.");
        public static readonly HexErrorId InvalidTimeout = new HexErrorId("HexInvalidTimeout", ErrorCategory.InvalidArgument, true,
            "-Timeout HexCost cannot wait (zero or negative, under a second as a bare number gives, over 49 days), or -Timeout or -NoCancelOnTimeout without -Wait; e.g. -Wait -Timeout (New-TimeSpan -Minutes 30). Connect-Hex -RequestTimeout: 1 to 100 seconds.");
        public static readonly HexErrorId RunBudgetExceeded = new HexErrorId("HexRunBudgetExceeded", ErrorCategory.QuotaExceeded, false,
            "Starting the run would go over Set-HexSpendLimit's -WeeklyRunBudget or -MaxRunsPerProjectPerWeek; no run was started.");
        public static readonly HexErrorId InvalidDataRefreshInterval = new HexErrorId("HexInvalidDataRefreshInterval", ErrorCategory.InvalidArgument, true,
            "Get-HexScheduleAudit -DataRefreshInterval needs project ids mapped to positive time spans, e.g. @{ '<project id>' = '1.00:00:00' }.");

        // Credits and the spend policy.
        public static readonly HexErrorId InvalidCreditParameter = new HexErrorId("HexInvalidCreditParameter", ErrorCategory.InvalidArgument, true,
            "Get-HexCreditBalance -GrantTable or -SeatOverride names a seat that does not exist or a grant below zero.");
        public static readonly HexErrorId UsageFileNotFound = new HexErrorId("HexUsageFileNotFound", ErrorCategory.ObjectNotFound, false,
            "Import-HexCreditUsage -Path matches no file.");
        public static readonly HexErrorId InvalidUsageFile = new HexErrorId("HexInvalidUsageFile", ErrorCategory.InvalidData, false,
            "A usage file without the columns HexCost needs (a date, an email and credits, as Hex's usage export has them).");
        public static readonly HexErrorId UsageFileUnreadable = new HexErrorId("HexUsageFileUnreadable", ErrorCategory.ReadError, false,
            "A usage file that cannot be read (locked, no permission, a folder).");
        public static readonly HexErrorId InvalidUsageRow = new HexErrorId("HexInvalidUsageRow", ErrorCategory.InvalidData, false,
            "One row of a usage file cannot be read; it is skipped, the rest is imported. The target is file:line.");
        public static readonly HexErrorId InvalidSpendPolicy = new HexErrorId("HexInvalidSpendPolicy", ErrorCategory.InvalidArgument, true,
            "Set-HexSpendLimit got a value it cannot keep (a negative budget, a threshold outside 1-100 %); the message shows one it can.");
        public static readonly HexErrorId NoCreditHistory = new HexErrorId("HexNoCreditHistory", ErrorCategory.InvalidOperation, true,
            "Set-HexSpendLimit -FromHistory needs a credit projection of this cycle: run Get-HexCreditBalance -Plan <plan> -Workspace first.");
        public static readonly HexErrorId ConfirmationRequired = new HexErrorId("HexConfirmationRequired", ErrorCategory.InvalidOperation, true,
            "A high-impact change this host cannot ask about (a limit below what is already spent); run again with -Force.");
        public static readonly HexErrorId SpendPolicyCorrupt = new HexErrorId("HexSpendPolicyCorrupt", ErrorCategory.InvalidData, true,
            "spend-policy.json cannot be read; no run starts until it is fixed or removed (the message names the file).");

        // The report.
        public static readonly HexErrorId ReportPathInvalid = new HexErrorId("HexReportPathInvalid", ErrorCategory.InvalidArgument, true,
            "Export-HexCostReport -Path is a folder, in a folder that does not exist, or not a path.");
        public static readonly HexErrorId ReportWriteFailed = new HexErrorId("HexReportWriteFailed", ErrorCategory.WriteError, true,
            "The report could not be written (permission, disk full); the message names the file.");

        private static readonly Lazy<IReadOnlyList<HexErrorId>> AllIds = new Lazy<IReadOnlyList<HexErrorId>>(() =>
            typeof(HexErrors).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.FieldType == typeof(HexErrorId))
                .Select(f => (HexErrorId)f.GetValue(null)!)
                .ToList());

        /// <summary>Every id, in the order above.</summary>
        public static IReadOnlyList<HexErrorId> All => AllIds.Value;

        public static HexErrorId For(HexErrorKind kind)
        {
            switch (kind)
            {
                case HexErrorKind.AuthFailed: return AuthFailed;
                case HexErrorKind.ProjectNotFound: return ProjectNotFound;
                case HexErrorKind.RunNotFound: return RunNotFound;
                case HexErrorKind.ProjectNotPublished: return ProjectNotPublished;
                case HexErrorKind.InvalidInputParameters: return InvalidInputParameters;
                case HexErrorKind.RunFailed: return RunFailed;
                case HexErrorKind.RunTimeout: return RunTimeout;
                case HexErrorKind.RateLimitExhausted: return RateLimitExhausted;
                case HexErrorKind.InsecureBaseUri: return InsecureBaseUri;
                case HexErrorKind.NotConnected: return NotConnected;
                case HexErrorKind.KernelLimit: return KernelLimit;
                case HexErrorKind.Forbidden: return Forbidden;
                case HexErrorKind.BadRequest: return BadRequest;
                case HexErrorKind.ServerError: return ServerError;
                case HexErrorKind.Transport: return ConnectionFailed;
                case HexErrorKind.InvalidConfiguration: return InvalidConfiguration;
                case HexErrorKind.StateCorrupt: return StateError;
                case HexErrorKind.StateBusy: return StateBusy;
                case HexErrorKind.StateStoreUnavailable: return StateStoreUnavailable;
                case HexErrorKind.RunBudgetExceeded: return RunBudgetExceeded;
                default: return UnexpectedResponse;
            }
        }

        public static ErrorRecord Record(HexException error, object? target)
        {
            var record = For(error.Kind).Record(error, target);
            record.ErrorDetails = new ErrorDetails(error.Message) { RecommendedAction = null };
            return record;
        }

        /// <summary>Errors that stop everything: nothing later in the pipeline could succeed.</summary>
        public static bool IsTerminating(HexException error) => For(error.Kind).Terminating;
    }
}
