using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;

namespace HexCost.Emulator;

/// <summary>The six run statuses Hex documents.</summary>
public static class RunStatus
{
    public const string Pending = "PENDING";
    public const string Running = "RUNNING";
    public const string Errored = "ERRORED";
    public const string Completed = "COMPLETED";
    public const string Killed = "KILLED";
    public const string UnableToAllocateKernel = "UNABLE_TO_ALLOCATE_KERNEL";

    public static readonly IReadOnlyList<string> All = [Pending, Running, Errored, Completed, Killed, UnableToAllocateKernel];
    public static readonly IReadOnlyList<string> Terminal = [Errored, Completed, Killed, UnableToAllocateKernel];
}

public static class RunTrigger
{
    public const string Api = "API";
    public const string Scheduled = "SCHEDULED";
    public const string AppRefresh = "APP_REFRESH";

    public static readonly IReadOnlyList<string> All = [Api, Scheduled, AppRefresh];
}

public static class OrgRole
{
    public const string Admin = "ADMIN";
    public const string Manager = "MANAGER";
    public const string Editor = "EDITOR";
    public const string Explorer = "EXPLORER";
    public const string Member = "MEMBER";
    public const string Guest = "GUEST";
    public const string EmbeddedUser = "EMBEDDED_USER";
    public const string Anonymous = "ANONYMOUS";
}

public sealed record EmulatorUser(string Id, string? Name, string Email, string Role, DateTimeOffset? LastLoginDate);

/// <summary>The thread types ListThreads reports and filters on (<c>type</c>).</summary>
public static class ThreadType
{
    public const string Threads = "THREADS";
    public const string Notebook = "NOTEBOOK";
    public const string Modeling = "MODELING";

    public static readonly IReadOnlyList<string> All = [Threads, Notebook, Modeling];
}

/// <summary>Where a thread was started (<c>source</c>).</summary>
public static class ThreadSource
{
    public const string Hex = "HEX";
    public const string Slack = "SLACK";
    public const string Mcp = "MCP";
    public const string PublicApi = "PUBLIC_API";

    public static readonly IReadOnlyList<string> All = [Hex, Slack, Mcp, PublicApi];
}

/// <summary>
/// An AI agent thread as ListThreads reports it. <see cref="Title"/> is the real title; ListThreads sends null instead when the
/// thread is <see cref="Sensitive"/> (private). <see cref="CreditsUsed"/> null = Hex has no figure for the thread.
/// </summary>
public sealed record EmulatorThread(string Id, string UserId, string? Title, double? CreditsUsed, string Type, string Source,
    DateTimeOffset CreatedAt, bool Sensitive);

/// <summary>The data-connection types Hex's 2026 spec lists (lowercase, as the API sends them).</summary>
public static class DataConnectionType
{
    public const string Athena = "athena";
    public const string BigQuery = "bigquery";
    public const string ClickHouse = "clickhouse";
    public const string Databricks = "databricks";
    public const string Postgres = "postgres";
    public const string Redshift = "redshift";
    public const string Snowflake = "snowflake";
    public const string Trino = "trino";

    public static readonly IReadOnlyList<string> All = [Athena, BigQuery, ClickHouse, Databricks, Postgres, Redshift, Snowflake, Trino];
}

/// <summary>A data connection as ListDataConnections returns it (the short record: no connection details or secrets).</summary>
public sealed record EmulatorDataConnection(string Id, string Name, string Type, string? Description);

/// <summary>One table a published project queries, as GetQueriedTables returns it.</summary>
public sealed record EmulatorQueriedTable(string DataConnectionId, string DataConnectionName, string TableName)
{
    public EmulatorQueriedTable(EmulatorDataConnection connection, string tableName)
        : this(connection.Id, connection.Name, tableName)
    {
    }
}

public sealed record EmulatorAppViews(int AllTime, int LastSevenDays, int LastFourteenDays, int LastThirtyDays)
{
    public static readonly EmulatorAppViews None = new(0, 0, 0, 0);
}

/// <summary>
/// A project schedule as Hex exposes it. <see cref="Cadence"/> selects which fields are meaningful:
/// HOURLY (Minute), DAILY (Hour, Minute), WEEKLY (DayOfWeek, Hour, Minute), MONTHLY (Day 1-28, Hour, Minute), CUSTOM (Cron).
/// </summary>
public sealed record EmulatorSchedule
{
    public string Cadence { get; init; } = "DAILY";
    public bool Enabled { get; init; } = true;
    /// <summary>ISO-8601 offset such as <c>+00:00</c>, not an IANA zone.</summary>
    public string Timezone { get; init; } = "+00:00";
    public int Minute { get; init; }
    public int Hour { get; init; }
    /// <summary>SUNDAY..SATURDAY.</summary>
    public string DayOfWeek { get; init; } = "MONDAY";
    public int Day { get; init; } = 1;
    public string? Cron { get; init; }

    public static EmulatorSchedule Hourly(int minute, bool enabled = true) => new() { Cadence = "HOURLY", Minute = minute, Enabled = enabled };
    public static EmulatorSchedule Daily(int hour, int minute, bool enabled = true) => new() { Cadence = "DAILY", Hour = hour, Minute = minute, Enabled = enabled };
    public static EmulatorSchedule Weekly(string dayOfWeek, int hour, int minute, bool enabled = true) =>
        new() { Cadence = "WEEKLY", DayOfWeek = dayOfWeek, Hour = hour, Minute = minute, Enabled = enabled };
    public static EmulatorSchedule Monthly(int day, int hour, int minute, bool enabled = true) =>
        new() { Cadence = "MONTHLY", Day = day, Hour = hour, Minute = minute, Enabled = enabled };
    public static EmulatorSchedule Custom(string cron, bool enabled = true) => new() { Cadence = "CUSTOM", Cron = cron, Enabled = enabled };

    internal TimeSpan ApproximateInterval => Cadence switch
    {
        "HOURLY" => TimeSpan.FromHours(1),
        "DAILY" => TimeSpan.FromDays(1),
        "WEEKLY" => TimeSpan.FromDays(7),
        "MONTHLY" => TimeSpan.FromDays(30),
        _ => TimeSpan.FromHours(6),
    };
}

/// <summary>
/// A project in the emulated workspace. Properties may be changed by tests; changes are visible to the next request.
/// Defaults for <see cref="EmulatorWorkspace.AddProject"/>: a published PROJECT with version 1, inputs "region" and "limit",
/// no schedules, and <see cref="RunOutcome"/> COMPLETED (ERRORED when the title starts with "Failing").
/// </summary>
public sealed class EmulatorProject
{
    private string _runOutcome = RunStatus.Completed;
    private DateTimeOffset _createdAt;
    private DateTimeOffset _lastEditedAt;
    private DateTimeOffset? _lastPublishedAt;
    private IReadOnlyList<EmulatorQueriedTable> _queriedTables = [];

    internal EmulatorProject(string id, int? demoIndex)
    {
        Id = id;
        DemoIndex = demoIndex;
    }

    public string Id { get; }
    public string Title { get; set; } = "";
    public string? Description { get; set; }
    /// <summary>PROJECT or COMPONENT.</summary>
    public string Type { get; set; } = "PROJECT";
    public string OwnerEmail { get; set; } = "";
    public string CreatorEmail { get; set; } = "";
    /// <summary>Workspace-defined status name (e.g. "Approved"); null = no status.</summary>
    public string? Status { get; set; }
    public IReadOnlyList<string> Categories { get; set; } = [];
    public bool ReviewsRequired { get; set; }
    public DateTimeOffset CreatedAt
    {
        get => _createdAt;
        set { _createdAt = value; Owner?.SortKeysChanged(); }
    }

    public DateTimeOffset LastEditedAt
    {
        get => _lastEditedAt;
        set { _lastEditedAt = value; Owner?.SortKeysChanged(); }
    }

    /// <summary>Null = never published: RunProject and GetProjectRuns answer 422.</summary>
    public DateTimeOffset? LastPublishedAt
    {
        get => _lastPublishedAt;
        set { _lastPublishedAt = value; Owner?.SortKeysChanged(); }
    }
    public DateTimeOffset? ArchivedAt { get; set; }
    public DateTimeOffset? TrashedAt { get; set; }
    public DateTimeOffset? LastViewedAt { get; set; }
    public DateTimeOffset? PublishedResultsUpdatedAt { get; set; }
    public EmulatorAppViews AppViews { get; set; } = EmulatorAppViews.None;
    public IReadOnlyList<EmulatorSchedule> Schedules { get; set; } = [];
    /// <summary>Published version; new runs record it.</summary>
    public int ProjectVersion { get; set; } = 1;
    /// <summary>
    /// Tables the published project queries, in the order GetQueriedTables pages them (null is stored as empty).
    /// Demo projects and <see cref="EmulatorWorkspace.AddProject"/> derive 0-3 tables of the demo data connections from the
    /// title with copy markers removed, so "Revenue dashboard" and "Revenue Dashboard (copy)" query the same tables.
    /// </summary>
    public IReadOnlyList<EmulatorQueriedTable> QueriedTables
    {
        get => Volatile.Read(ref _queriedTables);
        set => Volatile.Write(ref _queriedTables, value ?? []);
    }

    /// <summary>Names of the published input parameters; RunProject answers 422 (notFound) for any other name.</summary>
    public IReadOnlyList<string> InputNames { get; set; } = ["region", "limit"];

    /// <summary>Terminal status that new runs of this project reach: COMPLETED, ERRORED, KILLED or UNABLE_TO_ALLOCATE_KERNEL.</summary>
    public string RunOutcome
    {
        get => _runOutcome;
        set => _runOutcome = RunStatus.Terminal.Contains(value)
            ? value
            : throw new ArgumentException($"RunOutcome must be one of {string.Join(", ", RunStatus.Terminal)}.", nameof(value));
    }

    /// <summary>RUNNING time of new runs instead of <see cref="EmulatorOptions.RunDuration"/>; a negative value
    /// (e.g. <see cref="Timeout.InfiniteTimeSpan"/>) or one too large to add to the clock means the run never finishes.</summary>
    public TimeSpan? RunDurationOverride { get; set; }

    public bool IsPublished => LastPublishedAt is not null;
    public bool IsArchived => ArchivedAt is not null;
    public bool IsTrashed => TrashedAt is not null;

    internal int? DemoIndex { get; }

    internal EmulatorWorkspace? Owner { get; set; }

    /// <summary>Runs in creation order; null until the demo history is generated. Guarded by the workspace lock.</summary>
    internal List<EmulatorRun>? RunList { get; set; }

    /// <summary>API runs that asked to update the published results. Guarded by the workspace lock.</summary>
    internal List<EmulatorRun> ResultUpdaters { get; } = [];
}

/// <summary>
/// One run. Its status is derived from the clock when read: PENDING until <see cref="ScheduledStartAt"/>, RUNNING until
/// <see cref="ScheduledEndAt"/>, then <see cref="Outcome"/>; KILLED from the moment it is cancelled.
/// An UNABLE_TO_ALLOCATE_KERNEL outcome happens at <see cref="ScheduledStartAt"/> and the run never starts.
/// </summary>
public sealed class EmulatorRun
{
    private readonly TimeProvider _time;
    private long _cancelledAtTicks;

    internal EmulatorRun(TimeProvider time, string projectId, string runId, string runTrigger, string userId, DateTimeOffset createdAt,
        DateTimeOffset scheduledStartAt, DateTimeOffset? scheduledEndAt, string outcome, int projectVersion, string traceId)
    {
        _time = time;
        ProjectId = projectId;
        RunId = runId;
        RunTrigger = runTrigger;
        UserId = userId;
        CreatedAt = createdAt;
        ScheduledStartAt = scheduledStartAt;
        ScheduledEndAt = scheduledEndAt;
        Outcome = outcome;
        ProjectVersion = projectVersion;
        TraceId = traceId;
    }

    public string ProjectId { get; }
    public string RunId { get; }
    /// <summary>API, SCHEDULED or APP_REFRESH.</summary>
    public string RunTrigger { get; }
    /// <summary>The user whose kernel the run holds.</summary>
    public string UserId { get; }
    public DateTimeOffset CreatedAt { get; }
    public DateTimeOffset ScheduledStartAt { get; }
    /// <summary>Null = never finishes unless cancelled.</summary>
    public DateTimeOffset? ScheduledEndAt { get; }
    public string Outcome { get; }
    public int ProjectVersion { get; }
    public string TraceId { get; }
    public string? InputParamsJson { get; init; }
    public string? ViewId { get; init; }
    public bool UpdatePublishedResults { get; init; }
    public bool UseCachedSqlResults { get; init; } = true;
    public string? NotificationsJson { get; init; }

    public JsonObject? InputParams => InputParamsJson is null ? null : JsonNode.Parse(InputParamsJson)?.AsObject();

    public DateTimeOffset? CancelledAt
    {
        get
        {
            var ticks = Interlocked.Read(ref _cancelledAtTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    public bool Cancelled => CancelledAt is not null;

    public string Status => At(_time.GetUtcNow()).Status;
    public DateTimeOffset? StartTime => At(_time.GetUtcNow()).StartTime;
    public DateTimeOffset? EndTime => At(_time.GetUtcNow()).EndTime;
    public double? ElapsedTime => At(_time.GetUtcNow()).ElapsedTime;

    public RunState At(DateTimeOffset now)
    {
        if (CancelledAt is { } killed)
        {
            var started = Outcome != RunStatus.UnableToAllocateKernel && ScheduledStartAt <= killed ? ScheduledStartAt : (DateTimeOffset?)null;
            return new RunState(RunStatus.Killed, started, killed);
        }
        if (now < ScheduledStartAt)
            return new RunState(RunStatus.Pending, null, null);
        if (Outcome == RunStatus.UnableToAllocateKernel)
            return new RunState(Outcome, null, ScheduledStartAt);
        if (ScheduledEndAt is not { } end || now < end)
            return new RunState(RunStatus.Running, ScheduledStartAt, null);
        return new RunState(Outcome, ScheduledStartAt, end);
    }

    internal bool IsLiveAt(DateTimeOffset now) => At(now).Status is RunStatus.Pending or RunStatus.Running;

    internal void MarkCancelled(DateTimeOffset at) => Interlocked.Exchange(ref _cancelledAtTicks, at.UtcTicks);
}

public readonly record struct RunState(string Status, DateTimeOffset? StartTime, DateTimeOffset? EndTime)
{
    public double? ElapsedTime => StartTime is { } s && EndTime is { } e ? (e - s).TotalMilliseconds : null;
    public bool IsTerminal => Status is not (RunStatus.Pending or RunStatus.Running);
}
