using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Infrastructure;
using HexCost.Limits;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace HexCost.Api
{
    /// <summary>Hex's REST API for one account: every attempt takes a permit from the account's limiter,
    /// retries and waits come from Polly pipelines, and a RunProject whose answer was lost is never re-sent here.</summary>
    public sealed class HexApiClient : IDisposable
    {
        private static readonly ResiliencePropertyKey<TimeSpan> PlannedDelay = new ResiliencePropertyKey<TimeSpan>("hex.delay");
        private static readonly ResiliencePropertyKey<DateTimeOffset> CallStarted = new ResiliencePropertyKey<DateTimeOffset>("hex.started");
        private static readonly ResiliencePropertyKey<CallStats> Stats = new ResiliencePropertyKey<CallStats>("hex.stats");
        private static readonly ResiliencePropertyKey<IHexEventSink> Sink = new ResiliencePropertyKey<IHexEventSink>("hex.sink");

        private readonly HttpClient _http;
        private readonly string _baseUri;
        private readonly HexRateLimiter _limiter;
        private readonly HexClientOptions _options;
        private readonly TimeProvider _time;
        private readonly ResiliencePipeline<HttpResponseMessage> _retryAll;
        private readonly ResiliencePipeline<HttpResponseMessage> _retryUncreated;
        private readonly Random _jitter = new Random();
        private long _requestTimeoutTicks;
        private long _serverClockOffsetTicks;

        public HexApiClient(Uri baseUri, string token, HexRateLimiter limiter, HexClientOptions? options = null,
            TimeProvider? time = null, HttpMessageHandler? handler = null)
        {
            if (string.IsNullOrEmpty(token)) throw new ArgumentException("A token is required.", nameof(token));
            _baseUri = baseUri.AbsoluteUri.TrimEnd('/');
            _limiter = limiter;
            _options = options ?? new HexClientOptions();
            _time = time ?? TimeProvider.System;
            RequestTimeout = _options.AttemptTimeout;
#if !NET8_0_OR_GREATER
            if (System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
                ServicePointManager.SecurityProtocol = WithTls12(ServicePointManager.SecurityProtocol);
#endif
            _http = handler == null ? new HttpClient() : new HttpClient(handler, disposeHandler: true);
            _http.Timeout = Timeout.InfiniteTimeSpan;
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("HexCost", typeof(HexApiClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
            _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            _retryAll = BuildPipeline(retryServerErrors: true);
            _retryUncreated = BuildPipeline(retryServerErrors: false);
        }

        public Uri BaseUri => new Uri(_baseUri);

        /// <summary>
        /// Windows PowerShell 5.1 runs on .NET Framework, where HttpClient takes its TLS versions from
        /// ServicePointManager: the operating system's choice (SystemDefault, 0) on a machine set up for it, else a list
        /// that can lack TLS 1.2, which Hex requires. This adds TLS 1.2 to such a list and leaves the system's choice alone.
        /// </summary>
        internal static SecurityProtocolType WithTls12(SecurityProtocolType current) =>
            current == 0 || (current & SecurityProtocolType.Tls12) != 0 ? current : current | SecurityProtocolType.Tls12;

        public HexRateLimiter Limiter => _limiter;

        /// <summary>How far Hex's clock is ahead of this account's (from the Date header of its last answer; zero until one
        /// came): HexCost compares its own send times with Hex's run start times only through it.</summary>
        public TimeSpan ServerClockOffset => TimeSpan.FromTicks(Interlocked.Read(ref _serverClockOffsetTicks));

        /// <summary>How long one HTTP attempt may take (Connect-Hex -RequestTimeout); read by every attempt as it starts.</summary>
        public TimeSpan RequestTimeout
        {
            get => TimeSpan.FromTicks(Interlocked.Read(ref _requestTimeoutTicks));
            set => Interlocked.Exchange(ref _requestTimeoutTicks, value.Ticks);
        }

        public Task<MeResponse> GetMeAsync(IHexEventSink? sink, CancellationToken ct) =>
            GetJsonAsync<MeResponse>("users/me", null, sink, ct);

        public Task<ProjectPage> ListProjectsAsync(int limit, string? after, bool includeArchived, bool includeTrashed, bool includeComponents,
            IHexEventSink? sink, CancellationToken ct)
        {
            var query = new StringBuilder("projects?limit=").Append(limit.ToString(CultureInfo.InvariantCulture));
            if (after != null) query.Append("&after=").Append(Uri.EscapeDataString(after));
            if (includeArchived) query.Append("&includeArchived=true");
            if (includeTrashed) query.Append("&includeTrashed=true");
            if (includeComponents) query.Append("&includeComponents=true");
            return GetJsonAsync<ProjectPage>(query.ToString(), null, sink, ct, kind: RequestKind.Other);
        }

        public Task<UserPage> ListUsersAsync(int limit, string? after, IHexEventSink? sink, CancellationToken ct)
        {
            var query = "users?limit=" + limit.ToString(CultureInfo.InvariantCulture) + (after == null ? "" : "&after=" + Uri.EscapeDataString(after));
            return GetJsonAsync<UserPage>(query, null, sink, ct);
        }

        /// <summary>GetQueriedTables (Enterprise only: other plans answer 403, reported as <see cref="HexErrorKind.Forbidden"/>).</summary>
        public Task<QueriedTablePage> GetQueriedTablesAsync(string projectId, int limit, string? after, IHexEventSink? sink, CancellationToken ct)
        {
            var query = "projects/" + Escape(projectId) + "/queriedTables?limit=" + limit.ToString(CultureInfo.InvariantCulture)
                        + (after == null ? "" : "&after=" + Uri.EscapeDataString(after));
            return GetJsonAsync<QueriedTablePage>(query, projectId, sink, ct);
        }

        /// <summary>ListThreads (Manager role or higher), newest first; <paramref name="numDays"/> limits to recent threads.</summary>
        public Task<ThreadPage> ListThreadsAsync(int limit, string? after, int? numDays, IHexEventSink? sink, CancellationToken ct)
        {
            var query = "threads?limit=" + limit.ToString(CultureInfo.InvariantCulture) + (after == null ? "" : "&after=" + Uri.EscapeDataString(after))
                        + (numDays.HasValue ? "&numDays=" + numDays.Value.ToString(CultureInfo.InvariantCulture) : "");
            return GetJsonAsync<ThreadPage>(query, null, sink, ct);
        }

        public Task<ProjectResource> GetProjectAsync(string projectId, IHexEventSink? sink, CancellationToken ct) =>
            GetJsonAsync<ProjectResource>("projects/" + Escape(projectId), projectId, sink, ct);

        public Task<RunStatusPayload> GetRunStatusAsync(string projectId, string runId, IHexEventSink? sink, CancellationToken ct, CallStats? stats = null) =>
            GetJsonAsync<RunStatusPayload>("projects/" + Escape(projectId) + "/runs/" + Escape(runId), projectId, sink, ct, stats, runId, RequestKind.Other);

        public Task<RunsPage> GetProjectRunsAsync(string projectId, int limit, int offset, string? statusFilter, string? triggerFilter,
            IHexEventSink? sink, CancellationToken ct, CallStats? stats = null)
        {
            var query = new StringBuilder("projects/").Append(Escape(projectId)).Append("/runs?limit=").Append(limit.ToString(CultureInfo.InvariantCulture))
                .Append("&offset=").Append(offset.ToString(CultureInfo.InvariantCulture));
            if (statusFilter != null) query.Append("&statusFilter=").Append(Uri.EscapeDataString(statusFilter));
            if (triggerFilter != null) query.Append("&runTriggerFilter=").Append(Uri.EscapeDataString(triggerFilter));
            return GetJsonAsync<RunsPage>(query.ToString(), projectId, sink, ct, stats, kind: RequestKind.Other);
        }

        /// <summary>POST RunProject. Retries only where Hex created no run (429, 503, a connection never made). Any other
        /// failure after sending throws <see cref="HexTriggerOutcomeUnknownException"/>: the caller must look before re-sending.</summary>
        /// <param name="beforeSend">Runs after the rate permit is taken, right before each send: it may refuse (throw) when
        /// the caller's claim to send no longer holds.</param>
        public async Task<RunCreated> TriggerRunAsync(string projectId, RunProjectBody body, IHexEventSink? sink, CancellationToken ct, CallStats? stats = null,
            Func<CancellationToken, Task>? beforeSend = null)
        {
            var json = JsonSerializer.Serialize(body, HexJson.Options);
            var path = "projects/" + Escape(projectId) + "/runs";
            var sentAt = _time.GetUtcNow();
            HttpResponseMessage response;
            try
            {
                response = await SendAsync(RequestKind.RunProject, _retryUncreated, () =>
                {
                    sentAt = _time.GetUtcNow();
                    return new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                }, sink, ct, stats, beforeSend).ConfigureAwait(false);
            }
            catch (HexConnectionException lost) when (lost.Failure.RequestMayHaveArrived)
            {
                throw new HexTriggerOutcomeUnknownException(projectId, sentAt,
                    $"RunProject for project {projectId} got no answer ({lost.Failure.Short(BaseUri, RequestTimeout)}); a run may have been created.", lost);
            }
            using (response)
            {
                var code = (int)response.StatusCode;
                if (code >= 500 && code != 503)
                {
                    throw new HexTriggerOutcomeUnknownException(projectId, sentAt, $"RunProject for project {projectId} answered {code}; a run may have been created.")
                    { StatusCode = code };
                }
                return await ReadAsync<RunCreated>(response, projectId, null, ct).ConfigureAwait(false);
            }
        }

        public async Task CancelRunAsync(string projectId, string runId, IHexEventSink? sink, CancellationToken ct)
        {
            using var response = await SendAsync(RequestKind.Other, _retryAll,
                () => new HttpRequestMessage(HttpMethod.Delete, Url("projects/" + Escape(projectId) + "/runs/" + Escape(runId))), sink, ct, null).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw await ErrorFromAsync(response, projectId, runId).ConfigureAwait(false);
        }

        /// <summary>A GET. Hex puts most reads in its "hex-api" group (30/min, 1800/h); ListProjects, GetProjectRuns and
        /// GetRunStatus it names no group for, so they count only as requests (60/min): <paramref name="kind"/> says which.</summary>
        private async Task<T> GetJsonAsync<T>(string path, string? projectId, IHexEventSink? sink, CancellationToken ct, CallStats? stats = null, string? runId = null,
            RequestKind kind = RequestKind.Read)
        {
            using var response = await SendAsync(kind, _retryAll, () => new HttpRequestMessage(HttpMethod.Get, Url(path)), sink, ct, stats).ConfigureAwait(false);
            return await ReadAsync<T>(response, projectId, runId, ct).ConfigureAwait(false);
        }

        private async Task<T> ReadAsync<T>(HttpResponseMessage response, string? projectId, string? runId, CancellationToken ct)
        {
            if (!response.IsSuccessStatusCode) throw await ErrorFromAsync(response, projectId, runId).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            try
            {
                var value = JsonSerializer.Deserialize<T>(text, HexJson.Options);
                if (value == null) throw new JsonException("empty body");
                return value;
            }
            catch (JsonException ex)
            {
                throw new HexException(HexErrorKind.UnexpectedResponse,
                    $"Hex answered {(int)response.StatusCode} to {response.RequestMessage?.Method} {PathOf(response.RequestMessage)} with a body HexCost cannot read as {typeof(T).Name} ({ex.Message}). Check -BaseUri points at Hex's API (…/api/v1).", ex)
                { StatusCode = (int)response.StatusCode, ProjectId = projectId, RunId = runId };
            }
        }

        private async Task<HttpResponseMessage> SendAsync(RequestKind kind, ResiliencePipeline<HttpResponseMessage> pipeline,
            Func<HttpRequestMessage> build, IHexEventSink? sink, CancellationToken ct, CallStats? stats, Func<CancellationToken, Task>? beforeSend = null)
        {
            sink ??= NullEventSink.Instance;
            stats ??= new CallStats();
            var started = _time.GetUtcNow();
            var deadline = started + _options.TotalDeadline;
            var context = ResilienceContextPool.Shared.Get(ct);
            context.Properties.Set(CallStarted, started);
            context.Properties.Set(Stats, stats);
            context.Properties.Set(Sink, sink);
            try
            {
                return await pipeline.ExecuteAsync(async ctx =>
                {
                    stats.AddAttempt();
                    using var permit = await _limiter.AcquireAsync(kind, sink, ctx.CancellationToken, deadline).ConfigureAwait(false);
                    stats.AddThrottled(permit.Waited);
                    if (beforeSend != null) await beforeSend(ctx.CancellationToken).ConfigureAwait(false);
                    using var request = build();
                    var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ctx.CancellationToken).ConfigureAwait(false);
                    // Date has whole seconds: Hex's clock is within the second it names, so take its middle.
                    if (response.Headers.Date is DateTimeOffset date)
                        Interlocked.Exchange(ref _serverClockOffsetTicks, (date + TimeSpan.FromMilliseconds(500) - _time.GetUtcNow()).Ticks);
                    sink.Verbose($"{request.Method} {PathOf(request)} -> {(int)response.StatusCode}");
                    if (response.StatusCode == (HttpStatusCode)429)
                    {
                        await _limiter.PauseUntilAsync(_time.GetUtcNow() + RetryAfterOf(response), ctx.CancellationToken).ConfigureAwait(false);
                    }
                    return response;
                }, context).ConfigureAwait(false);
            }
            catch (RatePauseBeyondDeadlineException paused)
            {
                using var call = build();
                throw new HexException(HexErrorKind.RateLimitExhausted,
                    $"Hex answered 429 (rate limited) and asked this account to wait {Clock.Say(paused.Wait)}, until {paused.Until.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC: " +
                    $"longer than HexCost waits for one request ({Clock.Say(_options.TotalDeadline)}), so {call.Method} {PathOf(call)} was not sent. " +
                    "Run again after that time; lower the pace with Connect-Hex -RateLimit if other tools share this token.", paused);
            }
            catch (Exception error) when (TransportFailure.From(error, ct) is TransportFailure failure)
            {
                throw new HexConnectionException(failure, failure.Describe(BaseUri, RequestTimeout, stats.Attempts, _time.GetUtcNow() - started, error), error);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        private ResiliencePipeline<HttpResponseMessage> BuildPipeline(bool retryServerErrors)
        {
            return new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time }
                .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = Math.Max(0, _options.MaxAttempts - 1),
                    ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context, args.AttemptNumber, retryServerErrors)),
                    DelayGenerator = args => new ValueTask<TimeSpan?>(args.Context.Properties.GetValue(PlannedDelay, TimeSpan.Zero)),
                    OnRetry = args =>
                    {
                        var sink = args.Context.Properties.GetValue(Sink, NullEventSink.Instance);
                        var failure = args.Outcome.Exception == null ? null : TransportFailure.From(args.Outcome.Exception, CancellationToken.None);
                        var what = args.Outcome.Result != null
                            ? "Hex answered " + ((int)args.Outcome.Result.StatusCode).ToString(CultureInfo.InvariantCulture)
                            : $"Could not reach {BaseUri.Host}:{BaseUri.Port.ToString(CultureInfo.InvariantCulture)} ({failure?.Short(BaseUri, RequestTimeout) ?? args.Outcome.Exception?.GetType().Name})";
                        var tries = failure != null ? Math.Min(_options.MaxAttempts, _options.TransportMaxAttempts) : _options.MaxAttempts;
                        var throttled = args.Outcome.Result?.StatusCode == (HttpStatusCode)429;
                        if (throttled) args.Context.Properties.GetValue(Stats, new CallStats()).AddThrottled(args.RetryDelay);
                        var reason = throttled ? "retrying after a 429" : "retrying: " + what;
                        sink.Verbose($"{what}; try {args.AttemptNumber + 2} of {tries} in {args.RetryDelay.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s.");
                        sink.Progress(new HexProgress(ProgressIds.RateLimitWait, "Waiting before retrying a Hex request", reason,
                            secondsRemaining: (int)Math.Ceiling(args.RetryDelay.TotalSeconds)));
                        args.Outcome.Result?.Dispose();
                        return default;
                    },
                })
                .AddTimeout(new TimeoutStrategyOptions { TimeoutGenerator = _ => new ValueTask<TimeSpan>(RequestTimeout) })
                .Build();
        }

        private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, int attemptNumber, bool retryServerErrors)
        {
            TimeSpan delay;
            if (outcome.Exception != null)
            {
                var failure = TransportFailure.From(outcome.Exception, context.CancellationToken);
                if (failure == null || failure.IsPermanent) return false;
                if (!retryServerErrors && failure.RequestMayHaveArrived) return false;
                if (attemptNumber + 1 >= _options.TransportMaxAttempts) return false;
                delay = Backoff(attemptNumber);
            }
            else
            {
                var code = (int)outcome.Result!.StatusCode;
                if (code == 429) delay = RetryAfterOf(outcome.Result) + Jitter(RetryAfterOf(outcome.Result));
                else if (code == 503) delay = Backoff(attemptNumber);
                else if (retryServerErrors && (code == 500 || code == 502 || code == 504)) delay = Backoff(attemptNumber);
                else return false;
            }
            var started = context.Properties.GetValue(CallStarted, _time.GetUtcNow());
            if (_time.GetUtcNow() + delay - started > _options.TotalDeadline) return false;
            context.Properties.Set(PlannedDelay, delay);
            return true;
        }

        private TimeSpan Backoff(int attemptNumber)
        {
            var exponential = TimeSpan.FromTicks(Math.Min(_options.ServerErrorMaxDelay.Ticks,
                (long)(_options.ServerErrorBaseDelay.Ticks * Math.Pow(2, Math.Min(attemptNumber, 20)))));
            return exponential + Jitter(exponential);
        }

        private TimeSpan Jitter(TimeSpan basis)
        {
            double fraction;
            lock (_jitter) fraction = _jitter.NextDouble();
            return TimeSpan.FromTicks((long)(basis.Ticks * 0.1 * fraction)) + TimeSpan.FromMilliseconds(50);
        }

        /// <summary>How long a 429 asks us to wait: Retry-After (seconds or HTTP date), else a rate-reset header,
        /// else the conservative default.</summary>
        internal TimeSpan RetryAfterOf(HttpResponseMessage response)
        {
            var now = _time.GetUtcNow();
            var retryAfter = response.Headers.RetryAfter;
            if (retryAfter?.Delta is TimeSpan delta && delta >= TimeSpan.Zero) return delta;
            if (retryAfter?.Date is DateTimeOffset date) return date > now ? date - now : TimeSpan.Zero;
            foreach (var name in _options.RateResetHeaders)
            {
                if (!response.Headers.TryGetValues(name, out var values)) continue;
                if (!double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var reset) || reset < 0) continue;
                if (reset > 1_000_000_000)
                {
                    var at = DateTimeOffset.FromUnixTimeMilliseconds((long)(reset * 1000));
                    return at > now ? at - now : TimeSpan.Zero;
                }
                return TimeSpan.FromSeconds(reset);
            }
            return _options.DefaultRetryAfter;
        }

        private async Task<HexException> ErrorFromAsync(HttpResponseMessage response, string? projectId, string? runId)
        {
            var code = (int)response.StatusCode;
            string body = "";
            try { body = await response.Content.ReadAsStringAsync().ConfigureAwait(false); } catch (HttpRequestException) { }
            ErrorEnvelope? envelope = null;
            try { envelope = JsonSerializer.Deserialize<ErrorEnvelope>(body, HexJson.Options); } catch (JsonException) { }
            var detail = Describe(envelope, body);
            var where = projectId == null ? "" : runId == null ? $" for project {projectId}" : $" for run {runId} of project {projectId}";
            var call = $"{response.RequestMessage?.Method} {PathOf(response.RequestMessage)}";
            HexException error;
            switch (code)
            {
                case 401:
                    error = new HexException(HexErrorKind.AuthFailed,
                        $"Hex rejected the API token (401){Suffix(detail)}. Create a new token in Hex (Settings → API keys) and run Connect-Hex -Token again; check -BaseUri if your workspace is not on app.hex.tech.");
                    break;
                case 403:
                    error = new HexException(HexErrorKind.Forbidden,
                        $"Hex refused {call}{where} (403){Suffix(detail)}. The token's user lacks the permission or scope, or the plan lacks this feature.");
                    break;
                case 404:
                    error = runId != null
                        ? new HexException(HexErrorKind.RunNotFound, $"Hex has no run {runId} of project {projectId} that this token can see (404){Suffix(detail)}. Check -RunId and -ProjectId.")
                        : projectId != null
                            ? new HexException(HexErrorKind.ProjectNotFound, $"Hex has no project {projectId} that this token can see (404){Suffix(detail)}. Check the id with Get-HexProject, and that the token's user has access.")
                            : new HexException(HexErrorKind.UnexpectedResponse, $"Hex answered 404 to {call}{Suffix(detail)}. Check -BaseUri (it should end in /api/v1).");
                    break;
                case 422 when envelope?.Invalid?.Count > 0 || envelope?.NotFound?.Count > 0:
                    var bad = (envelope!.Invalid ?? new List<InvalidParam>()).Select(p => p.ParamName ?? "?")
                        .Concat(envelope.NotFound ?? new List<string>()).Distinct().ToArray();
                    var parts = new List<string>();
                    if (envelope.NotFound?.Count > 0) parts.Add("not an input of the published app: " + string.Join(", ", envelope.NotFound));
                    if (envelope.Invalid?.Count > 0) parts.Add("invalid value: " + string.Join(", ", envelope.Invalid.Select(p => $"{p.ParamName} = {p.ParamValue} (expects {p.DataType})")));
                    error = new HexException(HexErrorKind.InvalidInputParameters,
                        $"Hex rejected the input parameters{where}: {string.Join("; ", parts)}. Fix -InputParameters; only inputs added to the published app count.")
                    { BadParameters = bad };
                    break;
                case 422 when detail.IndexOf("publish", StringComparison.OrdinalIgnoreCase) >= 0:
                    error = new HexException(HexErrorKind.ProjectNotPublished,
                        $"Project {projectId} has never been published, so Hex cannot run it through the API (422){Suffix(detail)}. Publish the app in Hex first.");
                    break;
                case 429:
                    var wait = RetryAfterOf(response);
                    error = new HexException(HexErrorKind.RateLimitExhausted,
                        $"Hex kept answering 429 (rate limited) to {call}{where}{Suffix(detail)}; its last answer asked to wait {Clock.Say(wait)}, until " +
                        $"{(_time.GetUtcNow() + wait).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC. HexCost stops after {_options.MaxAttempts} tries, " +
                        $"or when a wait would end more than {Clock.Say(_options.TotalDeadline)} after the request began. Run again after that time, or lower the pace with Connect-Hex -RateLimit.");
                    break;
                case 503:
                    error = new HexException(HexErrorKind.KernelLimit,
                        $"Hex answered 503{where}: the user already has 25 kernels running, so no run was created{Suffix(detail)}. Let running projects finish, or stop some with Stop-HexRun, then try again.");
                    break;
                default:
                    error = code >= 500
                        ? new HexException(HexErrorKind.ServerError, $"Hex failed with {code} on {call}{where}{Suffix(detail)}. Try again later; give Hex support the traceId {envelope?.TraceId}.")
                        : new HexException(HexErrorKind.BadRequest, $"Hex rejected {call}{where} ({code}){Suffix(detail)}.");
                    break;
            }
            error.StatusCode = code;
            error.TraceId = envelope?.TraceId;
            error.ProjectId = projectId;
            error.RunId = runId;
            return error;
        }

        private static string Describe(ErrorEnvelope? envelope, string body)
        {
            if (envelope == null) return body.Length > 200 ? body.Substring(0, 200) : body;
            var parts = new List<string>();
            if (!string.IsNullOrEmpty(envelope.Reason)) parts.Add(envelope.Reason!);
            if (!string.IsNullOrEmpty(envelope.Message)) parts.Add(envelope.Message!);
            if (envelope.Details is JsonElement d && d.ValueKind == JsonValueKind.String) parts.Add(d.GetString()!);
            if (envelope.Issues != null) parts.AddRange(envelope.Issues.Where(i => !string.IsNullOrEmpty(i.Message)).Select(i => i.Message!));
            return string.Join("; ", parts);
        }

        private static string Suffix(string detail) => string.IsNullOrWhiteSpace(detail) ? "" : ": " + detail.Trim().TrimEnd('.');

        private string Url(string relative) => _baseUri + "/" + relative;

        private static string Escape(string segment) => Uri.EscapeDataString(segment);

        private static string PathOf(HttpRequestMessage? request) => request?.RequestUri?.PathAndQuery ?? "";

        public void Dispose() => _http.Dispose();
    }
}
