using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace HexCost.Emulator;

internal enum Operation
{
    Unknown, Me, ListUsers, ListProjects, GetProject, RunProject, GetProjectRuns, GetRunStatus, CancelRun, GetQueriedTables, ListDataConnections, ListThreads,
}

/// <summary>
/// The request pipeline: response delay, injected server errors, bearer authentication, the Intercept hook, rate windows, then the operation.
/// GetProject, Me, ListUsers and ListThreads use the oRPC error envelope <c>{code, message, issues}</c>; the rest use Tsoa <c>{reason, details?, traceId}</c>.
/// </summary>
internal sealed class Endpoints
{
    private const string ApiPrefix = "/api/v1";
    private const int MaxBodyBytes = 1 << 20;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly string[] ProjectSorts = ["CREATED_AT", "LAST_EDITED_AT", "LAST_PUBLISHED_AT"];
    private static readonly string[] UserSorts = ["NAME", "EMAIL"];
    private static readonly string[] Directions = ["ASC", "DESC"];
    private static readonly string[] TriggerFilters = ["API", "SCHEDULED", "APP_REFRESH", "ALL"];
    private static readonly string[] NotificationTypes = ["SUCCESS", "FAILURE", "ALL"];
    private static readonly string[] ThreadModels = ["claude-sonnet-4-5", "claude-opus-4-1", "gpt-5"];

    private readonly EmulatorOptions _options;
    private readonly EmulatorWorkspace _workspace;
    private readonly EmulatorStats _stats;
    private readonly RateWindows _rates;
    private readonly Func<Uri?> _baseUri;
    private readonly Random _faults;

    public Endpoints(EmulatorOptions options, EmulatorWorkspace workspace, EmulatorStats stats, Func<Uri?> baseUri)
    {
        _options = options;
        _workspace = workspace;
        _stats = stats;
        _rates = new RateWindows(options);
        _baseUri = baseUri;
        _faults = new Random(DemoWorkspace.Mix(options.Seed, -2, 0xFA17));
    }

    private DateTimeOffset Now => _options.Time.GetUtcNow();

    public async Task HandleAsync(HttpContext ctx)
    {
        var (operation, projectId, runId) = Route(ctx.Request);
        _stats.Request(operation.ToString());
        // As Hex does: the Date of every answer is the server's clock (the emulator's own, which tests may pin).
        ctx.Response.OnStarting(() =>
        {
            ctx.Response.Headers.Date = Now.ToString("R", CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        });

        if (projectId != null && _options.StalledProjectIds.Contains(projectId))
        {
            try { await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }

        if (_options.ResponseDelay > TimeSpan.Zero)
        {
            try { await Task.Delay(_options.ResponseDelay, ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }

        if (Roll(_options.ServerErrorRate))
        {
            _stats.InjectedError();
            if (Roll(0.5))
                await TsoaAsync(ctx, 500, "Internal server error");
            else
                await BadGatewayAsync(ctx);
            return;
        }

        var user = Authenticate(ctx.Request);
        if (user is null)
        {
            await UnauthorizedAsync(ctx, operation);
            return;
        }

        if (_options.Intercept?.Invoke(new EmulatorRequest(operation.ToString(), projectId, runId)) is int injected)
        {
            _stats.InjectedError();
            await (IsOrpc(operation)
                ? OrpcAsync(ctx, injected, injected == 404 ? "NOT_FOUND" : "INJECTED_FAULT", $"Injected fault ({injected})")
                : TsoaAsync(ctx, injected, injected == 404 ? "Project not found" : $"Injected fault ({injected})"));
            return;
        }

        var group = operation switch
        {
            Operation.RunProject => RateGroup.RunProject,
            Operation.Me or Operation.ListUsers or Operation.GetProject or Operation.GetQueriedTables or Operation.ListThreads => RateGroup.HexApiRead,
            _ => RateGroup.RequestOnly,
        };
        var decision = _rates.Acquire(user.Id, group, Now);
        if (_options.SendRateLimitHeaders)
            AddRateHeaders(ctx.Response, decision);
        if (!decision.Allowed)
        {
            _stats.Throttled();
            if (_options.SendRetryAfter)
            {
                ctx.Response.Headers.RetryAfter = _options.RetryAfterAsHttpDate
                    ? DateTimeOffset.FromUnixTimeSeconds(EpochSecondsRoundedUp(decision.ResetAt)).ToString("R", CultureInfo.InvariantCulture)
                    : Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }
            await TsoaAsync(ctx, 429, "Rate limit exceeded");
            return;
        }

        await (operation switch
        {
            Operation.Me => MeAsync(ctx, user),
            Operation.ListUsers => ListUsersAsync(ctx),
            Operation.ListProjects => ListProjectsAsync(ctx),
            Operation.GetProject => GetProjectAsync(ctx, projectId!),
            Operation.RunProject => RunProjectAsync(ctx, user, projectId!),
            Operation.GetProjectRuns => GetProjectRunsAsync(ctx, projectId!),
            Operation.GetRunStatus => GetRunStatusAsync(ctx, projectId!, runId!),
            Operation.CancelRun => CancelRunAsync(ctx, projectId!, runId!),
            Operation.GetQueriedTables => GetQueriedTablesAsync(ctx, projectId!),
            Operation.ListDataConnections => ListDataConnectionsAsync(ctx),
            Operation.ListThreads => ListThreadsAsync(ctx, user),
            _ => TsoaAsync(ctx, 404, "Not found"),
        });
    }

    private static (Operation, string?, string?) Route(HttpRequest request)
    {
        var path = request.Path.Value ?? "";
        if (!path.StartsWith(ApiPrefix + "/", StringComparison.Ordinal))
            return (Operation.Unknown, null, null);
        var s = path[(ApiPrefix.Length + 1)..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        var method = request.Method;
        return s switch
        {
            ["users", "me"] when HttpMethods.IsGet(method) => (Operation.Me, null, null),
            ["users"] when HttpMethods.IsGet(method) => (Operation.ListUsers, null, null),
            ["projects"] when HttpMethods.IsGet(method) => (Operation.ListProjects, null, null),
            ["projects", var p] when HttpMethods.IsGet(method) => (Operation.GetProject, p, null),
            ["projects", var p, "runs"] when HttpMethods.IsPost(method) => (Operation.RunProject, p, null),
            ["projects", var p, "runs"] when HttpMethods.IsGet(method) => (Operation.GetProjectRuns, p, null),
            ["projects", var p, "runs", var r] when HttpMethods.IsGet(method) => (Operation.GetRunStatus, p, r),
            ["projects", var p, "runs", var r] when HttpMethods.IsDelete(method) => (Operation.CancelRun, p, r),
            ["projects", var p, "queriedTables"] when HttpMethods.IsGet(method) => (Operation.GetQueriedTables, p, null),
            ["data-connections"] when HttpMethods.IsGet(method) => (Operation.ListDataConnections, null, null),
            ["threads"] when HttpMethods.IsGet(method) => (Operation.ListThreads, null, null),
            _ => (Operation.Unknown, null, null),
        };
    }

    private EmulatorUser? Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return null;
        if (!string.Equals(header[scheme.Length..].Trim(), _options.Token, StringComparison.Ordinal))
            return null;
        if (_options.TokenExpiresAt is { } exp && Now >= exp)
            return null;
        return _workspace.TokenUser;
    }

    private Task UnauthorizedAsync(HttpContext ctx, Operation operation)
    {
        if (_options.PlainTextUnauthorizedOnTsoaEndpoints && !IsOrpc(operation))
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            return ctx.Response.WriteAsync("Unauthorized");
        }
        return OrpcAsync(ctx, 401, "UNAUTHORIZED", "Missing, invalid or expired API token");
    }

    private static bool IsOrpc(Operation operation) =>
        operation is Operation.Me or Operation.ListUsers or Operation.GetProject or Operation.ListThreads;

    private void AddRateHeaders(HttpResponse response, RateDecision decision)
    {
        var prefix = _options.RateLimitHeaderPrefix;
        var reset = EpochSecondsRoundedUp(decision.ResetAt);
        response.Headers[prefix + "Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers[prefix + "Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers[prefix + "Reset"] = reset.ToString(CultureInfo.InvariantCulture);
    }

    private static long EpochSecondsRoundedUp(DateTimeOffset t) => (long)Math.Ceiling(t.ToUnixTimeMilliseconds() / 1000.0);

    private Task MeAsync(HttpContext ctx, EmulatorUser user)
    {
        var org = new { id = _workspace.OrgId };
        var token = new { exp = Payloads.Iso(_options.TokenExpiresAt) };
        if (_options.MinimalMeForWorkspaceToken && _options.Token.StartsWith("hxtw_", StringComparison.Ordinal))
            return JsonAsync(ctx, 200, new { org, token });
        return JsonAsync(ctx, 200, new
        {
            id = user.Id,
            name = user.Name,
            email = user.Email,
            role = user.Role,
            lastLoginDate = Payloads.Iso(user.LastLoginDate),
            org,
            token,
        });
    }

    private Task ListUsersAsync(HttpContext ctx)
    {
        var q = new QueryReader(ctx.Request.Query);
        var limit = q.Int("limit", 25, 1, 500);
        var sortBy = q.OneOf("sortBy", "NAME", UserSorts)!;
        var direction = q.OneOf("sortDirection", "ASC", Directions)!;
        var userIds = (q.String("userIds") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var groupId = q.String("groupId");
        var (after, before) = (q.String("after"), q.String("before"));
        if (after is not null && before is not null)
            q.Fail("'after' and 'before' cannot both be set");
        if (q.Error is { } error)
            return OrpcAsync(ctx, 400, "BAD_REQUEST", "Input validation failed", error);

        Func<EmulatorUser, string> key = sortBy == "EMAIL"
            ? u => u.Email.ToLowerInvariant()
            : u => u.Name?.ToLowerInvariant() ?? "~";
        var sorted = Keyset.Sort(groupId is null ? _workspace.Users : [], key, u => u.Id);
        Func<EmulatorUser, bool> include = userIds.Length == 0 ? _ => true : u => userIds.Contains(u.Id, StringComparer.OrdinalIgnoreCase);
        if (!Keyset.TryPage(sorted, include, direction == "DESC", limit, after, before, $"users|{sortBy}|{direction}", out var page))
            return OrpcAsync(ctx, 400, "BAD_REQUEST", "Input validation failed", "Invalid pagination cursor");
        return JsonAsync(ctx, 200, new { values = page.Values.Select(Payloads.User), pagination = new { after = page.After, before = page.Before } });
    }

    private Task ListProjectsAsync(HttpContext ctx)
    {
        var q = new QueryReader(ctx.Request.Query);
        var limit = q.Int("limit", 25, 1, 100);
        var includeArchived = q.Bool("includeArchived");
        var includeTrashed = q.Bool("includeTrashed");
        var includeComponents = q.Bool("includeComponents");
        var includeSharing = q.Bool("includeSharing");
        var sortBy = q.OneOf("sortBy", "CREATED_AT", ProjectSorts)!;
        var direction = q.OneOf("sortDirection", "DESC", Directions)!;
        var statuses = q.Many("statuses");
        var categories = q.Many("categories");
        var creatorEmail = q.String("creatorEmail");
        var ownerEmail = q.String("ownerEmail");
        var collectionId = q.String("collectionId");
        var (after, before) = (q.String("after"), q.String("before"));
        if (after is not null && before is not null)
            q.Fail("'after' and 'before' cannot both be set");
        if (q.Error is { } error)
            return TsoaAsync(ctx, 400, "Validation failed", error);

        bool Include(EmulatorProject p) =>
            (includeArchived || !p.IsArchived) &&
            (includeTrashed || !p.IsTrashed) &&
            (includeComponents || p.Type != "COMPONENT") &&
            (statuses.Length == 0 || (p.Status is not null && statuses.Contains(p.Status))) &&
            (categories.Length == 0 || p.Categories.Any(categories.Contains)) &&
            (creatorEmail is null || string.Equals(p.CreatorEmail, creatorEmail, StringComparison.OrdinalIgnoreCase)) &&
            (ownerEmail is null || string.Equals(p.OwnerEmail, ownerEmail, StringComparison.OrdinalIgnoreCase)) &&
            collectionId is null;
        var sorted = _workspace.ProjectsSortedBy(sortBy);
        if (!Keyset.TryPage(sorted, Include, direction == "DESC", limit, after, before, $"projects|{sortBy}|{direction}", out var page))
            return TsoaAsync(ctx, 400, "Validation failed", "Invalid pagination cursor");
        return JsonAsync(ctx, 200, new
        {
            values = page.Values.Select(p => Payloads.Project(p, _workspace.PublishedResultsUpdatedAt(p), includeSharing)),
            pagination = new { after = page.After, before = page.Before },
        });
    }

    private Task GetProjectAsync(HttpContext ctx, string projectId)
    {
        var q = new QueryReader(ctx.Request.Query);
        var includeSharing = q.Bool("includeSharing");
        if (!Guid.TryParse(projectId, out _))
            q.Fail("'projectId' must be a UUID");
        if (q.Error is { } error)
            return OrpcAsync(ctx, 400, "BAD_REQUEST", "Input validation failed", error);
        var project = _workspace.FindProject(projectId);
        if (project is null)
            return OrpcAsync(ctx, 404, "NOT_FOUND", "Project not found");
        return JsonAsync(ctx, 200, Payloads.Project(project, _workspace.PublishedResultsUpdatedAt(project), includeSharing));
    }

    private async Task RunProjectAsync(HttpContext ctx, EmulatorUser user, string projectId)
    {
        if (!Guid.TryParse(projectId, out _))
        {
            await TsoaAsync(ctx, 400, "Validation failed", "'projectId' must be a UUID");
            return;
        }
        var (body, bodyError) = await ReadRunBodyAsync(ctx.Request);
        if (bodyError is not null)
        {
            await TsoaAsync(ctx, 400, "Validation failed", bodyError);
            return;
        }
        var project = _workspace.FindProject(projectId);
        if (project is null)
        {
            await TsoaAsync(ctx, 404, "Project not found");
            return;
        }
        if (!project.IsPublished)
        {
            await TsoaAsync(ctx, 422, "Project is not published. Publish the project before running it through the API.");
            return;
        }

        var inputParams = body!.InputParams;
        var updatePublished = body.UpdatePublishedResults;
        if (inputParams is not null && updatePublished)
        {
            switch (_options.InputParamsWithPublishedResults)
            {
                case PublishedResultsConflict.Reject:
                    await TsoaAsync(ctx, 400, "Validation failed", "'updatePublishedResults' cannot be true when 'inputParams' are provided");
                    return;
                case PublishedResultsConflict.IgnoreInputParams:
                    inputParams = null;
                    break;
                default:
                    updatePublished = false;
                    break;
            }
        }
        if (inputParams is not null)
        {
            var notFound = inputParams.Value.EnumerateObject().Select(p => p.Name).Where(n => !project.InputNames.Contains(n)).ToArray();
            if (notFound.Length > 0)
            {
                await JsonAsync(ctx, 422, new { traceId = EmulatorWorkspace.NextTraceId(), invalid = Array.Empty<object>(), notFound });
                return;
            }
        }

        if (body.DryRun)
        {
            await JsonAsync(ctx, 201, RunCreated(project.Id, EmulatorWorkspace.NextGuid(), project.ProjectVersion, EmulatorWorkspace.NextTraceId()));
            return;
        }

        var request = new RunRequest(inputParams?.GetRawText(), body.ViewId, updatePublished, body.UseCachedSqlResults, body.NotificationsJson);
        var run = _workspace.TryStartRun(project, user, request, _options.MaxKernels);
        if (run is null)
        {
            _stats.KernelsExhausted();
            await TsoaAsync(ctx, 503, $"Kernel limit reached: this user already has {_options.MaxKernels} kernels running. No run was created.");
            return;
        }
        _stats.RunCreated(run.CreatedAt);

        if (_options.HoldRunProjectAnswer is { } hold)
        {
            try { await hold(new EmulatorRequest(Operation.RunProject.ToString(), project.Id, run.RunId), ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }

        if (Roll(_options.LostTriggerResponseRate))
        {
            _stats.LostTriggerResponse();
            var abort = _options.LostTriggerResponseMode switch
            {
                LostTriggerResponseKind.Abort => true,
                LostTriggerResponseKind.BadGateway => false,
                _ => Roll(0.5),
            };
            if (abort)
                ctx.Abort();
            else
                await BadGatewayAsync(ctx);
            return;
        }
        await JsonAsync(ctx, 201, RunCreated(project.Id, run.RunId, run.ProjectVersion, run.TraceId));
    }

    private object RunCreated(string projectId, string runId, int projectVersion, string traceId) => new
    {
        projectId,
        runId,
        runUrl = RunUrl(projectId, runId),
        runStatusUrl = $"{BaseUri}/projects/{projectId}/runs/{runId}",
        traceId,
        projectVersion,
    };

    private Task GetRunStatusAsync(HttpContext ctx, string projectId, string runId)
    {
        if (!Guid.TryParse(projectId, out _) || !Guid.TryParse(runId, out _))
            return TsoaAsync(ctx, 400, "Validation failed", "'projectId' and 'runId' must be UUIDs");
        var project = _workspace.FindProject(projectId);
        var run = project is null ? null : _workspace.FindRun(project, runId);
        if (run is null)
            return TsoaAsync(ctx, 404, project is null ? "Project not found" : "Run not found");
        return JsonAsync(ctx, 200, Payloads.Run(run, Now, RunUrl(run.ProjectId, run.RunId)));
    }

    private Task GetProjectRunsAsync(HttpContext ctx, string projectId)
    {
        var q = new QueryReader(ctx.Request.Query);
        var limit = q.Int("limit", 25, 1, 100);
        var offset = q.Int("offset", 0, 0, int.MaxValue);
        var statusFilter = q.OneOf("statusFilter", null, RunStatus.All);
        var triggerFilter = q.OneOf("runTriggerFilter", null, TriggerFilters);
        if (!Guid.TryParse(projectId, out _))
            q.Fail("'projectId' must be a UUID");
        if (q.Error is { } error)
            return TsoaAsync(ctx, 400, "Validation failed", error);
        var project = _workspace.FindProject(projectId);
        if (project is null)
            return TsoaAsync(ctx, 404, "Project not found");
        if (!project.IsPublished)
            return TsoaAsync(ctx, 422, "Project is not published. Run history is only available for published projects.");

        var now = Now;
        IEnumerable<EmulatorRun> runs = _workspace.NewestFirst(project);
        if (_options.LegacyApiRunsOnly)
            runs = runs.Where(r => r.RunTrigger == RunTrigger.Api);
        if (triggerFilter is not null and not "ALL")
            runs = runs.Where(r => r.RunTrigger == triggerFilter);
        if (statusFilter is not null)
            runs = runs.Where(r => r.At(now).Status == statusFilter);
        var matching = runs.ToList();
        var page = matching.Skip(offset).Take(limit).Select(r => Payloads.Run(r, now, RunUrl(r.ProjectId, r.RunId))).ToArray();

        string PageUrl(int pageOffset)
        {
            var url = new StringBuilder($"{BaseUri}/projects/{project.Id}/runs?limit={limit}&offset={pageOffset}");
            if (statusFilter is not null)
                url.Append("&statusFilter=").Append(statusFilter);
            if (triggerFilter is not null)
                url.Append("&runTriggerFilter=").Append(triggerFilter);
            return url.ToString();
        }
        return JsonAsync(ctx, 200, new
        {
            runs = page,
            nextPage = (long)offset + limit < matching.Count ? PageUrl(offset + limit) : null,
            previousPage = offset > 0 ? PageUrl(Math.Max(0, offset - limit)) : null,
            traceId = EmulatorWorkspace.NextTraceId(),
        });
    }

    /// <summary>GetQueriedTables: Enterprise only (403 otherwise), published projects only (422), cursor-paged in list order.</summary>
    private Task GetQueriedTablesAsync(HttpContext ctx, string projectId)
    {
        if (!_options.QueriedTablesAvailable)
            return TsoaAsync(ctx, 403, "This feature is not available on your plan");
        var q = new QueryReader(ctx.Request.Query);
        var limit = q.Int("limit", 25, 1, 100);
        var (after, before) = (q.String("after"), q.String("before"));
        if (after is not null && before is not null)
            q.Fail("'after' and 'before' cannot both be set");
        if (!Guid.TryParse(projectId, out _))
            q.Fail("'projectId' must be a UUID");
        if (q.Error is { } error)
            return TsoaAsync(ctx, 400, "Validation failed", error);
        var project = _workspace.FindProject(projectId);
        if (project is null)
            return TsoaAsync(ctx, 404, "Project not found");
        if (!project.IsPublished)
            return TsoaAsync(ctx, 422, "Project is not published. Queried tables are only available for published projects.");

        var tables = project.QueriedTables;
        var sorted = new KeysetEntry<EmulatorQueriedTable>[tables.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            var position = i.ToString("D10", CultureInfo.InvariantCulture);
            sorted[i] = new KeysetEntry<EmulatorQueriedTable>(position, position, tables[i]);
        }
        if (!Keyset.TryPage(sorted, _ => true, false, limit, after, before, $"queriedTables|{project.Id}", out var page))
            return TsoaAsync(ctx, 400, "Validation failed", "Invalid pagination cursor");
        return JsonAsync(ctx, 200, new
        {
            values = page.Values.Select(t => new { dataConnectionId = t.DataConnectionId, dataConnectionName = t.DataConnectionName, tableName = t.TableName }),
            pagination = new { after = page.After, before = page.Before },
            traceId = EmulatorWorkspace.NextTraceId(),
        });
    }

    /// <summary>ListDataConnections: short records <c>{id, name, type, description}</c> in creation order, cursor-paged.</summary>
    private Task ListDataConnectionsAsync(HttpContext ctx)
    {
        var q = new QueryReader(ctx.Request.Query);
        var limit = q.Int("limit", 25, 1, 100);
        var (after, before) = (q.String("after"), q.String("before"));
        if (after is not null && before is not null)
            q.Fail("'after' and 'before' cannot both be set");
        if (q.Error is { } error)
            return TsoaAsync(ctx, 400, "Validation failed", error);

        var connections = _workspace.DataConnections;
        var sorted = new KeysetEntry<EmulatorDataConnection>[connections.Count];
        for (var i = 0; i < sorted.Length; i++)
            sorted[i] = new KeysetEntry<EmulatorDataConnection>(i.ToString("D10", CultureInfo.InvariantCulture), connections[i].Id, connections[i]);
        if (!Keyset.TryPage(sorted, _ => true, false, limit, after, before, "dataConnections", out var page))
            return TsoaAsync(ctx, 400, "Validation failed", "Invalid pagination cursor");
        return JsonAsync(ctx, 200, new
        {
            values = page.Values.Select(Payloads.DataConnection),
            pagination = new { after = page.After, before = page.Before },
        });
    }

    /// <summary>
    /// ListThreads: Manager role or higher (403 FORBIDDEN otherwise). Admins see every thread, managers their own plus every
    /// THREADS-type thread; sensitive (private) threads are listed with a null title. Newest first, cursor-paged; filters
    /// <c>numDays</c> (created within the last N days of the emulator clock) and comma-separated <c>userId</c>, <c>source</c>, <c>type</c>.
    /// </summary>
    private Task ListThreadsAsync(HttpContext ctx, EmulatorUser user)
    {
        var isAdmin = user.Role == OrgRole.Admin;
        if (!isAdmin && user.Role != OrgRole.Manager)
            return OrpcAsync(ctx, 403, "FORBIDDEN", "ListThreads requires the Manager role or higher.");

        var q = new QueryReader(ctx.Request.Query);
        var limit = q.Int("limit", 25, 1, 100);
        int? numDays = q.String("numDays") is null ? null : q.Int("numDays", 0, 1, int.MaxValue);
        var userIds = q.List("userId");
        var sources = q.List("source");
        var types = q.List("type");
        if (userIds.Any(id => !Guid.TryParse(id, out _)))
            q.Fail("'userId' must be a UUID or a comma-separated list of UUIDs");
        if (sources.Any(v => !ThreadSource.All.Contains(v)))
            q.Fail($"'source' must be one or more of {string.Join(", ", ThreadSource.All)}");
        if (types.Any(v => !ThreadType.All.Contains(v)))
            q.Fail($"'type' must be one or more of {string.Join(", ", ThreadType.All)}");
        var (after, before) = (q.String("after"), q.String("before"));
        if (after is not null && before is not null)
            q.Fail("'after' and 'before' cannot both be set");
        if (q.Error is { } error)
            return OrpcAsync(ctx, 400, "BAD_REQUEST", "Input validation failed", error);

        var since = numDays is { } days ? Now - TimeSpan.FromDays(days) : DateTimeOffset.MinValue;
        bool Include(EmulatorThread t) =>
            (isAdmin || string.Equals(t.UserId, user.Id, StringComparison.OrdinalIgnoreCase) || t.Type == ThreadType.Threads) &&
            t.CreatedAt >= since &&
            (userIds.Length == 0 || userIds.Contains(t.UserId, StringComparer.OrdinalIgnoreCase)) &&
            (sources.Length == 0 || sources.Contains(t.Source)) &&
            (types.Length == 0 || types.Contains(t.Type));
        if (!Keyset.TryPage(_workspace.ThreadsAscending(), Include, true, limit, after, before, "threads", out var page))
            return OrpcAsync(ctx, 400, "BAD_REQUEST", "Input validation failed", "Invalid pagination cursor");
        var origin = _baseUri() is { } b ? b.GetLeftPart(UriPartial.Authority) : "http://127.0.0.1";
        return JsonAsync(ctx, 200, new
        {
            threads = page.Values.Select(t => new
            {
                id = t.Id,
                orgId = _workspace.OrgId,
                url = $"{origin}/hex/threads/{t.Id}",
                userId = t.UserId,
                title = t.Sensitive ? null : t.Title,
                creditsUsed = t.CreditsUsed,
                type = t.Type,
                source = t.Source,
                createdAt = Payloads.Iso(t.CreatedAt),
                sensitive = t.Sensitive,
                model = ThreadModels[t.Id.Sum(c => c) % ThreadModels.Length],
                topics = Array.Empty<object>(),
                warnings = Array.Empty<object>(),
                feedback = Array.Empty<object>(),
            }),
            pagination = new { before = page.Before, after = page.After },
        });
    }

    private Task CancelRunAsync(HttpContext ctx, string projectId, string runId)
    {
        if (!Guid.TryParse(projectId, out _) || !Guid.TryParse(runId, out _))
            return TsoaAsync(ctx, 400, "Validation failed", "'projectId' and 'runId' must be UUIDs");
        var project = _workspace.FindProject(projectId);
        if (project is null)
            return TsoaAsync(ctx, 404, "Project not found");
        switch (_workspace.Cancel(project, runId))
        {
            case CancelResult.NotFound:
                return TsoaAsync(ctx, 404, "Run not found");
            case CancelResult.AlreadyFinished:
                return TsoaAsync(ctx, 422, "Run has already finished and cannot be cancelled");
            default:
                ctx.Response.StatusCode = 204;
                return Task.CompletedTask;
        }
    }

    private sealed record RunBody(JsonElement? InputParams, bool DryRun, bool UpdatePublishedResults, bool UseCachedSqlResults,
        string? ViewId, string? NotificationsJson);

    private async Task<(RunBody?, string?)> ReadRunBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length > MaxBodyBytes)
            return (null, "Request body is too large");
        if (buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            return (new RunBody(null, false, false, true, null, null), null);

        JsonDocument doc;
        try { doc = JsonDocument.Parse(buffer.ToArray()); }
        catch (JsonException) { return (null, "Request body is not valid JSON"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Null)
                return (new RunBody(null, false, false, true, null, null), null);
            if (root.ValueKind != JsonValueKind.Object)
                return (null, "Request body must be a JSON object");

            JsonElement? inputParams = null;
            bool dryRun = false, updatePublished = false, useCached = true;
            string? viewId = null, notifications = null;
            foreach (var property in root.EnumerateObject())
            {
                var value = property.Value;
                if (value.ValueKind == JsonValueKind.Null)
                    continue;
                string? error = null;
                switch (property.Name)
                {
                    case "inputParams":
                        if (value.ValueKind == JsonValueKind.Object)
                            inputParams = value.Clone();
                        else
                            error = "'inputParams' must be an object";
                        break;
                    case "dryRun":
                        error = ReadBool(value, property.Name, ref dryRun);
                        break;
                    case "updatePublishedResults":
                    case "updateCache":
                        var flag = false;
                        error = ReadBool(value, property.Name, ref flag);
                        updatePublished |= flag;
                        break;
                    case "useCachedSqlResults":
                        error = ReadBool(value, property.Name, ref useCached);
                        break;
                    case "viewId":
                        if (value.ValueKind == JsonValueKind.String)
                            viewId = value.GetString();
                        else
                            error = "'viewId' must be a string";
                        break;
                    case "notifications":
                        error = ValidateNotifications(value);
                        notifications = value.GetRawText();
                        break;
                    default:
                        if (_options.RejectUnknownBodyFields)
                            error = $"\"{property.Name}\" is an excess property and therefore is not allowed";
                        break;
                }
                if (error is not null)
                    return (null, error);
            }
            if (inputParams is not null && viewId is not null)
                return (null, "'inputParams' cannot be combined with 'viewId'");
            return (new RunBody(inputParams, dryRun, updatePublished, useCached, viewId, notifications), null);
        }
    }

    private static string? ReadBool(JsonElement value, string name, ref bool target)
    {
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            return $"'{name}' must be a boolean";
        target = value.GetBoolean();
        return null;
    }

    private static string? ValidateNotifications(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
            return "'notifications' must be an array";
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
                return "each notification must be an object";
            if (!item.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || !NotificationTypes.Contains(type.GetString()))
                return "notification 'type' must be one of SUCCESS, FAILURE, ALL";
            if (!item.TryGetProperty("includeSuccessScreenshot", out var shot) || shot.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                return "notification 'includeSuccessScreenshot' is required and must be a boolean";
        }
        return null;
    }

    private string BaseUri => (_baseUri()?.ToString() ?? "http://127.0.0.1" + ApiPrefix).TrimEnd('/');

    private string RunUrl(string projectId, string runId)
    {
        var origin = _baseUri() is { } b ? b.GetLeftPart(UriPartial.Authority) : "http://127.0.0.1";
        return $"{origin}/hex/{projectId}/run/{runId}";
    }

    private bool Roll(double rate)
    {
        if (rate <= 0)
            return false;
        if (rate >= 1)
            return true;
        lock (_faults)
            return _faults.NextDouble() < rate;
    }

    private static Task JsonAsync(HttpContext ctx, int status, object body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(ctx.Response.Body, body, body.GetType(), Json, ctx.RequestAborted);
    }

    private Task TsoaAsync(HttpContext ctx, int status, string reason, string? details = null) =>
        details is null
            ? JsonAsync(ctx, status, new { reason, traceId = EmulatorWorkspace.NextTraceId() })
            : JsonAsync(ctx, status, new { reason, details, traceId = EmulatorWorkspace.NextTraceId() });

    private static Task OrpcAsync(HttpContext ctx, int status, string code, string message, string? issue = null) =>
        JsonAsync(ctx, status, new { code, message, issues = issue is null ? [] : new[] { new { message = issue } } });

    private static Task BadGatewayAsync(HttpContext ctx)
    {
        ctx.Response.StatusCode = 502;
        ctx.Response.ContentType = "text/html; charset=utf-8";
        return ctx.Response.WriteAsync("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>");
    }
}
