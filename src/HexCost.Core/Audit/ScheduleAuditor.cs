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
    /// Audits schedules one project at a time (so a workspace is streamed, never held). Of each audited project it keeps only
    /// its findings, as the few values their text is made of (<see cref="PendingFinding"/>), and, if it has an enabled schedule,
    /// what the rules across projects (collisions, duplicates) need; <see cref="CompleteAsync"/> applies those at the end with the
    /// seat rule, and <see cref="SortedFindings"/> builds each finding as it is written.
    /// </summary>
    public sealed partial class ScheduleAuditor
    {
        private const int ProjectsPageSize = 100;
        private const int RunsPageSize = 100;
        private readonly HexAccount _account;
        private readonly ScheduleAuditOptions _options;
        private readonly IHexEventSink _sink;
        private readonly DateTimeOffset _now;
        private readonly List<PendingFinding> _findings = new List<PendingFinding>();
        /// <summary>The enabled schedules of the audited projects, in audit order.</summary>
        private readonly List<ScheduleEntry> _schedules = new List<ScheduleEntry>();
        /// <summary>One instance of each owner, cadence, cron and time zone: they repeat across thousands of projects.</summary>
        private readonly Dictionary<string, string> _sharedStrings = new Dictionary<string, string>(StringComparer.Ordinal);
        private Dictionary<string, LedgerHistory>? _ledger;

        public ScheduleAuditor(HexAccount account, ScheduleAuditOptions options, IHexEventSink? sink = null)
        {
            _account = account;
            _options = options;
            _sink = sink ?? NullEventSink.Instance;
            _now = options.Now ?? account.Time.GetUtcNow();
        }

        public int ProjectsAudited { get; private set; }

        public int FindingCount => _findings.Count;

        /// <summary>Lists one page of the workspace (archived and trashed projects included, components not) and audits each
        /// project on it; returns the cursor of the next page, null after the last. <paramref name="listed"/> sees each
        /// project before it is audited.</summary>
        public async Task<string?> AuditPageAsync(string? after, Action<ProjectResource>? listed, CancellationToken cancellationToken)
        {
            var page = await _account.Client.ListProjectsAsync(ProjectsPageSize, after, includeArchived: true, includeTrashed: true, includeComponents: false,
                _sink, cancellationToken).ConfigureAwait(false);
            foreach (var resource in (page.Values ?? new List<ProjectResource>()).Where(r => r != null))
            {
                listed?.Invoke(resource);
                await AuditProjectAsync(resource, cancellationToken).ConfigureAwait(false);
            }
            return page.Pagination?.After;
        }

        /// <summary>Audits one project; returns how many findings it has.</summary>
        public async Task<int> AuditProjectAsync(ProjectResource resource, CancellationToken cancellationToken)
        {
            ProjectsAudited++;
            var findings = await FindingsOfAsync(resource, cancellationToken).ConfigureAwait(false);
            _findings.AddRange(findings);
            return findings.Count;
        }

        private async Task<List<PendingFinding>> FindingsOfAsync(ProjectResource resource, CancellationToken cancellationToken)
        {
            var project = new HexProject(resource);
            var findings = new List<PendingFinding>();
            var schedules = project.GetSchedules();
            var enabled = schedules.Where(s => s.Enabled).ToList();
            var runsPerWeek = enabled.Sum(ScheduleMath.RunsPerWeek);
            var cadence = string.Join(";", enabled.Select(s => s.Cadence).Distinct());
            var audited = new AuditedProject(project.ProjectId, project.Title, Shared(project.Owner), Shared(cadence.Length == 0 ? project.Cadences : cadence)!,
                runsPerWeek, resource.Analytics?.AppViews?.LastThirtyDays ?? 0, resource.CreatedAt?.UtcDateTime ?? DateTime.MaxValue, project.LastPublishedAt != null);
            static double Saved(double runs) => Math.Round(Math.Max(0, runs), 2);

            var disabled = schedules.Where(s => !s.Enabled).ToList();
            if (disabled.Count > 0 && _options.Applies(AuditRules.DisabledSchedule))
            {
                findings.Add(new DisabledScheduleFinding(audited, disabled.Count, Shared(string.Join(", ", disabled.Select(s => s.Cadence)))!));
            }
            if (enabled.Count == 0) return findings;

            var (inactive, inactiveSince) = project.TrashedAt != null ? ("trashed", project.TrashedAt)
                : project.ArchivedAt != null ? ("archived", project.ArchivedAt)
                : project.LastPublishedAt == null ? ("never published", (DateTime?)null) : (null, null);
            if (inactive != null)
            {
                if (_options.Applies(AuditRules.ScheduledButArchived))
                {
                    findings.Add(new ScheduledButArchivedFinding(audited, Saved(runsPerWeek), inactive, inactiveSince, enabled.Count));
                }
                Remember(audited, enabled);
                return findings;
            }

            var refresh = RefreshInterval(project.ProjectId, out var refreshSource);
            var refreshRuns = 7d / refresh.TotalDays;
            if (_options.Applies(AuditRules.OverScheduled) && runsPerWeek > refreshRuns * 1.0001)
            {
                var severity = runsPerWeek >= refreshRuns * 10 ? Severities.Critical : Severities.Warning;
                findings.Add(new OverScheduledFinding(audited, severity, Saved(runsPerWeek - refreshRuns), refresh, refreshSource));
            }

            if (_options.Applies(AuditRules.Abandoned))
            {
                var views = AppViewsWithin(resource.Analytics?.AppViews, _options.IdleDays);
                var lastViewed = resource.Analytics?.LastViewedAt;
                var idleSince = _now - TimeSpan.FromDays(_options.IdleDays);
                if (views == 0 && (lastViewed == null || lastViewed < idleSince))
                {
                    findings.Add(new AbandonedFinding(audited, Saved(runsPerWeek), lastViewed));
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
                    findings.Add(new FailingScheduleFinding(audited, share >= 0.9 ? Severities.Critical : Severities.Warning, Saved(failed / weeks), failed, scheduledRuns.Count));
                }
                if (_options.Applies(AuditRules.RunBudgetOverrun))
                {
                    var apiRuns = runs.Count(r => r.RunTrigger == "API");
                    var total = runsPerWeek + apiRuns / weeks;
                    if (total > _options.MaxRunsPerWeek)
                    {
                        findings.Add(new RunBudgetOverrunFinding(audited, total > 2 * _options.MaxRunsPerWeek ? Severities.Critical : Severities.Warning,
                            Saved(total - _options.MaxRunsPerWeek), apiRuns));
                    }
                }
            }

            Remember(audited, enabled);
            return findings;
        }

        /// <summary>The rules across projects (collisions, duplicates) and, for a whole-workspace audit, idle seats; returns how
        /// many findings they add (none when one of them fails).</summary>
        public async Task<int> CompleteAsync(bool workspace, CancellationToken cancellationToken)
        {
            var findings = new List<PendingFinding>();
            if (_options.Applies(AuditRules.ScheduleCollision)) findings.AddRange(Collisions());
            if (_options.Applies(AuditRules.DuplicateProject)) findings.AddRange(await DuplicatesAsync(cancellationToken).ConfigureAwait(false));
            if (workspace && _options.Applies(AuditRules.IdleEditorSeat)) findings.AddRange(await IdleSeatsAsync(cancellationToken).ConfigureAwait(false));
            _findings.AddRange(findings);
            return findings.Count;
        }

        /// <summary>Every finding so far, most savings first: runs saved, then money, then severity. Each is built as it is
        /// enumerated, so only the findings not yet written are held in full.</summary>
        public IEnumerable<ScheduleFinding> SortedFindings() => _findings
            .OrderByDescending(f => f.RunsSavedPerWeek)
            .ThenByDescending(f => f.MonthlySavings ?? 0)
            .ThenByDescending(f => Severities.Rank(f.Severity))
            .ThenBy(f => f.Rule, StringComparer.Ordinal)
            .ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .Select(f => f.Build(this));

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
                source = history.Source;
                return learned;
            }
            source = "the default -DataRefreshInterval";
            return _options.DefaultRefreshInterval;
        }

        private void Remember(AuditedProject project, IReadOnlyList<HexSchedule> enabled)
        {
            foreach (var schedule in enabled)
            {
                _schedules.Add(new ScheduleEntry(project, Shared(schedule.Cadence)!, Shared(ScheduleMath.FireCron(schedule))!, Shared(schedule.Timezone),
                    schedule.Minute ?? MinuteOf(schedule), ScheduleMath.RunsPerWeek(schedule)));
            }
        }

        private string? Shared(string? value)
        {
            if (value == null) return null;
            if (_sharedStrings.TryGetValue(value, out var shared)) return shared;
            _sharedStrings.Add(value, value);
            return value;
        }

        private List<PendingFinding> Collisions()
        {
            var limit = Math.Max(1, _options.MaxConcurrentSchedules);
            var counts = new int[ScheduleMath.CollisionMinutes];
            var minutes = new List<int[]>(_schedules.Count);
            foreach (var entry in _schedules)
            {
                var fires = ScheduleMath.FireMinutes(entry.FireCron, entry.Timezone).ToArray();
                minutes.Add(fires);
                foreach (var m in fires) counts[m]++;
            }
            var crowded = new SortedDictionary<int, List<int>>();
            for (var i = 0; i < _schedules.Count; i++)
            {
                foreach (var m in minutes[i])
                {
                    if (counts[m] <= limit) continue;
                    if (!crowded.TryGetValue(m, out var members)) crowded[m] = members = new List<int>();
                    members.Add(i);
                }
            }
            var moved = new HashSet<int>();
            var findings = new List<PendingFinding>();
            foreach (var pair in crowded)
            {
                var members = pair.Value.Where(i => !moved.Contains(i)).ToList();
                var firing = members.Count;
                if (counts[pair.Key] <= limit) continue;
                foreach (var i in members.OrderBy(i => _schedules[i].RunsPerWeek).ThenBy(i => _schedules[i].Project.ProjectId, StringComparer.Ordinal).Skip(limit))
                {
                    if (counts[pair.Key] <= limit) break;
                    var shift = FindShift(counts, minutes[i], limit);
                    foreach (var m in minutes[i]) counts[m]--;
                    if (shift > 0) foreach (var m in minutes[i]) counts[(m + shift) % counts.Length]++;
                    moved.Add(i);
                    var crowdedMinutes = minutes[i].Count(m => crowded.ContainsKey(m));
                    findings.Add(new ScheduleCollisionFinding(_schedules[i], pair.Key, firing, limit, crowdedMinutes, shift));
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

        private async Task<List<PendingFinding>> DuplicatesAsync(CancellationToken cancellationToken)
        {
            var findings = new List<PendingFinding>();
            var tablesAvailable = true;
            var sameTitles = _schedules.Select(s => s.Project).Distinct()
                .GroupBy(p => NormalizeTitle(p.Title), StringComparer.Ordinal)
                .Where(g => g.Key.Length > 0)
                .Select(g => g.ToList())
                .Where(g => g.Count > 1);
            foreach (var group in sameTitles)
            {
                // Split by the tables each project reads, where Hex tells (Enterprise): same title, other tables = not a duplicate.
                var byTables = new Dictionary<string, List<AuditedProject>>(StringComparer.Ordinal);
                foreach (var candidate in group)
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
                    if (!byTables.TryGetValue(tables, out var list)) byTables[tables] = list = new List<AuditedProject>();
                    list.Add(candidate);
                }
                foreach (var set in byTables.Values.Where(s => s.Count > 1))
                {
                    var cadences = set.ToDictionary(p => p, p => new HashSet<string>(p.Cadences, StringComparer.Ordinal));
                    foreach (var project in set)
                    {
                        var overlapping = set.Where(o => o != project && cadences[o].Overlaps(cadences[project])).ToList();
                        if (overlapping.Count == 0) continue;
                        var keeper = set.Where(o => cadences[o].Overlaps(cadences[project]))
                            .OrderByDescending(o => o.AppViews).ThenBy(o => o.CreatedAtUtc).ThenBy(o => o.ProjectId, StringComparer.Ordinal).First();
                        if (keeper == project) continue;
                        findings.Add(new DuplicateProjectFinding(project, keeper, tablesAvailable));
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

        private async Task<List<PendingFinding>> IdleSeatsAsync(CancellationToken cancellationToken)
        {
            var findings = new List<PendingFinding>();
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
                    findings.Add(new IdleEditorSeatFinding(user.Email ?? user.Id, role, user.LastLoginDate, _options.EditorSeatPrice));
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
    }

    /// <summary>What the ledger shows of a project's -SourceVersion over time.</summary>
    internal sealed class LedgerHistory
    {
        private string? _source;

        public int Changes { get; private set; }
        public TimeSpan? LearnedInterval { get; private set; }
        /// <summary>Where a learned interval comes from, as findings say it (one string per project, however often it is said).</summary>
        public string Source => _source ??= $"learned from {Changes} source-version changes in the ledger";

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
