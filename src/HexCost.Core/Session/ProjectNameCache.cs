using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;

namespace HexCost.Session
{
    /// <summary>
    /// The titles of the projects HexCost has listed for one account (project id → title), for tab completion of
    /// -ProjectId. Filled by Get-HexProject; read by completers, which never call the API. Thread-safe: every
    /// runspace and thread connected to the account shares it. Holds at most <see cref="Capacity"/> projects
    /// (new ids beyond that are ignored; known ones are still updated).
    /// </summary>
    public sealed class ProjectNameCache
    {
        public const int DefaultCapacity = 100_000;

        // Writes (a listing's pace) take the gate so the capacity holds exactly; reads never wait.
        private readonly object _writeGate = new object();
        private readonly ConcurrentDictionary<string, string?> _titles = new ConcurrentDictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

        public ProjectNameCache(int capacity = DefaultCapacity)
        {
            if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be at least 1.");
            Capacity = capacity;
        }

        public int Capacity { get; }

        public int Count => _titles.Count;

        /// <summary>Records (or updates) a project's title. Ignores an empty id.</summary>
        public void Remember(string? projectId, string? title)
        {
            if (string.IsNullOrWhiteSpace(projectId)) return;
            lock (_writeGate)
            {
                if (_titles.ContainsKey(projectId!) || _titles.Count < Capacity) _titles[projectId!] = title;
            }
        }

        public bool Forget(string projectId)
        {
            lock (_writeGate) return _titles.TryRemove(projectId, out _);
        }

        public bool TryGetTitle(string projectId, out string? title) => _titles.TryGetValue(projectId, out title);

        /// <summary>A copy of the entries, safe to enumerate while others add.</summary>
        public IReadOnlyList<KeyValuePair<string, string?>> Snapshot() => _titles.ToArray();

        public void Clear()
        {
            lock (_writeGate) _titles.Clear();
        }
    }
}
