using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using HexCost.Api;

namespace HexCost.Model
{
    /// <summary>A project as HexCost reports it: flat for Export-Csv; the schedules come from <see cref="GetSchedules"/>.
    /// PSTypeName HexCost.Project.</summary>
    public sealed class HexProject
    {
        private readonly IReadOnlyList<HexSchedule> _schedules;

        public HexProject(ProjectResource resource)
        {
            ProjectId = resource.Id;
            Title = resource.Title;
            Type = resource.Type;
            Owner = resource.Owner?.Email;
            Creator = resource.Creator?.Email;
            Status = resource.Status?.Name;
            CreatedAt = resource.CreatedAt?.UtcDateTime;
            LastEditedAt = resource.LastEditedAt?.UtcDateTime;
            LastPublishedAt = resource.LastPublishedAt?.UtcDateTime;
            LastViewedAt = resource.Analytics?.LastViewedAt?.UtcDateTime;
            AppViewsLast30Days = resource.Analytics?.AppViews?.LastThirtyDays;
            ArchivedAt = resource.ArchivedAt?.UtcDateTime;
            TrashedAt = resource.TrashedAt?.UtcDateTime;
            _schedules = (resource.Schedules ?? new List<ScheduleResource>()).Where(s => s != null).Select(s => new HexSchedule(ProjectId, s)).ToArray();
            ScheduleCount = _schedules.Count;
            Cadences = string.Join(";", _schedules.Select(s => s.Cadence).Distinct());
        }

        public string ProjectId { get; }
        public string? Title { get; }
        /// <summary>PROJECT or COMPONENT.</summary>
        public string? Type { get; }
        public string? Owner { get; }
        public string? Creator { get; }
        /// <summary>The workspace-defined status name (e.g. Approved), or null.</summary>
        public string? Status { get; }
        public DateTime? CreatedAt { get; }
        public DateTime? LastEditedAt { get; }
        /// <summary>Null means never published.</summary>
        public DateTime? LastPublishedAt { get; }
        public DateTime? LastViewedAt { get; }
        public int? AppViewsLast30Days { get; }
        public int ScheduleCount { get; }
        /// <summary>The schedules' cadences, e.g. HOURLY;DAILY.</summary>
        public string Cadences { get; }
        public DateTime? ArchivedAt { get; }
        public DateTime? TrashedAt { get; }

        public IReadOnlyList<HexSchedule> GetSchedules() => _schedules;

        public override string ToString() => Title ?? ProjectId;
    }

    public sealed class HexSchedule
    {
        public HexSchedule(string projectId, ScheduleResource resource)
        {
            ProjectId = projectId;
            Cadence = resource.Cadence ?? "";
            Enabled = resource.Enabled;
            var detail = resource.Hourly ?? resource.Daily ?? resource.Weekly ?? resource.Monthly ?? resource.Custom;
            Timezone = detail?.Timezone;
            Minute = detail?.Minute;
            Hour = detail?.Hour;
            DayOfWeek = detail?.DayOfWeek;
            Day = detail?.Day;
            Cron = detail?.Cron;
        }

        public string ProjectId { get; }
        public string Cadence { get; }
        public bool Enabled { get; }
        public string? Timezone { get; }
        public int? Minute { get; }
        public int? Hour { get; }
        public string? DayOfWeek { get; }
        public int? Day { get; }
        public string? Cron { get; }

        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}{1}", Cadence, Enabled ? "" : " (disabled)");
    }
}
