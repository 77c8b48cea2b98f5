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
    /// A read that only some rules need (a project's runs, its queried tables, the users) degrades the audit instead of ending
    /// it: its failure is reported once to <c>readFailed</c>, the rules that needed it skip that project, every other rule runs.
    /// </summary>
    public sealed partial class ScheduleAuditor
    {
        private const int ProjectsPageSize = 100;
        private const int RunsPageSize = 100;
        private readonly HexAccount _account;
        private readonly ScheduleAuditOptions _options;
        private readonly IHexEventSink _sink;
        private readonly Action<HexException> _readFailed;
        private readonly DateTimeOffset _now;
        private readonly List<PendingFinding> _findings = new List<PendingFinding>();
        /// <summary>The enabled schedules of the audited projects, in audit order.</summary>
        private readonly List<ScheduleEntry> _schedules = new List<ScheduleEntry>();
        /// <summary>One instance of each owner, cadence, cron and time zone: they repeat across thousands of projects.</summary>
        private readonly Dictionary<string, string> _sharedStrings = new Dictionary<string, string>(StringComparer.Ordinal);
        private readonly HashSet<string> _overridesSeen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        private readonly OptionalRead _runs = new OptionalRead("the runs", $"{AuditRules.FailingSchedule} and {AuditRules.RunBudgetOverrun}");
        private readonly OptionalRead _tables = new OptionalRead("the queried tables", AuditRules.DuplicateProject.Name);
        private Dictionary<string, LedgerHistory>? _ledger;

        /// <param name="readFailed">Told each failed optional read once, as a HexException whose message names the project and
        /// the rules that skipped it; by default it is written as a warning to <paramref name="sink"/>.</param>
        public ScheduleAuditor(HexAccount account, ScheduleAuditOptions options, IHexEventSink? sink = null, Action<HexException>? readFailed = null)
        {
            _account = account;
            _options = options;
            _sink = sink ?? NullEventSink.Instance;
            _readFailed = readFailed ?? (error => _sink.Warning(error.Message));
            _now = options.Now ?? account.Time.GetUtcNow();
        }

        public int ProjectsAudited { get; private set; }

        public int FindingCount => _findings.Count;

        /// <summary>The project ids of <see cref="ScheduleAuditOptions.RefreshOverrides"/> that no audited project has.</summary>
        public IReadOnlyList<string> UnusedRefreshOverrides => _options.RefreshOverrides.Keys.Where(id => !_overridesSeen.Contains(id)).ToList();

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
            if (_options.RefreshOverrides.ContainsKey(project.ProjectId)) _overridesSeen.Add(project.ProjectId);
            var findings = new List<PendingFinding>();
            var schedules = project.GetSchedules();
            var enabled = ReadableSchedules(project, schedules.Where(s => s.Enabled));
            var runsPerWeek = enabled.Sum(ScheduleMath.RunsPerWeek);
            var cadence = string.Join(";", enabled.Select(s => s.Cadence).Distinct());
            var audited = new AuditedProject(project.ProjectId, project.Title, Shared(project.Owner), Shared(cadence.Length == 0 ? project.Cadences : cadence)!,
                runsPerWeek, resource.Analytics?.AppViews?.LastThirtyDays ?? 0, resource.CreatedAt?.UtcDateTime ?? DateTime.MaxValue, project.LastPublishedAt != null);

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
                    findings.Add(new ScheduledButArchivedFinding(audited, inactive, inactiveSince, enabled.Count));
                }
                Remember(audited, enabled);
                return findings;
            }

            _ledger ??= await LedgerHistory.ReadAsync(_account.State, cancellationToken).ConfigureAwait(false);
            var refresh = RefreshInterval(project.ProjectId, out var refreshSource);
            var refreshRuns = 7d / refresh.TotalDays;
            if (_options.Applies(AuditRules.OverScheduled) && runsPerWeek > refreshRuns * 1.0001)
            {
                var severity = runsPerWeek >= refreshRuns * 10 ? Severities.Critical : Severities.Warning;
                findings.Add(new OverScheduledFinding(audited, severity, refresh, refreshSource));
            }

            if (_options.Applies(AuditRules.Abandoned))
            {
                var views = AppViewsWithin(resource.Analytics?.AppViews, _options.IdleDays);
                var lastViewed = resource.Analytics?.LastViewedAt;
                var idleSince = _now - TimeSpan.FromDays(_options.IdleDays);
                if (views == 0 && (lastViewed == null || lastViewed < idleSince))
                {
                    findings.Add(new AbandonedFinding(audited, lastViewed));
                }
            }

            if (_options.Applies(AuditRules.FailingSchedule) || _options.Applies(AuditRules.RunBudgetOverrun))
            {
                var (runs, gone) = await RecentRunsAsync(audited, cancellationToken).ConfigureAwait(false);
                if (gone) return new List<PendingFinding>();
                if (runs != null) findings.AddRange(RunFindings(audited, runs));
            }

            Remember(audited, enabled);
            return findings;
        }

        private IEnumerable<PendingFinding> RunFindings(AuditedProject audited, List<RunStatusPayload> runs)
        {
            var weeks = _options.LookBack.TotalDays / 7d;
            var scheduledRuns = runs.Where(r => r.RunTrigger == "SCHEDULED" && RunStatuses.IsTerminal(r.Status)).ToList();
            var failed = scheduledRuns.Count(r => RunStatuses.IsFailure(r.Status));
            if (_options.Applies(AuditRules.FailingSchedule) && scheduledRuns.Count >= 2 && failed * 2 > scheduledRuns.Count)
            {
                var share = (double)failed / scheduledRuns.Count;
                yield return new FailingScheduleFinding(audited, share >= 0.9 ? Severities.Critical : Severities.Warning, failed / weeks, failed, scheduledRuns.Count);
            }
            if (_options.Applies(AuditRules.RunBudgetOverrun))
            {
                var apiRuns = runs.Count(r => r.RunTrigger == "API");
                var total = audited.RunsPerWeek + apiRuns / weeks;
                if (total > _options.MaxRunsPerWeek)
                {
                    yield return new RunBudgetOverrunFinding(audited, total > 2 * _options.MaxRunsPerWeek ? Severities.Critical : Severities.Warning,
                        apiRuns, apiRuns / weeks, _options.MaxRunsPerWeek);
                }
            }
        }

        /// <summary>The schedules whose cadence, cron and time zone HexCost can read; the others are reported once for the project
        /// and left out.</summary>
        private List<HexSchedule> ReadableSchedules(HexProject project, IEnumerable<HexSchedule> schedules)
        {
            var readable = new List<HexSchedule>();
            var unreadable = new List<string>();
            foreach (var schedule in schedules)
            {
                try
                {
                    ScheduleMath.RunsPerWeek(schedule);
                    ScheduleMath.Parse(ScheduleMath.FireCron(schedule));
                    ScheduleMath.ParseOffset(schedule.Timezone);
                    readable.Add(schedule);
                }
                catch (FormatException error)
                {
                    unreadable.Add(error.Message);
                }
            }
            if (unreadable.Count > 0)
            {
                _readFailed(new HexException(HexErrorKind.UnexpectedResponse,
                    $"Hex gave project '{project.Title}' ({project.ProjectId}) {Count(unreadable.Count, "schedule")} HexCost cannot read: {string.Join(" ", unreadable)} "
                    + (unreadable.Count == 1 ? "It is" : "They are") + " left out of the audit" + (readable.Count > 0 ? "; the project's other schedules were audited." : "."))
                { ProjectId = project.ProjectId });
            }
            return readable;
        }

        /// <summary>The rules across projects (duplicates, collisions) and, for a whole-workspace audit, idle seats; returns how
        /// many findings they add. A read one of them needs that fails is reported, and the others still run.</summary>
        public async Task<int> CompleteAsync(bool workspace, CancellationToken cancellationToken)
        {
            var findings = new List<PendingFinding>();
            // Duplicates first: a project they find deleted is left out of the collisions too.
            if (_options.Applies(AuditRules.DuplicateProject)) findings.AddRange(await DuplicatesAsync(cancellationToken).ConfigureAwait(false));
            if (_options.Applies(AuditRules.ScheduleCollision)) findings.AddRange(Collisions());
            if (workspace && _options.Applies(AuditRules.IdleEditorSeat)) findings.AddRange(await IdleSeatsAsync(cancellationToken).ConfigureAwait(false));
            _findings.AddRange(findings);
            return findings.Count;
        }

        /// <summary>Every finding so far, most savings first: runs saved, then money, then severity. A project's runs are saved
        /// once across its findings (<see cref="CountSavingsOnce"/>). Each finding is built as it is enumerated, so only the
        /// findings not yet written are held in full.</summary>
        public IEnumerable<ScheduleFinding> SortedFindings()
        {
            CountSavingsOnce();
            return _findings
                .OrderByDescending(f => f.RunsSavedPerWeek)
                .ThenByDescending(f => f.MonthlySavings ?? 0)
                .ThenByDescending(f => Severities.Rank(f.Severity))
                .ThenBy(f => f.Rule.Name, StringComparer.Ordinal)
                .ThenBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
                .Select(f => f.Build(this));
        }

        /// <summary>
        /// Several fixes of one project save the same runs (disabling an abandoned hourly schedule also ends its over-scheduling).
        /// So that EstimatedRunsSavedPerWeek adds up, a project's biggest saving counts whole and each other finding counts only
        /// what it saves on the runs left after the bigger ones: the sum over a project never exceeds its scheduled runs a week.
        /// </summary>
        private void CountSavingsOnce()
        {
            foreach (var project in _findings.Where(f => f.Project != null).GroupBy(f => f.Project!))
            {
                var left = project.Key.ScheduledRuns;
                var counted = new List<string>();
                foreach (var finding in project.OrderByDescending(f => f.StandaloneSaving).ThenBy(f => f.Rule.Order))
                {
                    finding.CountWithin(left, counted.Count == 0 ? null : JoinAnd(counted));
                    left = Math.Round(Math.Max(0, left - finding.RunsSavedPerWeek), 2);
                    if (finding.RunsSavedPerWeek > 0 && !counted.Contains(finding.Rule.Name)) counted.Add(finding.Rule.Name);
                }
            }
        }

        /// <summary>The refresh interval of a project's data: the per-project override, else what the ledger learned
        /// from how often that project's -SourceVersion changed, else the default.</summary>
        public TimeSpan RefreshInterval(string projectId, out string source)
        {
            if (_options.RefreshOverrides.TryGetValue(projectId, out var overridden))
            {
                source = "set with -DataRefreshInterval for this project";
                return overridden;
            }
            if (_ledger != null && _ledger.TryGetValue(projectId, out var history) && history.LearnedInterval is TimeSpan learned)
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
                .Where(g => g.Count > 1)
                .ToList();
            foreach (var group in sameTitles)
            {
                // Split by the tables each project reads, where Hex tells (Enterprise): same title, other tables = not a duplicate.
                var byTables = new Dictionary<string, List<AuditedProject>>(StringComparer.Ordinal);
                foreach (var candidate in group)
                {
                    string tables = "";
                    if (tablesAvailable && candidate.Published && !_tables.GivenUp)
                    {
                        try
                        {
                            tables = await TablesOfAsync(candidate.ProjectId, cancellationToken).ConfigureAwait(false);
                            _tables.Succeeded();
                        }
                        catch (HexException ex) when (ex.Kind == HexErrorKind.Forbidden)
                        {
                            tablesAvailable = false;
                            _sink.Warning("Hex answered 403 to GetQueriedTables: it is Enterprise-only, so DuplicateProject compares titles and schedules, not the tables read.");
                        }
                        catch (HexException ex) when (ex.Kind == HexErrorKind.ProjectNotPublished)
                        {
                        }
                        catch (HexException ex) when (ex.Kind == HexErrorKind.ProjectNotFound)
                        {
                            Gone(candidate);
                            continue;
                        }
                        catch (HexException ex) when (!EndsTheAudit(ex))
                        {
                            _readFailed(_tables.Failed(ex, candidate));
                            continue;
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
                UserPage page;
                try
                {
                    page = await _account.Client.ListUsersAsync(500, after, _sink, cancellationToken).ConfigureAwait(false);
                }
                catch (HexException ex) when (!EndsTheAudit(ex))
                {
                    _readFailed(new HexException(ex.Kind, $"Could not list the workspace's users: {ex.Message} {AuditRules.IdleEditorSeat} was skipped; every other rule ran.", ex)
                        { StatusCode = ex.StatusCode, TraceId = ex.TraceId });
                    return new List<PendingFinding>();
                }
                foreach (var user in page.Values ?? new List<UserResource>())
                {
                    if (user == null) continue;
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

        /// <summary>Runs of the project (all triggers) that started within the look-back, newest first; null when they could not
        /// be read (reported). Gone: Hex answered 404, the project was deleted since it was listed (reported, and left out).</summary>
        private async Task<(List<RunStatusPayload>? Runs, bool Gone)> RecentRunsAsync(AuditedProject project, CancellationToken cancellationToken)
        {
            if (_runs.GivenUp) return (null, false);
            var since = _now - _options.LookBack;
            var runs = new List<RunStatusPayload>();
            for (var offset = 0; ; offset += RunsPageSize)
            {
                RunsPage page;
                try
                {
                    page = await _account.Client.GetProjectRunsAsync(project.ProjectId, RunsPageSize, offset, null, null, _sink, cancellationToken).ConfigureAwait(false);
                }
                catch (HexException ex) when (ex.Kind == HexErrorKind.ProjectNotPublished)
                {
                    return (runs, false);
                }
                catch (HexException ex) when (ex.Kind == HexErrorKind.ProjectNotFound)
                {
                    Gone(project);
                    return (null, true);
                }
                catch (HexException ex) when (!EndsTheAudit(ex))
                {
                    _readFailed(_runs.Failed(ex, project));
                    return (null, false);
                }
                _runs.Succeeded();
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
                if (older || batch.Count < RunsPageSize || string.IsNullOrEmpty(page.NextPage)) return (runs, false);
            }
        }

        /// <summary>A listed project Hex now answers 404 for: it is reported and left out of every rule.</summary>
        private void Gone(AuditedProject project)
        {
            _findings.RemoveAll(f => f.Project == project);
            _schedules.RemoveAll(s => s.Project == project);
            _readFailed(new HexException(HexErrorKind.ProjectNotFound,
                $"Project '{project.Title}' ({project.ProjectId}) was listed, but Hex now answers 404 for it: it was deleted during the audit, or this token lost access to it. It is left out of the audit; every other project was audited.")
                { ProjectId = project.ProjectId, StatusCode = 404 });
        }

        /// <summary>Errors after which nothing else could be read either (the token, the session, the state folder).</summary>
        private static bool EndsTheAudit(HexException error) => error.Kind == HexErrorKind.AuthFailed || error.Kind == HexErrorKind.NotConnected
            || error.Kind == HexErrorKind.InsecureBaseUri || error.Kind == HexErrorKind.InvalidConfiguration || error.Kind == HexErrorKind.StateCorrupt;

        /// <summary>One kind of optional read of a project (its runs, its queried tables). Each failure is reported once, naming
        /// the project and the rules that skip it; after three failures in a row the rest of the audit stops asking, which the
        /// third report says.</summary>
        private sealed class OptionalRead
        {
            private const int FailuresBeforeGivingUp = 3;
            private readonly string _what;
            private readonly string _rules;
            private int _failuresInARow;

            public OptionalRead(string what, string rules)
            {
                _what = what;
                _rules = rules;
            }

            public bool GivenUp { get; private set; }

            public void Succeeded() => _failuresInARow = 0;

            public HexException Failed(HexException error, AuditedProject project)
            {
                GivenUp = ++_failuresInARow >= FailuresBeforeGivingUp;
                var rest = GivenUp
                    ? $" This failed for {FailuresBeforeGivingUp} projects in a row, so {_what} of the remaining projects are not read and {_rules} skip them too."
                    : "";
                return new HexException(error.Kind,
                    $"Could not read {_what} of project '{project.Title}' ({project.ProjectId}): {error.Message} {_rules} skipped this project; every other rule ran.{rest}", error)
                    { StatusCode = error.StatusCode, TraceId = error.TraceId, ProjectId = project.ProjectId };
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

        /// <summary>"A", "A and B", "A, B and C".</summary>
        private static string JoinAnd(IReadOnlyList<string> items) =>
            items.Count == 1 ? items[0] : string.Join(", ", items.Take(items.Count - 1)) + " and " + items[items.Count - 1];

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
        public static async Task<Dictionary<string, LedgerHistory>> ReadAsync(State.WorkspaceState state, CancellationToken cancellationToken)
        {
            var result = new Dictionary<string, LedgerHistory>(StringComparer.OrdinalIgnoreCase);
            var records = await state.ReadHistoryAsync(cancellationToken, r => r.ProjectId != null && !string.IsNullOrEmpty(r.SourceVersion)).ConfigureAwait(false);
            foreach (var group in records.GroupBy(r => r.ProjectId!, StringComparer.OrdinalIgnoreCase))
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
