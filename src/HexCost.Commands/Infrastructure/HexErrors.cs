using System;
using System.Management.Automation;
using HexCost.Api;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>Every error id HexCost writes, and its category. Ids are public interface: never rename one.</summary>
    public static class HexErrors
    {
        public const string AuthFailed = "HexAuthFailed";
        public const string ProjectNotFound = "HexProjectNotFound";
        public const string RunNotFound = "HexRunNotFound";
        public const string ProjectNotPublished = "HexProjectNotPublished";
        public const string InvalidInputParameters = "HexInvalidInputParameters";
        public const string RunFailed = "HexRunFailed";
        public const string RunTimeout = "HexRunTimeout";
        public const string RateLimitExhausted = "HexRateLimitExhausted";
        public const string InsecureBaseUri = "HexInsecureBaseUri";
        public const string NotConnected = "HexNotConnected";
        public const string KernelLimit = "HexKernelLimit";
        public const string Forbidden = "HexForbidden";
        public const string BadRequest = "HexBadRequest";
        public const string ServerError = "HexServerError";
        public const string ConnectionFailed = "HexConnectionFailed";
        public const string InvalidRateLimit = "HexInvalidRateLimit";
        public const string InvalidConfiguration = "HexInvalidConfiguration";
        public const string UnexpectedResponse = "HexUnexpectedResponse";
        public const string StateError = "HexStateError";
        public const string RunBudgetExceeded = "HexRunBudgetExceeded";
        public const string SpendPolicyCorrupt = "HexSpendPolicyCorrupt";

        public static (string Id, ErrorCategory Category) For(HexErrorKind kind)
        {
            switch (kind)
            {
                case HexErrorKind.AuthFailed: return (AuthFailed, ErrorCategory.AuthenticationError);
                case HexErrorKind.ProjectNotFound: return (ProjectNotFound, ErrorCategory.ObjectNotFound);
                case HexErrorKind.RunNotFound: return (RunNotFound, ErrorCategory.ObjectNotFound);
                case HexErrorKind.ProjectNotPublished: return (ProjectNotPublished, ErrorCategory.InvalidOperation);
                case HexErrorKind.InvalidInputParameters: return (InvalidInputParameters, ErrorCategory.InvalidArgument);
                case HexErrorKind.RunFailed: return (RunFailed, ErrorCategory.InvalidResult);
                case HexErrorKind.RunTimeout: return (RunTimeout, ErrorCategory.OperationTimeout);
                case HexErrorKind.RateLimitExhausted: return (RateLimitExhausted, ErrorCategory.LimitsExceeded);
                case HexErrorKind.InsecureBaseUri: return (InsecureBaseUri, ErrorCategory.SecurityError);
                case HexErrorKind.NotConnected: return (NotConnected, ErrorCategory.ConnectionError);
                case HexErrorKind.KernelLimit: return (KernelLimit, ErrorCategory.ResourceBusy);
                case HexErrorKind.Forbidden: return (Forbidden, ErrorCategory.PermissionDenied);
                case HexErrorKind.BadRequest: return (BadRequest, ErrorCategory.InvalidArgument);
                case HexErrorKind.ServerError: return (ServerError, ErrorCategory.ConnectionError);
                case HexErrorKind.Transport: return (ConnectionFailed, ErrorCategory.ConnectionError);
                case HexErrorKind.InvalidConfiguration: return (InvalidConfiguration, ErrorCategory.InvalidArgument);
                case HexErrorKind.StateCorrupt: return (StateError, ErrorCategory.InvalidData);
                case HexErrorKind.RunBudgetExceeded: return (RunBudgetExceeded, ErrorCategory.QuotaExceeded);
                default: return (UnexpectedResponse, ErrorCategory.InvalidData);
            }
        }

        public static ErrorRecord Record(HexException error, object? target)
        {
            var (id, category) = For(error.Kind);
            return new ErrorRecord(error, id, category, target)
            {
                ErrorDetails = new ErrorDetails(error.Message) { RecommendedAction = null },
            };
        }

        /// <summary>Errors that stop everything: nothing later in the pipeline could succeed.</summary>
        public static bool IsTerminating(HexException error) =>
            error.Kind == HexErrorKind.AuthFailed || error.Kind == HexErrorKind.NotConnected || error.Kind == HexErrorKind.InsecureBaseUri
            || error.Kind == HexErrorKind.InvalidConfiguration || error.Kind == HexErrorKind.StateCorrupt;

        public static ErrorRecord Transport(Exception error, object? target) =>
            new ErrorRecord(new HexException(HexErrorKind.Transport,
                $"HexCost could not reach Hex ({error.GetBaseException().Message}). Check the network and -BaseUri, then try again.", error),
                ConnectionFailed, ErrorCategory.ConnectionError, target);
    }
}
