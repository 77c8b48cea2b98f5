using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;

namespace HexCost.Audit
{
    /// <summary>
    /// Audits schedules one project at a time (so a workspace is streamed, never held), keeping only a small summary
    /// of each scheduled project for the rules that compare projects (collisions, duplicates), which
    /// <see cref="CompleteAsync"/> applies at the end together with the seat rule.
    /// </summary>
    public sealed class ScheduleAuditor
    {
        private const int RunsPageSize = 100;
        private readonly HexAccount _account;
        private readonly ScheduleAuditOptions _options;
        private readonly IHexEventSink _sink;
        private readonly DateTimeOffset _now;
        private readonly List<ScheduleEntry> _scheduled = new List<ScheduleEntry>();
        private readonly Dictionary<string, List<ProjectSummary>> _byTitle = new Dictionary<string, List<ProjectSummary>>(StringComparer.Ordinal);
        private Dictionary<string, LedgerHistory>? _ledger;

        public ScheduleAuditor(HexAccount account, ScheduleAuditOptions options, IHexEventSink? sink = null)
        {
            _account = account;
            _options = options;
            _sink = sink ?? NullEventSink.Instance;
            _now = options.Now ?? account.Time.GetUtcNow();
        }

        public int ProjectsAudited { get; private set; }

        public async Task<IReadOnlyList<ScheduleFinding>> AuditProjectAsync(ProjectResource resource, CancellationToken cancellationToken)
        {
            ProjectsAudited++;
            var project = new HexProject(resource);
            var findings = new List<ScheduleFinding>();
            var schedules = project.GetSchedules();
            var enabled = schedules.Where(s => s.Enabled).ToList();
            var runsPerWeek = enabled.Sum(ScheduleMath.RunsPerWeek);
            var cadence = string.Join(";", enabled.Select(s => s.Cadence).Distinct());
            ScheduleFinding Finding(string rule, string severity, double saved, string evidence, string? recommended = null) => new ScheduleFinding
            {
                Rule = rule, Severity = severity, ProjectId = project.ProjectId, ProjectTitle = project.Title, Owner = project.Owner,
                Cadence = cadence.Length == 0 ? project.Cadences : cadence, RunsPerWeek = Math.Round(runsPerWeek, 2), RecommendedCadence = recommended,
                EstimatedRunsSavedPerWeek = Math.Round(Math.Max(0, saved), 2), Evidence = evidence, DetectedAt = _now.UtcDateTime,
            };

            var disabled = schedules.Where(s => !s.Enabled).ToList();
            if (disabled.Count > 0 && _options.Applies(AuditRules.DisabledSchedule))
            {
                findings.Add(Finding(AuditRules.DisabledSchedule, Severities.Info, 0,
                    $"{Count(disabled.Count, "disabled schedule")} ({string.Join(", ", disabled.Select(s => s.Cadence))}) cost nothing and are counted as 0 runs a week; remove them if they are not coming back."));
            }
            if (enabled.Count == 0) return findings;

            var inactive = project.TrashedAt != null ? $"trashed on {Day(project.TrashedAt)}"
                : project.ArchivedAt != null ? $"archived on {Day(project.ArchivedAt)}"
                : project.LastPublishedAt == null ? "never published" : null;
            if (inactive != null)
            {
                if (_options.Applies(AuditRules.ScheduledButArchived))
                {
                    findings.Add(Finding(AuditRules.ScheduledButArchived, Severities.Critical, runsPerWeek,
                        $"The project is {inactive} but {Count(enabled.Count, "enabled schedule")} still fire {ScheduleMath.Format(runsPerWeek)} runs a week; disable them.", "DISABLED"));
                }
                Remember(project, resource, enabled, runsPerWeek, cadence);
                return findings;
            }

            var refresh = RefreshInterval(project.ProjectId, out var refreshSource);
            var refreshRuns = 7d / refresh.TotalDays;
            if (_options.Applies(AuditRules.OverScheduled) && runsPerWeek > refreshRuns * 1.0001)
            {
                var severity = runsPerWeek >= refreshRuns * 10 ? Severities.Critical : Severities.Warning;
                findings.Add(Finding(AuditRules.OverScheduled, severity, runsPerWeek - refreshRuns,
                    $"Scheduled {ScheduleMath.Format(runsPerWeek)} runs a week ({cadence}) but the data refreshes every {ScheduleMath.Format(refresh)} ({refreshSource}), so {ScheduleMath.Format(refreshRuns)} runs a week would do; {ScheduleMath.Format(runsPerWeek - refreshRuns)} runs a week see no new data.",
                    ScheduleMath.CadenceFor(refresh)));
            }

            if (_options.Applies(AuditRules.Abandoned))
            {
                var views = AppViewsWithin(resource.Analytics?.AppViews, _options.IdleDays);
                var lastViewed = resource.Analytics?.LastViewedAt;
                var idleSince = _now - TimeSpan.FromDays(_options.IdleDays);
                if (views == 0 && (lastViewed == null || lastViewed < idleSince))
                {
                    var seen = lastViewed == null ? "has never been viewed" : $"was last viewed {Math.Floor((_now - lastViewed.Value).TotalDays)} days ago";
                    findings.Add(Finding(AuditRules.Abandoned, Severities.Warning, runsPerWeek,
                        $"No app views in {_options.IdleDays} days and the project {seen}, yet it runs {ScheduleMath.Format(runsPerWeek)} times a week; disable the schedule.", "DISABLED"));
                }
            }

            if ((_options.Applies(AuditRules.FailingSchedule) || _options.Applies(AuditRules.RunBudgetOverrun)))
            {
                var runs = await RecentRunsAsync(project.ProjectId, cancellationToken).ConfigureAwait(false);
                var weeks = _options.LookBack.TotalDays / 7d;
                var scheduledRuns = runs.Where(r => r.RunTrigger == "SCHEDULED" && RunStatuses.IsTerminal(r.Status)).ToList();
                var failed = scheduledRuns.Count(r => RunStatuses.IsFailure(r.Status));
                if (_options.Applies(AuditRules.FailingSchedule) && scheduledRuns.Count >= 2 && failed * 2 > scheduledRuns.Count)
                {
                    var share = (double)failed / scheduledRuns.Count;
                    findings.Add(Finding(AuditRules.FailingSchedule, share >= 0.9 ? Severities.Critical : Severities.Warning, failed / weeks,
                        $"{failed} of {scheduledRuns.Count} scheduled runs in the last {Days(_options.LookBack)} days ended ERRORED, KILLED or UNABLE_TO_ALLOCATE_KERNEL ({Math.Round(share * 100)} %): compute spent for nothing. Fix the project or pause the schedule."));
                }
                if (_options.Applies(AuditRules.RunBudgetOverrun))
                {
                    var apiRuns = runs.Count(r => r.RunTrigger == "API");
                    var apiPerWeek = apiRuns / weeks;
                    var total = runsPerWeek + apiPerWeek;
                    if (total > _options.MaxRunsPerWeek)
                    {
                        findings.Add(Finding(AuditRules.RunBudgetOverrun, total > 2 * _options.MaxRunsPerWeek ? Severities.Critical : Severities.Warning, total - _options.MaxRunsPerWeek,
                            $"{ScheduleMath.Format(total)} runs a week ({ScheduleMath.Format(runsPerWeek)} scheduled + {ScheduleMath.Format(Math.Round(apiPerWeek, 2))} API, from {apiRuns} API runs in {Days(_options.LookBack)} days) exceed the budget of {ScheduleMath.Format(_options.MaxRunsPerWeek)}.",
                            RecommendFor(_options.MaxRunsPerWeek - apiPerWeek)));
                    }
                }
            }

            Remember(project, resource, enabled, runsPerWeek, cadence);
            return findings;
        }

        /// <summary>The rules across projects (collisions, duplicates) and, for a whole-workspace audit, idle seats.</summary>
        public async Task<IReadOnlyList<ScheduleFinding>> CompleteAsync(bool workspace, CancellationToken cancellationToken)
        {
            var findings = new List<ScheduleFinding>();
            if (_options.Applies(AuditRules.ScheduleCollision)) findings.AddRange(Collisions());
            if (_options.Applies(AuditRules.DuplicateProject)) findings.AddRange(await DuplicatesAsync(cancellationToken).ConfigureAwait(false));
            if (workspace && _options.Applies(AuditRules.IdleEditorSeat)) findings.AddRange(await IdleSeatsAsync(cancellationToken).ConfigureAwait(false));
            return findings;
        }

        /// <summary>Most savings first: runs saved, then money, then severity.</summary>
        public static IEnumerable<ScheduleFinding> Sort(IEnumerable<ScheduleFinding> findings) => findings
            .OrderByDescending(f => f.EstimatedRunsSavedPerWeek)
            .ThenByDescending(f => f.EstimatedMonthlySavings ?? 0)
            .ThenByDescending(f => Severities.Rank(f.Severity))
            .ThenBy(f => f.Rule, StringComparer.Ordinal)
            .ThenBy(f => f.ProjectTitle ?? f.Owner, StringComparer.OrdinalIgnoreCase);

        /// <summary>The refresh interval of a project's data: the per-project override, else what the ledger learned
        /// from how often that project's -SourceVersion changed, else the default.</summary>
        public TimeSpan RefreshInterval(string projectId, out string source)
        {
            if (_options.RefreshOverrides.TryGetValue(projectId, out var overridden))
            {
                source = "set with -DataRefreshInterval for this project";
                return overridden;
            }
            _ledger ??= LedgerHistory.Read(_account.Ledger);
            if (_ledger.TryGetValue(projectId, out var history) && history.LearnedInterval is TimeSpan learned)
            {
                source = $"learned from {history.Changes} source-version changes in the ledger";
                return learned;
            }
            source = "the default -DataRefreshInterval";
            return _options.DefaultRefreshInterval;
        }

        private void Remember(HexProject project, ProjectResource resource, IReadOnlyList<HexSchedule> enabled, double runsPerWeek, string cadence)
        {
            foreach (var schedule in enabled) _scheduled.Add(new ScheduleEntry(project.ProjectId, project.Title, project.Owner, schedule, ScheduleMath.RunsPerWeek(schedule)));
            var key = NormalizeTitle(project.Title);
            if (key.Length == 0) return;
            if (!_byTitle.TryGetValue(key, out var list)) _byTitle[key] = list = new List<ProjectSummary>();
            list.Add(new ProjectSummary(project.ProjectId, project.Title, project.Owner, cadence, runsPerWeek,
                resource.Analytics?.AppViews?.LastThirtyDays ?? 0, resource.CreatedAt, project.LastPublishedAt != null,
                new HashSet<string>(enabled.Select(s => s.Cadence), StringComparer.Ordinal)));
        }

        private IEnumerable<ScheduleFinding> Collisions()
        {
            var limit = Math.Max(1, _options.MaxConcurrentSchedules);
            var counts = new int[ScheduleMath.CollisionMinutes];
            var minutes = new List<int[]>(_scheduled.Count);
            foreach (var entry in _scheduled)
            {
                var fires = ScheduleMath.FireMinutes(entry.Schedule).ToArray();
                minutes.Add(fires);
                foreach (var m in fires) counts[m]++;
            }
            var crowded = new SortedDictionary<int, List<int>>();
            for (var i = 0; i < _scheduled.Count; i++)
            {
                foreach (var m in minutes[i])
                {
                    if (counts[m] <= limit) continue;
                    if (!crowded.TryGetValue(m, out var members)) crowded[m] = members = new List<int>();
                    members.Add(i);
                }
            }
            var moved = new HashSet<int>();
            var findings = new List<ScheduleFinding>();
            foreach (var pair in crowded)
            {
                var members = pair.Value.Where(i => !moved.Contains(i)).ToList();
                var firing = members.Count;
                if (counts[pair.Key] <= limit) continue;
                foreach (var i in members.OrderBy(i => _scheduled[i].RunsPerWeek).ThenBy(i => _scheduled[i].ProjectId, StringComparer.Ordinal).Skip(limit))
                {
                    if (counts[pair.Key] <= limit) break;
                    var entry = _scheduled[i];
                    var shift = FindShift(counts, minutes[i], limit);
                    foreach (var m in minutes[i]) counts[m]--;
                    if (shift > 0) foreach (var m in minutes[i]) counts[(m + shift) % counts.Length]++;
                    moved.Add(i);
                    var newMinute = ((entry.Schedule.Minute ?? MinuteOf(entry.Schedule)) + shift) % 60;
                    var recommended = shift > 0 ? $"{entry.Schedule.Cadence} at minute {newMinute:00}" : null;
                    var crowdedMinutes = minutes[i].Count(m => crowded.ContainsKey(m));
                    findings.Add(new ScheduleFinding
                    {
                        Rule = AuditRules.ScheduleCollision, Severity = Severities.Warning, ProjectId = entry.ProjectId, ProjectTitle = entry.Title, Owner = entry.Owner,
                        Cadence = entry.Schedule.Cadence, RunsPerWeek = Math.Round(entry.RunsPerWeek, 2), RecommendedCadence = recommended,
                        EstimatedRunsSavedPerWeek = 0, DetectedAt = _now.UtcDateTime,
                        Evidence = $"{firing} schedules fire at {ScheduleMath.DescribeMinute(pair.Key)} (limit {limit}){(crowdedMinutes > 1 ? $", and this one is in {crowdedMinutes} such crowded minutes a month" : "")}: a connection-pool and 25-kernel risk. "
                                   + (shift > 0 ? $"Move it {shift} minute{(shift == 1 ? "" : "s")} later, to minute {newMinute:00}." : "No free minute within the hour: move it to another hour."),
                    });
                }
            }
            return findings;
        }

        /// <summary>The smallest shift (1-59 minutes) that puts every run of the schedule into an empty minute, else
        /// into minutes with room; 0 when there is none within the hour.</summary>
        private static int FindShift(int[] counts, int[] fires, int limit)
        {
            foreach (var room in new[] { 1, limit })
            {
                for (var shift = 1; shift < 60; shift++)
                {
                    if (fires.All(m => counts[(m + shift) % counts.Length] < room)) return shift;
                }
            }
            return 0;
        }

        private static int MinuteOf(HexSchedule schedule)
        {
            var fields = (schedule.Cron ?? "").Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : 0;
        }

        private async Task<IEnumerable<ScheduleFinding>> DuplicatesAsync(CancellationToken cancellationToken)
        {
            var findings = new List<ScheduleFinding>();
            var tablesAvailable = true;
            foreach (var group in _byTitle.Values.Where(g => g.Count > 1))
            {
                var candidates = group.Where(p => p.Cadences.Count > 0).ToList();
                if (candidates.Count < 2) continue;
                // Split by the tables each project reads, where Hex tells (Enterprise): same title, other tables = not a duplicate.
                var byTables = new Dictionary<string, List<ProjectSummary>>(StringComparer.Ordinal);
                foreach (var candidate in candidates)
                {
                    string tables = "";
                    if (tablesAvailable && candidate.Published)
                    {
                        try
                        {
                            tables = await TablesOfAsync(candidate.ProjectId, cancellationToken).ConfigureAwait(false);
                        }
                        catch (HexException ex) when (ex.Kind == HexErrorKind.Forbidden)
                        {
                            tablesAvailable = false;
                            _sink.Warning("Hex answered 403 to GetQueriedTables: it is Enterprise-only, so DuplicateProject compares titles and schedules, not the tables read.");
                        }
                        catch (HexException ex) when (ex.Kind == HexErrorKind.BadRequest || ex.Kind == HexErrorKind.ProjectNotPublished)
                        {
                        }
                    }
                    if (!byTables.TryGetValue(tables, out var list)) byTables[tables] = list = new List<ProjectSummary>();
                    list.Add(candidate);
                }
                foreach (var set in byTables.Values.Where(s => s.Count > 1))
                {
                    foreach (var project in set)
                    {
                        var overlapping = set.Where(o => o != project && o.Cadences.Overlaps(project.Cadences)).ToList();
                        if (overlapping.Count == 0) continue;
                        var keeper = set.Where(o => o.Cadences.Overlaps(project.Cadences))
                            .OrderByDescending(o => o.AppViews).ThenBy(o => o.CreatedAt ?? DateTimeOffset.MaxValue).ThenBy(o => o.ProjectId, StringComparer.Ordinal).First();
                        if (keeper == project) continue;
                        var tablesNote = tablesAvailable ? " and read the same tables" : "";
                        findings.Add(new ScheduleFinding
                        {
                            Rule = AuditRules.DuplicateProject, Severity = Severities.Warning, ProjectId = project.ProjectId, ProjectTitle = project.Title, Owner = project.Owner,
                            Cadence = project.Cadence, RunsPerWeek = Math.Round(project.RunsPerWeek, 2), RecommendedCadence = "Consolidate into " + keeper.ProjectId,
                            EstimatedRunsSavedPerWeek = Math.Round(project.RunsPerWeek, 2), DetectedAt = _now.UtcDateTime,
                            Evidence = $"'{project.Title}' and '{keeper.Title}' ({keeper.ProjectId}) have the same title, both run {string.Join("/", project.Cadences.Intersect(keeper.Cadences))}{tablesNote}; keeping '{keeper.Title}' ({keeper.AppViews} views in 30 days vs {project.AppViews}) saves {ScheduleMath.Format(project.RunsPerWeek)} runs a week.",
                        });
                    }
                }
            }
            return findings;
        }

        private async Task<string> TablesOfAsync(string projectId, CancellationToken cancellationToken)
        {
            var tables = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
            string? after = null;
            do
            {
                var page = await _account.Client.GetQueriedTablesAsync(projectId, 100, after, _sink, cancellationToken).ConfigureAwait(false);
                foreach (var table in page.Values ?? new List<QueriedTable>()) tables.Add((table.DataConnectionId ?? table.DataConnectionName) + "/" + table.TableName);
                after = page.Pagination?.After;
            }
            while (!string.IsNullOrEmpty(after));
            return string.Join("|", tables);
        }

        private async Task<IEnumerable<ScheduleFinding>> IdleSeatsAsync(CancellationToken cancellationToken)
        {
            var findings = new List<ScheduleFinding>();
            var idleSince = _now - TimeSpan.FromDays(_options.IdleDays);
            string? after = null;
            do
            {
                var page = await _account.Client.ListUsersAsync(500, after, _sink, cancellationToken).ConfigureAwait(false);
                foreach (var user in page.Values ?? new List<UserResource>())
                {
                    var role = (user.Role ?? "").ToUpperInvariant();
                    if (role != "ADMIN" && role != "MANAGER" && role != "EDITOR") continue;
                    if (user.LastLoginDate != null && user.LastLoginDate >= idleSince) continue;
                    var seen = user.LastLoginDate == null ? "has never logged in" : $"last logged in {Math.Floor((_now - user.LastLoginDate.Value).TotalDays)} days ago";
                    findings.Add(new ScheduleFinding
                    {
                        Rule = AuditRules.IdleEditorSeat, Severity = Severities.Warning, Owner = user.Email ?? user.Id, EstimatedRunsSavedPerWeek = 0,
                        EstimatedMonthlySavings = _options.EditorSeatPrice, RecommendedCadence = null, DetectedAt = _now.UtcDateTime,
                        Evidence = $"{user.Email ?? user.Id} ({role}) {seen} (limit {_options.IdleDays} days); an Editor seat costs {_options.EditorSeatPrice.ToString("0.##", CultureInfo.InvariantCulture)} a month: move them to a cheaper seat.",
                    });
                }
                after = page.Pagination?.After;
            }
            while (!string.IsNullOrEmpty(after));
            return findings;
        }

        /// <summary>Runs of the project (all triggers) that started within the look-back, newest first.</summary>
        private async Task<List<RunStatusPayload>> RecentRunsAsync(string projectId, CancellationToken cancellationToken)
        {
            var since = _now - _options.LookBack;
            var runs = new List<RunStatusPayload>();
            for (var offset = 0; ; offset += RunsPageSize)
            {
                RunsPage page;
                try
                {
                    page = await _account.Client.GetProjectRunsAsync(projectId, RunsPageSize, offset, null, null, _sink, cancellationToken).ConfigureAwait(false);
                }
                catch (HexException ex) when (ex.Kind == HexErrorKind.ProjectNotPublished || ex.Kind == HexErrorKind.BadRequest)
                {
                    return runs;
                }
                var batch = (page.Runs ?? new List<RunStatusPayload>()).Where(r => r != null).ToList();
                var older = false;
                foreach (var run in batch)
                {
                    var at = run.StartTime ?? run.EndTime;
                    if (at != null && at < since)
                    {
                        older = true;
                        continue;
                    }
                    runs.Add(run);
                }
                if (older || batch.Count < RunsPageSize || string.IsNullOrEmpty(page.NextPage)) return runs;
            }
        }

        private static int? AppViewsWithin(AppViews? views, int days)
        {
            if (views == null) return null;
            if (days <= 7) return views.LastSevenDays;
            if (days <= 14) return views.LastFourteenDays;
            return views.LastThirtyDays;
        }

        private static string RecommendFor(double runsPerWeek)
        {
            if (runsPerWeek >= 168) return "HOURLY";
            if (runsPerWeek >= 7) return "DAILY";
            if (runsPerWeek >= 1) return "WEEKLY";
            return "MONTHLY";
        }

        /// <summary>Lower case, "copy of"/"(copy)"/"(2)" and punctuation dropped, spaces collapsed.</summary>
        public static string NormalizeTitle(string? title)
        {
            var text = (title ?? "").ToLowerInvariant();
            foreach (var noise in new[] { "copy of ", "(copy)", " - copy", " copy" }) text = text.Replace(noise, " ");
            var builder = new StringBuilder(text.Length);
            foreach (var c in text) builder.Append(char.IsLetterOrDigit(c) ? c : ' ');
            var words = builder.ToString().Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries).ToList();
            while (words.Count > 1 && words[words.Count - 1].All(char.IsDigit) && words[words.Count - 1].Length <= 2) words.RemoveAt(words.Count - 1);
            return string.Join(" ", words);
        }

        private static string Count(int n, string noun) => n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? "" : "s");
        private static string Day(DateTime? value) => value?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "?";
        private static string Days(TimeSpan span) => Math.Round(span.TotalDays).ToString(CultureInfo.InvariantCulture);

        private sealed class ScheduleEntry
        {
            public ScheduleEntry(string projectId, string? title, string? owner, HexSchedule schedule, double runsPerWeek)
            {
                ProjectId = projectId;
                Title = title;
                Owner = owner;
                Schedule = schedule;
                RunsPerWeek = runsPerWeek;
            }

            public string ProjectId { get; }
            public string? Title { get; }
            public string? Owner { get; }
            public HexSchedule Schedule { get; }
            public double RunsPerWeek { get; }
        }

        private sealed class ProjectSummary
        {
            public ProjectSummary(string projectId, string? title, string? owner, string cadence, double runsPerWeek, int appViews, DateTimeOffset? createdAt, bool published, HashSet<string> cadences)
            {
                ProjectId = projectId;
                Title = title;
                Owner = owner;
                Cadence = cadence;
                RunsPerWeek = runsPerWeek;
                AppViews = appViews;
                CreatedAt = createdAt;
                Published = published;
                Cadences = cadences;
            }

            public string ProjectId { get; }
            public string? Title { get; }
            public string? Owner { get; }
            public string Cadence { get; }
            public double RunsPerWeek { get; }
            public int AppViews { get; }
            public DateTimeOffset? CreatedAt { get; }
            public bool Published { get; }
            public HashSet<string> Cadences { get; }
        }
    }

    /// <summary>What the ledger shows of a project's -SourceVersion over time.</summary>
    internal sealed class LedgerHistory
    {
        public int Changes { get; private set; }
        public TimeSpan? LearnedInterval { get; private set; }

        /// <summary>Per project: the median time between changes of SourceVersion, once it changed at least twice.</summary>
        public static Dictionary<string, LedgerHistory> Read(HexLedger ledger)
        {
            var result = new Dictionary<string, LedgerHistory>(StringComparer.OrdinalIgnoreCase);
            foreach (var group in ledger.ReadAll().Where(r => r.ProjectId != null && !string.IsNullOrEmpty(r.SourceVersion)).GroupBy(r => r.ProjectId!, StringComparer.OrdinalIgnoreCase))
            {
                var changes = new List<DateTimeOffset>();
                string? previous = null;
                foreach (var record in group.OrderBy(r => r.At))
                {
                    if (record.SourceVersion == previous) continue;
                    changes.Add(record.At);
                    previous = record.SourceVersion;
                }
                var gaps = changes.Zip(changes.Skip(1), (a, b) => b - a).Where(g => g > TimeSpan.Zero).OrderBy(g => g).ToList();
                var history = new LedgerHistory { Changes = Math.Max(0, changes.Count - 1) };
                if (gaps.Count >= 2) history.LearnedInterval = gaps[gaps.Count / 2];
                result[group.Key] = history;
            }
            return result;
        }
    }
}
