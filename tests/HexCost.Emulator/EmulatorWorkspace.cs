using System;
using System.Collections.Generic;
using System.Linq;

namespace HexCost.Emulator;

internal sealed record RunRequest(string? InputParamsJson, string? ViewId, bool UpdatePublishedResults, bool UseCachedSqlResults, string? NotificationsJson);

internal enum CancelResult { NotFound, AlreadyFinished, Cancelled }

/// <summary>
/// The emulated workspace: one org, its users, projects, runs and agent threads. All members are thread-safe; collections are snapshots.
/// The token's user is the first user, an ADMIN. Demo content is deterministic from the seed; ids of projects, users and
/// runs created later are random, as Hex's are.
/// </summary>
public sealed class EmulatorWorkspace
{
    private readonly object _gate = new();
    private readonly EmulatorOptions _options;
    private readonly List<EmulatorUser> _users;
    private readonly List<EmulatorDataConnection> _dataConnections;
    private readonly EmulatorQueriedTable[] _demoTables;
    private EmulatorUser _tokenUser;
    private readonly List<EmulatorProject> _projects = [];
    private readonly Dictionary<string, EmulatorProject> _projectsById = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, EmulatorRun> _runsById = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<EmulatorRun> _liveRuns = [];
    private readonly Dictionary<string, KeysetEntry<EmulatorProject>[]> _sortedProjects = new(StringComparer.Ordinal);
    private readonly List<EmulatorThread> _threads;
    private KeysetEntry<EmulatorThread>[]? _sortedThreads;

    internal EmulatorWorkspace(EmulatorOptions options)
    {
        _options = options;
        GeneratedAt = DemoWorkspace.Millis(options.Time.GetUtcNow());
        OrgId = DemoWorkspace.OrgId(options.Seed);
        _users = DemoWorkspace.Users(options.Seed, GeneratedAt);
        _tokenUser = _users[0];
        _dataConnections = DemoWorkspace.DataConnections(options.Seed);
        _demoTables = DemoWorkspace.TablePool(_dataConnections);
        _threads = DemoWorkspace.Threads(options.Seed, GeneratedAt, _users);
        for (var i = 0; i < options.ProjectCount; i++)
        {
            var project = DemoWorkspace.Project(options.Seed, i, GeneratedAt, _users);
            project.QueriedTables = DemoWorkspace.QueriedTables(options.Seed, project.Title, _demoTables);
            Register(project);
        }
    }

    public string OrgId { get; }

    /// <summary>Clock reading when the demo content was generated; demo timestamps lie before it.</summary>
    public DateTimeOffset GeneratedAt { get; }

    /// <summary>The user the token belongs to (role ADMIN unless a test changed it with <see cref="SetUser"/>).</summary>
    public EmulatorUser TokenUser
    {
        get { lock (_gate) return _tokenUser; }
    }

    public IReadOnlyList<EmulatorUser> Users
    {
        get { lock (_gate) return _users.ToArray(); }
    }

    /// <summary>Data connections in creation order: the three demo connections (Snowflake prod, Postgres app, BigQuery marketing), then added ones.</summary>
    public IReadOnlyList<EmulatorDataConnection> DataConnections
    {
        get { lock (_gate) return _dataConnections.ToArray(); }
    }

    public IReadOnlyList<EmulatorProject> Projects
    {
        get { lock (_gate) return _projects.ToArray(); }
    }

    /// <summary>Every run (demo history included), oldest first.</summary>
    public IReadOnlyList<EmulatorRun> Runs
    {
        get
        {
            lock (_gate)
                return _projects.SelectMany(RunListOf).OrderBy(r => r.CreatedAt).ToArray();
        }
    }

    /// <summary>
    /// Agent threads, newest first (ListThreads order: createdAt, then id, descending). The demo workspace has 40 threads of
    /// the demo ADMIN, MANAGER, EDITOR and EXPLORER users over the 60 days before <see cref="GeneratedAt"/>.
    /// </summary>
    public IReadOnlyList<EmulatorThread> Threads
    {
        get
        {
            var sorted = ThreadsAscending();
            var result = new EmulatorThread[sorted.Length];
            for (var i = 0; i < sorted.Length; i++)
                result[i] = sorted[sorted.Length - 1 - i].Item;
            return result;
        }
    }

    /// <summary>
    /// Adds an agent thread of <paramref name="userId"/> created at <paramref name="createdAt"/>. <paramref name="type"/> is one of
    /// <see cref="ThreadType.All"/>, <paramref name="source"/> one of <see cref="ThreadSource.All"/>; a <paramref name="sensitive"/>
    /// (private) thread keeps its title here but ListThreads sends it as null.
    /// </summary>
    public EmulatorThread AddThread(string userId, double? creditsUsed, DateTimeOffset createdAt, string type = ThreadType.Threads,
        string source = ThreadSource.Hex, string? title = null, bool sensitive = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (!ThreadType.All.Contains(type))
            throw new ArgumentException($"type must be one of {string.Join(", ", ThreadType.All)}.", nameof(type));
        if (!ThreadSource.All.Contains(source))
            throw new ArgumentException($"source must be one of {string.Join(", ", ThreadSource.All)}.", nameof(source));
        if (creditsUsed is { } credits && (double.IsNaN(credits) || double.IsInfinity(credits) || credits < 0))
            throw new ArgumentOutOfRangeException(nameof(creditsUsed), "creditsUsed is a finite number of at least 0, or null.");
        var thread = new EmulatorThread(NextGuid(), userId, title, creditsUsed, type, source, DemoWorkspace.Millis(createdAt), sensitive);
        lock (_gate)
        {
            _threads.Add(thread);
            _sortedThreads = null;
        }
        return thread;
    }

    public EmulatorProject? FindProject(string projectId)
    {
        lock (_gate)
            return _projectsById.GetValueOrDefault(projectId);
    }

    public EmulatorProject GetProject(string projectId) =>
        FindProject(projectId) ?? throw new KeyNotFoundException($"No project {projectId}.");

    /// <summary>
    /// Adds a published PROJECT created now (see <see cref="EmulatorProject"/> for the defaults; its
    /// <see cref="EmulatorProject.QueriedTables"/> come from the title like a demo project's), then applies <paramref name="configure"/>.
    /// </summary>
    public EmulatorProject AddProject(string title, Action<EmulatorProject>? configure = null, string? id = null)
    {
        var now = DemoWorkspace.Millis(_options.Time.GetUtcNow());
        var project = new EmulatorProject(id ?? NextGuid(), null)
        {
            Title = title,
            CreatorEmail = TokenUser.Email,
            OwnerEmail = TokenUser.Email,
            CreatedAt = now,
            LastEditedAt = now,
            LastPublishedAt = now,
            RunList = [],
            QueriedTables = DemoWorkspace.QueriedTables(_options.Seed, title, _demoTables),
        };
        if (title.StartsWith("Failing", StringComparison.Ordinal))
            project.RunOutcome = RunStatus.Errored;
        configure?.Invoke(project);
        lock (_gate)
        {
            if (_projectsById.ContainsKey(project.Id))
                throw new InvalidOperationException($"Project {project.Id} already exists.");
            Register(project);
        }
        return project;
    }

    public bool RemoveProject(string projectId)
    {
        lock (_gate)
        {
            if (!_projectsById.Remove(projectId, out var project))
                return false;
            _projects.Remove(project);
            project.Owner = null;
            _sortedProjects.Clear();
            return true;
        }
    }

    public EmulatorUser AddUser(string? name, string email, string role, DateTimeOffset? lastLoginDate = null)
    {
        lock (_gate)
        {
            var user = new EmulatorUser(NextGuid(), name, email, role, lastLoginDate);
            _users.Add(user);
            return user;
        }
    }

    public EmulatorUser? FindUser(string userId)
    {
        lock (_gate)
            return _users.Find(u => string.Equals(u.Id, userId, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Replaces the user with the same <see cref="EmulatorUser.Id"/> (records are immutable: pass
    /// <c>user with { Role = …, LastLoginDate = … }</c>). Replacing the token user changes <see cref="TokenUser"/> and /users/me.
    /// </summary>
    /// <returns>The user as it was before.</returns>
    public EmulatorUser SetUser(EmulatorUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (_gate)
        {
            var index = _users.FindIndex(u => string.Equals(u.Id, user.Id, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
                throw new KeyNotFoundException($"No user {user.Id}.");
            var previous = _users[index];
            _users[index] = user;
            if (string.Equals(previous.Id, _tokenUser.Id, StringComparison.OrdinalIgnoreCase))
                _tokenUser = user;
            return previous;
        }
    }

    /// <summary>Adds a data connection (listed after the existing ones). <paramref name="type"/> is one of <see cref="DataConnectionType.All"/>.</summary>
    public EmulatorDataConnection AddDataConnection(string name, string type, string? description = null, string? id = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!DataConnectionType.All.Contains(type))
            throw new ArgumentException($"type must be one of {string.Join(", ", DataConnectionType.All)}.", nameof(type));
        lock (_gate)
        {
            var connection = new EmulatorDataConnection(id ?? NextGuid(), name, type, description);
            if (_dataConnections.Exists(c => string.Equals(c.Id, connection.Id, StringComparison.OrdinalIgnoreCase)))
                throw new InvalidOperationException($"Data connection {connection.Id} already exists.");
            _dataConnections.Add(connection);
            return connection;
        }
    }

    /// <summary>Runs of one project, newest first.</summary>
    public IReadOnlyList<EmulatorRun> RunsOf(string projectId)
    {
        lock (_gate)
            return _projectsById.TryGetValue(projectId, out var p) ? NewestFirst(p) : [];
    }

    public EmulatorRun? FindRun(string runId)
    {
        lock (_gate)
        {
            foreach (var p in _projects)
                RunListOf(p);
            return _runsById.GetValueOrDefault(runId);
        }
    }

    /// <summary>PENDING or RUNNING runs holding a kernel of <paramref name="userId"/> (any user when null).</summary>
    public int LiveRunCount(string? userId = null)
    {
        var now = _options.Time.GetUtcNow();
        lock (_gate)
            return _liveRuns.Count(r => (userId is null || r.UserId == userId) && r.IsLiveAt(now));
    }

    /// <summary>
    /// Adds a run as if Hex had started it at <paramref name="createdAt"/> (e.g. a SCHEDULED run). It starts after
    /// <see cref="EmulatorOptions.PendingDuration"/>, runs for <paramref name="duration"/> (default RunDuration; negative = forever),
    /// and holds a kernel of <paramref name="userId"/> (default the token user) while live.
    /// </summary>
    public EmulatorRun AddRun(string projectId, string runTrigger, DateTimeOffset createdAt, string outcome = RunStatus.Completed,
        TimeSpan? duration = null, string? userId = null)
    {
        if (!RunTrigger.All.Contains(runTrigger))
            throw new ArgumentException($"runTrigger must be one of {string.Join(", ", RunTrigger.All)}.", nameof(runTrigger));
        if (!RunStatus.Terminal.Contains(outcome))
            throw new ArgumentException($"outcome must be one of {string.Join(", ", RunStatus.Terminal)}.", nameof(outcome));
        lock (_gate)
        {
            var project = _projectsById.GetValueOrDefault(projectId) ?? throw new KeyNotFoundException($"No project {projectId}.");
            var run = NewRun(project, runTrigger, userId ?? TokenUser.Id, createdAt, outcome, duration ?? _options.RunDuration,
                new RunRequest(null, null, false, true, null));
            Store(project, run);
            return run;
        }
    }

    /// <summary>Projects ascending by the ListProjects sort key (CREATED_AT, LAST_EDITED_AT or LAST_PUBLISHED_AT) and id; cached until a project or one of its dates changes.</summary>
    internal KeysetEntry<EmulatorProject>[] ProjectsSortedBy(string sortBy)
    {
        lock (_gate)
        {
            if (_sortedProjects.TryGetValue(sortBy, out var cached))
                return cached;
            Func<EmulatorProject, string> key = sortBy switch
            {
                "LAST_EDITED_AT" => p => Keyset.TicksKey(p.LastEditedAt),
                "LAST_PUBLISHED_AT" => p => Keyset.TicksKey(p.LastPublishedAt),
                _ => p => Keyset.TicksKey(p.CreatedAt),
            };
            return _sortedProjects[sortBy] = Keyset.Sort(_projects, key, p => p.Id);
        }
    }

    /// <summary>Threads ascending by (createdAt, id); cached until a thread is added.</summary>
    internal KeysetEntry<EmulatorThread>[] ThreadsAscending()
    {
        lock (_gate)
            return _sortedThreads ??= Keyset.Sort(_threads, t => Keyset.TicksKey(t.CreatedAt), t => t.Id);
    }

    internal void SortKeysChanged()
    {
        lock (_gate)
            _sortedProjects.Clear();
    }

    internal EmulatorRun? TryStartRun(EmulatorProject project, EmulatorUser user, RunRequest request, int maxKernels)
    {
        var now = DemoWorkspace.Millis(_options.Time.GetUtcNow());
        lock (_gate)
        {
            _liveRuns.RemoveAll(r => !r.IsLiveAt(now));
            if (_liveRuns.Count(r => r.UserId == user.Id) >= maxKernels)
                return null;
            var run = NewRun(project, RunTrigger.Api, user.Id, now, project.RunOutcome,
                project.RunDurationOverride ?? _options.RunDuration, request);
            Store(project, run);
            if (run.UpdatePublishedResults)
                project.ResultUpdaters.Add(run);
            return run;
        }
    }

    /// <summary>The project's publishedResultsUpdatedAt, moved forward by completed runs that updated the published results.</summary>
    public DateTimeOffset? PublishedResultsUpdatedAt(EmulatorProject project)
    {
        var now = _options.Time.GetUtcNow();
        lock (_gate)
        {
            var latest = project.PublishedResultsUpdatedAt;
            foreach (var run in project.ResultUpdaters)
            {
                var state = run.At(now);
                if (state.Status == RunStatus.Completed && state.EndTime > latest.GetValueOrDefault(DateTimeOffset.MinValue))
                    latest = state.EndTime;
            }
            return latest;
        }
    }

    internal EmulatorRun? FindRun(EmulatorProject project, string runId)
    {
        lock (_gate)
        {
            RunListOf(project);
            return _runsById.TryGetValue(runId, out var run) && run.ProjectId == project.Id ? run : null;
        }
    }

    internal IReadOnlyList<EmulatorRun> NewestFirst(EmulatorProject project)
    {
        lock (_gate)
        {
            var list = RunListOf(project);
            var result = new EmulatorRun[list.Count];
            for (var i = 0; i < list.Count; i++)
                result[i] = list[list.Count - 1 - i];
            return result;
        }
    }

    internal CancelResult Cancel(EmulatorProject project, string runId)
    {
        var now = DemoWorkspace.Millis(_options.Time.GetUtcNow());
        lock (_gate)
        {
            RunListOf(project);
            if (!_runsById.TryGetValue(runId, out var run) || run.ProjectId != project.Id)
                return CancelResult.NotFound;
            if (run.At(now).IsTerminal)
                return CancelResult.AlreadyFinished;
            run.MarkCancelled(now);
            _liveRuns.Remove(run);
            return CancelResult.Cancelled;
        }
    }

    internal static string NextGuid() => Guid.NewGuid().ToString();

    internal static string NextTraceId() => Guid.NewGuid().ToString("N");

    private EmulatorRun NewRun(EmulatorProject project, string trigger, string userId, DateTimeOffset createdAt, string outcome,
        TimeSpan duration, RunRequest request)
    {
        var start = createdAt + _options.PendingDuration;
        DateTimeOffset? end = duration < TimeSpan.Zero || duration >= DateTimeOffset.MaxValue - start ? null : start + duration;
        return new EmulatorRun(_options.Time, project.Id, NextGuid(), trigger, userId, createdAt, start, end, outcome,
            project.ProjectVersion, NextTraceId())
        {
            InputParamsJson = request.InputParamsJson,
            ViewId = request.ViewId,
            UpdatePublishedResults = request.UpdatePublishedResults,
            UseCachedSqlResults = request.UseCachedSqlResults,
            NotificationsJson = request.NotificationsJson,
        };
    }

    private void Store(EmulatorProject project, EmulatorRun run)
    {
        var list = RunListOf(project);
        var index = list.Count;
        while (index > 0 && list[index - 1].CreatedAt > run.CreatedAt)
            index--;
        list.Insert(index, run);
        _runsById[run.RunId] = run;
        _liveRuns.Add(run);
    }

    private List<EmulatorRun> RunListOf(EmulatorProject project)
    {
        if (project.RunList is { } existing)
            return existing;
        var history = DemoWorkspace.History(project, _options.Seed, GeneratedAt, _options.Time, _users, TokenUser.Id)
            .OrderBy(r => r.CreatedAt).ToList();
        foreach (var run in history)
            _runsById[run.RunId] = run;
        project.RunList = history;
        return history;
    }

    private void Register(EmulatorProject project)
    {
        _projects.Add(project);
        _projectsById[project.Id] = project;
        project.Owner = this;
        _sortedProjects.Clear();
    }
}
