using System;
using System.Security.Cryptography;
using System.Text;

namespace HexCost.Emulator;

/// <summary>How a lost RunProject response is delivered once the run has been created.</summary>
public enum LostTriggerResponseKind
{
    /// <summary>Chooses 502 or an aborted connection per request, deterministically from the seed.</summary>
    Random,
    /// <summary>Answers 502 Bad Gateway (plain text, as a proxy would).</summary>
    BadGateway,
    /// <summary>Aborts the connection without a response (<c>HttpContext.Abort()</c>).</summary>
    Abort,
}

/// <summary>What RunProject does with <c>inputParams</c> combined with <c>updatePublishedResults</c> (Hex's spec and docs disagree).</summary>
public enum PublishedResultsConflict
{
    /// <summary>The run uses the inputs and does not update the published results (the spec's inputParams text).</summary>
    SkipPublishedResultsUpdate,
    /// <summary>The run ignores the inputs and updates the published results (the docs page).</summary>
    IgnoreInputParams,
    /// <summary>400: the spec says updatePublishedResults cannot be true with inputParams.</summary>
    Reject,
}

/// <summary>
/// Configuration of a <see cref="HexEmulator"/>. Limit, fault-injection and behaviour switches are read per request,
/// so they may be changed while the emulator runs; workspace and listener settings are read once at start.
/// </summary>
public sealed class EmulatorOptions
{
    /// <summary>The fixed default workspace token: <c>hxtw_</c> followed by 96 lowercase hex characters.</summary>
    public static readonly string DefaultToken =
        "hxtw_" + Convert.ToHexStringLower(SHA384.HashData(Encoding.UTF8.GetBytes("HexCost.Emulator workspace token")));

    /// <summary>Bearer token accepted by the emulator; it belongs to the workspace's ADMIN user.</summary>
    public string Token { get; set; } = DefaultToken;

    /// <summary>Expiry reported by <c>/users/me</c> as <c>token.exp</c>; null = never expires. Requests at or after it get 401.</summary>
    public DateTimeOffset? TokenExpiresAt { get; set; }

    /// <summary>Loopback address to bind (127.0.0.1, ::1 or localhost); anything else is rejected.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks an ephemeral port.</summary>
    public int Port { get; set; }

    /// <summary>Clock for run progression, rate windows and generated timestamps. <see cref="ResponseDelay"/> always uses real time.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Number of demo projects (12 covers every kind; larger counts add generated projects).</summary>
    public int ProjectCount { get; set; } = 12;

    /// <summary>Seed for the demo workspace (projects, users, run history) and for fault injection.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Time a triggered run spends PENDING before it is RUNNING.</summary>
    public TimeSpan PendingDuration { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Time a run spends RUNNING before it reaches its project's <see cref="EmulatorProject.RunOutcome"/>.</summary>
    public TimeSpan RunDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Live (PENDING or RUNNING) runs per user; a RunProject beyond this gets 503 and creates no run.</summary>
    public int MaxKernels { get; set; } = 25;

    /// <summary>Per-user limit on every authenticated request, in a fixed window that starts with its first request.</summary>
    public int RequestsPerWindow { get; set; } = 60;
    public TimeSpan RequestWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>RunProject limits (in addition to the request window).</summary>
    public int RunsPerMinute { get; set; } = 20;
    public TimeSpan RunMinuteWindow { get; set; } = TimeSpan.FromMinutes(1);
    public int RunsPerHour { get; set; } = 60;
    public TimeSpan RunHourWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>"hex-api" group limits: GET /users/me, GET /users, GET /projects/{id}, GET /projects/{id}/queriedTables and GET /threads.</summary>
    public int ReadsPerMinute { get; set; } = 30;
    public TimeSpan ReadMinuteWindow { get; set; } = TimeSpan.FromMinutes(1);
    public int ReadsPerHour { get; set; } = 1800;
    public TimeSpan ReadHourWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>When false nothing is throttled (windows are still counted for the headers).</summary>
    public bool RateLimitsEnabled { get; set; } = true;

    /// <summary>Send <c>Retry-After</c> on 429: integer seconds until the blocking window resets, rounded up.</summary>
    public bool SendRetryAfter { get; set; } = true;

    /// <summary>Send <c>Retry-After</c> as an HTTP-date instead of seconds.</summary>
    public bool RetryAfterAsHttpDate { get; set; }

    /// <summary>
    /// Send Limit / Remaining / Reset (epoch seconds, rounded up) headers on every authenticated response. They describe the
    /// request window, except on a 429, where they describe the window that blocked the request. Hex does not name its headers.
    /// </summary>
    public bool SendRateLimitHeaders { get; set; } = true;

    /// <summary>Prefix of the rate-limit headers: <c>X-RateLimit-</c> gives X-RateLimit-Limit, -Remaining and -Reset.</summary>
    public string RateLimitHeaderPrefix { get; set; } = "X-RateLimit-";

    /// <summary>
    /// The workspace is on the Enterprise plan, so GetQueriedTables works. When false every GetQueriedTables call answers 403
    /// <c>{reason: "This feature is not available on your plan", traceId}</c>, before any validation or project lookup.
    /// </summary>
    public bool QueriedTablesAvailable { get; set; } = true;

    /// <summary>GetProjectRuns returns only API-triggered runs, as the old spec and docs page say.</summary>
    public bool LegacyApiRunsOnly { get; set; }

    /// <summary>RunProject answers 400 when the body has a field the spec does not define (<c>additionalProperties: false</c>).</summary>
    public bool RejectUnknownBodyFields { get; set; } = true;

    /// <summary>How RunProject treats <c>inputParams</c> together with <c>updatePublishedResults</c> (or <c>updateCache</c>).</summary>
    public PublishedResultsConflict InputParamsWithPublishedResults { get; set; } = PublishedResultsConflict.SkipPublishedResultsUpdate;

    /// <summary>401 on Tsoa-envelope endpoints (projects list, runs) is the plain text "Unauthorized" instead of the oRPC JSON body.</summary>
    public bool PlainTextUnauthorizedOnTsoaEndpoints { get; set; }

    /// <summary>
    /// Hex documents that <c>/users/me</c> returns only <c>org</c> and <c>token</c> for workspace (<c>hxtw_</c>) tokens.
    /// When true and the token has that prefix, the emulator does so; by default it returns the token user's fields too.
    /// </summary>
    public bool MinimalMeForWorkspaceToken { get; set; }

    /// <summary>Fraction of requests answered 500 or 502 before authentication, routing or rate limiting.</summary>
    public double ServerErrorRate { get; set; }

    /// <summary>Fraction of accepted RunProject calls whose run is created but whose response is lost (see <see cref="LostTriggerResponseMode"/>).</summary>
    public double LostTriggerResponseRate { get; set; }

    public LostTriggerResponseKind LostTriggerResponseMode { get; set; } = LostTriggerResponseKind.Random;

    /// <summary>Requests naming one of these project ids get no answer: the emulator holds them until the client gives up
    /// (a hung upstream, for request timeouts).</summary>
    public System.Collections.Generic.HashSet<string> StalledProjectIds { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Called once RunProject has created a run and before it answers; the answer waits for the task. A test holds it to keep
    /// a trigger in flight (the run exists, the caller has no answer yet) or to stand for an answer that never arrives (the
    /// caller is killed meanwhile: the token is the request's abort). The request names the project and the new run.
    /// </summary>
    public Func<EmulatorRequest, System.Threading.CancellationToken, System.Threading.Tasks.Task>? HoldRunProjectAnswer { get; set; }

    /// <summary>Real-time delay before every response is processed.</summary>
    public TimeSpan ResponseDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Fault injection: called for every authenticated request before rate limiting. It may change the workspace first (delete a
    /// project mid-audit) and returns a status to answer instead of handling the request (e.g. 500 for one project's
    /// GetQueriedTables), or null to handle it.
    /// </summary>
    public Func<EmulatorRequest, int?>? Intercept { get; set; }
}

/// <summary>What <see cref="EmulatorOptions.Intercept"/> sees of a request: the operation (as <see cref="EmulatorStats"/> names it)
/// and the ids in its path.</summary>
public sealed record EmulatorRequest(string Operation, string? ProjectId, string? RunId);
