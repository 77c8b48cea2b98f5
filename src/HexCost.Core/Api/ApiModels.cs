using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HexCost.Api
{
    // Wire shapes of Hex's API (see shared/hex-api.md §4-§8). Everything Hex documents as nullable is nullable here.

    public sealed class MeResponse
    {
        public string? Id { get; set; }
        public string? Name { get; set; }
        public string? Email { get; set; }
        public string? Role { get; set; }
        public DateTimeOffset? LastLoginDate { get; set; }
        public OrgRef? Org { get; set; }
        public TokenInfo? Token { get; set; }
    }

    public sealed class OrgRef { public string? Id { get; set; } }

    public sealed class TokenInfo { public DateTimeOffset? Exp { get; set; } }

    public sealed class EmailRef { public string? Email { get; set; } }

    public sealed class NameRef { public string? Name { get; set; } }

    public sealed class AppViews
    {
        public int AllTime { get; set; }
        public int LastSevenDays { get; set; }
        public int LastFourteenDays { get; set; }
        public int LastThirtyDays { get; set; }
    }

    public sealed class ProjectAnalytics
    {
        public DateTimeOffset? PublishedResultsUpdatedAt { get; set; }
        public DateTimeOffset? LastViewedAt { get; set; }
        public AppViews? AppViews { get; set; }
    }

    public sealed class ProjectResource
    {
        public string Id { get; set; } = "";
        public string? Title { get; set; }
        public string? Description { get; set; }
        public string? Type { get; set; }
        public EmailRef? Creator { get; set; }
        public EmailRef? Owner { get; set; }
        public NameRef? Status { get; set; }
        public ProjectAnalytics? Analytics { get; set; }
        public DateTimeOffset? LastEditedAt { get; set; }
        public DateTimeOffset? LastPublishedAt { get; set; }
        public DateTimeOffset? CreatedAt { get; set; }
        public DateTimeOffset? ArchivedAt { get; set; }
        public DateTimeOffset? TrashedAt { get; set; }
        public List<ScheduleResource>? Schedules { get; set; }
    }

    public sealed class ScheduleResource
    {
        public string? Cadence { get; set; }
        public bool Enabled { get; set; }
        public ScheduleDetail? Hourly { get; set; }
        public ScheduleDetail? Daily { get; set; }
        public ScheduleDetail? Weekly { get; set; }
        public ScheduleDetail? Monthly { get; set; }
        public ScheduleDetail? Custom { get; set; }
    }

    public sealed class ScheduleDetail
    {
        public string? Timezone { get; set; }
        public int? Minute { get; set; }
        public int? Hour { get; set; }
        public string? DayOfWeek { get; set; }
        public int? Day { get; set; }
        public string? Cron { get; set; }
    }

    public sealed class Pagination
    {
        public string? After { get; set; }
        public string? Before { get; set; }
    }

    public sealed class ProjectPage
    {
        public List<ProjectResource>? Values { get; set; }
        public Pagination? Pagination { get; set; }
    }

    public sealed class UserResource
    {
        public string Id { get; set; } = "";
        public string? Name { get; set; }
        public string? Email { get; set; }
        public string? Role { get; set; }
        public DateTimeOffset? LastLoginDate { get; set; }
    }

    public sealed class UserPage
    {
        public List<UserResource>? Values { get; set; }
        public Pagination? Pagination { get; set; }
    }

    public sealed class QueriedTable
    {
        public string? DataConnectionId { get; set; }
        public string? DataConnectionName { get; set; }
        public string? TableName { get; set; }
    }

    public sealed class QueriedTablePage
    {
        public List<QueriedTable>? Values { get; set; }
        public Pagination? Pagination { get; set; }
    }

    public sealed class ThreadResource
    {
        public string Id { get; set; } = "";
        public string? UserId { get; set; }
        public string? Title { get; set; }
        public double? CreditsUsed { get; set; }
        public string? Type { get; set; }
        public string? Source { get; set; }
        public DateTimeOffset? CreatedAt { get; set; }
    }

    public sealed class ThreadPage
    {
        public List<ThreadResource>? Threads { get; set; }
        public Pagination? Pagination { get; set; }
    }

    public sealed class RunProjectBody
    {
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public JsonElement? InputParams { get; set; }
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public bool DryRun { get; set; }
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public bool UpdatePublishedResults { get; set; }
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public bool? UseCachedSqlResults { get; set; }
    }

    public sealed class RunCreated
    {
        public string? ProjectId { get; set; }
        public string RunId { get; set; } = "";
        public string? RunUrl { get; set; }
        public string? RunStatusUrl { get; set; }
        public string? TraceId { get; set; }
        public int? ProjectVersion { get; set; }
    }

    public sealed class RunStatusPayload
    {
        public string? ProjectId { get; set; }
        public int? ProjectVersion { get; set; }
        public string RunId { get; set; } = "";
        public string? RunUrl { get; set; }
        public string? Status { get; set; }
        public string? RunTrigger { get; set; }
        public DateTimeOffset? StartTime { get; set; }
        public DateTimeOffset? EndTime { get; set; }
        public double? ElapsedTime { get; set; }
        public string? TraceId { get; set; }
    }

    public sealed class RunsPage
    {
        public List<RunStatusPayload>? Runs { get; set; }
        public string? NextPage { get; set; }
        public string? PreviousPage { get; set; }
        public string? TraceId { get; set; }
    }

    /// <summary>Both of Hex's error envelopes (Tsoa: reason/details/traceId; oRPC: code/message/issues)
    /// and the RunProject InvalidParamPayload, read leniently.</summary>
    public sealed class ErrorEnvelope
    {
        public string? Reason { get; set; }
        public JsonElement? Details { get; set; }
        public string? TraceId { get; set; }
        public string? Code { get; set; }
        public string? Message { get; set; }
        public List<ErrorIssue>? Issues { get; set; }
        public List<InvalidParam>? Invalid { get; set; }
        public List<string>? NotFound { get; set; }
    }

    public sealed class ErrorIssue { public string? Message { get; set; } }

    public sealed class InvalidParam
    {
        public string? ParamName { get; set; }
        public string? ParamValue { get; set; }
        public string? DataType { get; set; }
        public string? InputCellType { get; set; }
    }

    public static class RunStatuses
    {
        public const string Pending = "PENDING";
        public const string Running = "RUNNING";
        public const string Errored = "ERRORED";
        public const string Completed = "COMPLETED";
        public const string Killed = "KILLED";
        public const string UnableToAllocateKernel = "UNABLE_TO_ALLOCATE_KERNEL";

        public static readonly IReadOnlyList<string> All = new[] { Pending, Running, Errored, Completed, Killed, UnableToAllocateKernel };

        public static bool IsTerminal(string? status) =>
            status == Errored || status == Completed || status == Killed || status == UnableToAllocateKernel;

        public static bool IsFailure(string? status) =>
            status == Errored || status == Killed || status == UnableToAllocateKernel;
    }

    internal static class HexJson
    {
        public static readonly JsonSerializerOptions Options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
    }
}
