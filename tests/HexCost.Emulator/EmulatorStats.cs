using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace HexCost.Emulator;

/// <summary>Thread-safe counters of what the emulator saw and did.</summary>
public sealed class EmulatorStats
{
    private int _totalRequests;
    private int _runsCreated;
    private int _throttled429;
    private int _kernel503;
    private int _injectedErrors;
    private int _lostTriggerResponses;
    private readonly List<DateTimeOffset> _runCreationTimes = [];
    private readonly ConcurrentDictionary<string, int> _byOperation = new(StringComparer.Ordinal);

    public int TotalRequests => Volatile.Read(ref _totalRequests);
    /// <summary>Runs created by RunProject, including those whose response was lost.</summary>
    public int RunsCreated => Volatile.Read(ref _runsCreated);
    public int Throttled429 => Volatile.Read(ref _throttled429);
    public int Kernel503 => Volatile.Read(ref _kernel503);
    public int InjectedErrors => Volatile.Read(ref _injectedErrors);
    public int LostTriggerResponses => Volatile.Read(ref _lostTriggerResponses);

    /// <summary>Creation time of every run RunProject created, in order.</summary>
    public IReadOnlyList<DateTimeOffset> RunCreationTimes
    {
        get { lock (_runCreationTimes) return _runCreationTimes.ToArray(); }
    }

    /// <summary>Requests per operation: Me, ListUsers, ListProjects, GetProject, RunProject, GetProjectRuns, GetRunStatus, CancelRun,
    /// GetQueriedTables, ListDataConnections, ListThreads, Unknown.</summary>
    public IReadOnlyDictionary<string, int> RequestsByOperation => _byOperation.ToDictionary(p => p.Key, p => p.Value);

    public int RequestsFor(string operation) => _byOperation.GetValueOrDefault(operation);

    public void Reset()
    {
        Interlocked.Exchange(ref _totalRequests, 0);
        Interlocked.Exchange(ref _runsCreated, 0);
        Interlocked.Exchange(ref _throttled429, 0);
        Interlocked.Exchange(ref _kernel503, 0);
        Interlocked.Exchange(ref _injectedErrors, 0);
        Interlocked.Exchange(ref _lostTriggerResponses, 0);
        lock (_runCreationTimes) _runCreationTimes.Clear();
        _byOperation.Clear();
    }

    internal void Request(string operation)
    {
        Interlocked.Increment(ref _totalRequests);
        _byOperation.AddOrUpdate(operation, 1, (_, n) => n + 1);
    }

    internal void RunCreated(DateTimeOffset at)
    {
        Interlocked.Increment(ref _runsCreated);
        lock (_runCreationTimes) _runCreationTimes.Add(at);
    }

    internal void Throttled() => Interlocked.Increment(ref _throttled429);
    internal void KernelsExhausted() => Interlocked.Increment(ref _kernel503);
    internal void InjectedError() => Interlocked.Increment(ref _injectedErrors);
    internal void LostTriggerResponse() => Interlocked.Increment(ref _lostTriggerResponses);
}
