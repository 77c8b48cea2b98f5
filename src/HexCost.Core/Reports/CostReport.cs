using System;
using System.Collections.Generic;
using System.Linq;
using HexCost.Api;
using HexCost.Credits;
using HexCost.Ledger;
using HexCost.Model;

namespace HexCost.Reports
{
    /// <summary>Everything one cost report shows. Each section may be missing (null) with a note saying why; the page
    /// still renders. Holds no token: only what the page prints.</summary>
    public sealed class CostReportData
    {
        public DateTimeOffset GeneratedAt { get; set; }
        public string OrgId { get; set; } = "";
        /// <summary>The API base URI; the page strips any user name, password, query and fragment before printing it.</summary>
        public string? BaseUri { get; set; }
        public string? GeneratedBy { get; set; }
        public string Plan { get; set; } = Plans.Team;
        /// <summary>True when the plan was not given and the default was assumed.</summary>
        public bool PlanAssumed { get; set; }
        public string? ModuleVersion { get; set; }

        /// <summary>Findings in the order to show (ScheduleAuditor.SortedFindings); null when the audit could not run.</summary>
        public IReadOnlyList<ScheduleFinding>? Findings { get; set; }
        public int ProjectsAudited { get; set; }
        public int AuditLookBackDays { get; set; } = 28;
        public string? AuditNote { get; set; }

        /// <summary>Null when the balances could not be computed.</summary>
        public CreditReport? Credits { get; set; }
        /// <summary>Why the figures are limited (e.g. ListThreads refused, so imported usage only), or why they are missing.</summary>
        public string? CreditsNote { get; set; }

        public SpendPolicy? Policy { get; set; }
        public string? PolicyNote { get; set; }

        /// <summary>The run ledger's period, one row per UTC day, oldest first.</summary>
        public RunLedgerSummary? Runs { get; set; }
        public string? RunsNote { get; set; }

        /// <summary>Runs a week the findings would save together: fixes of one project overlap (slowing a schedule and
        /// keeping it within budget save the same runs), so each project counts with its largest saving only.</summary>
        public static double RunsSavedPerWeek(IEnumerable<ScheduleFinding>? findings) =>
            Math.Round((findings ?? Enumerable.Empty<ScheduleFinding>())
                .GroupBy(f => string.IsNullOrEmpty(f.ProjectId) ? "\0" + Guid.NewGuid().ToString("N") : f.ProjectId!, StringComparer.OrdinalIgnoreCase)
                .Sum(g => g.Max(f => f.EstimatedRunsSavedPerWeek)), 2);

        /// <summary>Project id → title, for naming projects the ledger mentions by id.</summary>
        public IDictionary<string, string> ProjectTitles { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>What the ledger says about one UTC day.</summary>
    public sealed class LedgerDay
    {
        public DateTime Day { get; set; }
        /// <summary>Runs HexCost started (created or adopted; dry runs not counted).</summary>
        public int Triggered { get; set; }
        public int CacheHits { get; set; }
        public int Completed { get; set; }
        public int Failed { get; set; }
    }

    /// <summary>One project's runs over the period.</summary>
    public sealed class LedgerProject
    {
        public string ProjectId { get; set; } = "";
        public int Triggered { get; set; }
        public int CacheHits { get; set; }
        public int Failed { get; set; }
    }

    /// <summary>A run that ended in failure, with its link in Hex.</summary>
    public sealed class LedgerFailure
    {
        public DateTimeOffset At { get; set; }
        public string? ProjectId { get; set; }
        public string? RunId { get; set; }
        public string? Status { get; set; }
        public string? RunUrl { get; set; }
    }

    /// <summary>The run ledger summarised per day and per project over a period of whole UTC days ending today.</summary>
    public sealed class RunLedgerSummary
    {
        public DateTime From { get; set; }
        /// <summary>Exclusive.</summary>
        public DateTime To { get; set; }
        public IReadOnlyList<LedgerDay> Days { get; set; } = Array.Empty<LedgerDay>();
        public IReadOnlyList<LedgerProject> Projects { get; set; } = Array.Empty<LedgerProject>();
        /// <summary>Most recent first.</summary>
        public IReadOnlyList<LedgerFailure> Failures { get; set; } = Array.Empty<LedgerFailure>();

        public int Triggered => Days.Sum(d => d.Triggered);
        public int CacheHits => Days.Sum(d => d.CacheHits);
        public int Failed => Days.Sum(d => d.Failed);
        public int Completed => Days.Sum(d => d.Completed);

        /// <summary>Counts records over <paramref name="days"/> UTC calendar days ending with the day of <paramref name="now"/>
        /// (counted the way Get-HexRunReport counts: created or adopted triggers, cache hits, terminal statuses).</summary>
        public static RunLedgerSummary FromLedger(IEnumerable<LedgerRecord> records, DateTimeOffset now, int days)
        {
            if (days < 1) throw new ArgumentOutOfRangeException(nameof(days), "The report covers at least one day.");
            var today = now.UtcDateTime.Date;
            var from = today.AddDays(1 - days);
            var to = today.AddDays(1);
            var buckets = Enumerable.Range(0, days).Select(i => new LedgerDay { Day = from.AddDays(i) }).ToList();
            var projects = new Dictionary<string, LedgerProject>(StringComparer.OrdinalIgnoreCase);
            var failures = new List<LedgerFailure>();
            foreach (var record in records)
            {
                var at = record.At.UtcDateTime;
                if (at < from || at >= to) continue;
                var day = buckets[(int)(at.Date - from).TotalDays];
                LedgerProject? project = null;
                if (!string.IsNullOrEmpty(record.ProjectId) && !projects.TryGetValue(record.ProjectId!, out project))
                    projects[record.ProjectId!] = project = new LedgerProject { ProjectId = record.ProjectId! };
                if (State.LedgerIndex.StartsRun(record))
                {
                    day.Triggered++;
                    if (project != null) project.Triggered++;
                    continue;
                }
                switch (record.Type)
                {
                    case LedgerRecordTypes.CacheHit:
                        day.CacheHits++;
                        if (project != null) project.CacheHits++;
                        break;
                    case LedgerRecordTypes.Complete when record.Status == RunStatuses.Completed:
                        day.Completed++;
                        break;
                    case LedgerRecordTypes.Complete when RunStatuses.IsFailure(record.Status):
                        day.Failed++;
                        if (project != null) project.Failed++;
                        failures.Add(new LedgerFailure { At = record.At, ProjectId = record.ProjectId, RunId = record.RunId, Status = record.Status, RunUrl = record.RunUrl });
                        break;
                }
            }
            return new RunLedgerSummary
            {
                From = from,
                To = to,
                Days = buckets,
                Projects = projects.Values.Where(p => p.Triggered + p.CacheHits + p.Failed > 0)
                    .OrderByDescending(p => p.Triggered).ThenByDescending(p => p.CacheHits).ThenBy(p => p.ProjectId, StringComparer.OrdinalIgnoreCase).ToList(),
                Failures = failures.OrderByDescending(f => f.At).ToList(),
            };
        }
    }

    /// <summary>What Export-HexCostReport wrote. PSTypeName HexCost.CostReport.</summary>
    public sealed class CostReportFile
    {
        public string Path { get; set; } = "";
        public long Bytes { get; set; }
        /// <summary>Schedule findings in the page (0 when the audit could not run).</summary>
        public int Findings { get; set; }
        /// <summary>Users in the credit section (0 when balances could not be computed).</summary>
        public int Users { get; set; }
        public double RunsSavedPerWeek { get; set; }
        /// <summary>Where credit usage came from: Threads, Import, Threads+Import, None, or Unavailable.</summary>
        public string CreditSource { get; set; } = "";
        public DateTime GeneratedAt { get; set; }
    }
}
