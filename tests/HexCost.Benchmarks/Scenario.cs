using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using HexCost.Emulator;

namespace HexCost.Benchmarks;

/// <summary>What one benchmark run does: how many runs, how far Hex's limits are scaled down, how long a run lasts.</summary>
internal sealed record Settings
{
    public int Runs { get; init; } = 120;
    public double Scale { get; init; } = 60;
    public int Projects { get; init; } = 12;
    public int ThrottleLimit { get; init; } = 25;
    public TimeSpan Pending { get; init; } = TimeSpan.FromMilliseconds(20);
    public TimeSpan RunDuration { get; init; } = TimeSpan.FromMilliseconds(200);
    public int ImportSamples { get; init; } = 7;
    public string? ResultsPath { get; init; }
}

/// <summary>
/// Hex's documented limits with every window divided by <see cref="Scale"/>, for the emulator and the client alike:
/// RunProject 20/min and 60/h, every request 60/min, the "hex-api" reads 30/min and 1800/h.
/// </summary>
internal sealed class ScaledLimits(double scale)
{
    public const int RunsPerMinute = 20, RunsPerHour = 60, RequestsPerMinute = 60, ReadsPerMinute = 30, ReadsPerHour = 1800;

    public double Scale { get; } = scale;
    public TimeSpan Minute { get; } = TimeSpan.FromTicks((long)Math.Round(TimeSpan.TicksPerMinute / scale));
    public TimeSpan Hour { get; } = TimeSpan.FromTicks((long)Math.Round(TimeSpan.TicksPerHour / scale));

    /// <summary>Scales a real-world duration (a peer's "sleep 5 s") the same way.</summary>
    public TimeSpan Of(TimeSpan real) => TimeSpan.FromTicks((long)Math.Round(real.Ticks / Scale));

    public EmulatorOptions Emulator(Settings s) => new()
    {
        PendingDuration = s.Pending,
        RunDuration = s.RunDuration,
        RequestsPerWindow = RequestsPerMinute,
        RequestWindow = Minute,
        RunsPerMinute = RunsPerMinute,
        RunMinuteWindow = Minute,
        RunsPerHour = RunsPerHour,
        RunHourWindow = Hour,
        ReadsPerMinute = ReadsPerMinute,
        ReadMinuteWindow = Minute,
        ReadsPerHour = ReadsPerHour,
        ReadHourWindow = Hour,
        SendRetryAfter = true,
    };

    /// <summary>The same limits as <c>Connect-Hex -RateLimit</c> takes them.</summary>
    public Hashtable ClientLimits() => new()
    {
        ["RunProject"] = new[] { $"{RunsPerMinute}/{Seconds(Minute)}", $"{RunsPerHour}/{Seconds(Hour)}" },
        ["Request"] = new[] { $"{RequestsPerMinute}/{Seconds(Minute)}" },
        ["Read"] = new[] { $"{ReadsPerMinute}/{Seconds(Minute)}", $"{ReadsPerHour}/{Seconds(Hour)}" },
    };

    public string ClientLimitsText() =>
        "@{ " + string.Join("; ", ClientLimits().Cast<DictionaryEntry>().OrderBy(e => (string)e.Key)
            .Select(e => $"{e.Key} = {string.Join(",", ((string[])e.Value!).Select(v => "'" + v + "'"))}")) + " }";

    /// <summary>
    /// The earliest the last of <paramref name="runs"/> runs can end when RunProject windows are fixed and open with the
    /// first request: hour window k opens at k·H and takes 60 triggers, in minute windows opening at k·H + j·M that take
    /// 20 each (valid while ⌈60/20⌉·M ≤ H). The last trigger goes at ⌊(n−1)/60⌋·H + ⌊((n−1) mod 60)/20⌋·M and its run
    /// then needs pending + running time. Network latency and the time to see the run end are taken as zero.
    /// </summary>
    public (TimeSpan Minimum, string Formula) TheoreticalMinimum(Settings s)
    {
        var n = s.Runs;
        var hours = (n - 1) / RunsPerHour;
        var minutes = ((n - 1) % RunsPerHour) / RunsPerMinute;
        var lastTrigger = TimeSpan.FromTicks(hours * Hour.Ticks + minutes * Minute.Ticks);
        var minimum = lastTrigger + s.Pending + s.RunDuration;
        var formula =
            $"T_min = floor((n-1)/{RunsPerHour})*H + floor(((n-1) mod {RunsPerHour})/{RunsPerMinute})*M + pending + run" +
            $" = {hours}*{Seconds(Hour)} + {minutes}*{Seconds(Minute)} + {Ms(s.Pending)} + {Ms(s.RunDuration)}" +
            $" = {minimum.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)} s" +
            $"  (n={n}, H=1h/{Scale.ToString(CultureInfo.InvariantCulture)}, M=1min/{Scale.ToString(CultureInfo.InvariantCulture)}; fixed windows from the first trigger)";
        return (minimum, formula);
    }

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.######", CultureInfo.InvariantCulture) + "s";

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
}

/// <summary>What one approach achieved, read from the client's own clock and the emulator's counters.</summary>
internal sealed class Outcome
{
    public required string Name { get; init; }
    /// <summary>When the client saw the last run end (real time).</summary>
    public DateTimeOffset? ClientDone { get; init; }
    public IReadOnlyList<string> RunIds { get; init; } = [];
    public int Completed { get; init; }
    public int Errors { get; init; }
    public string? Note { get; init; }
    public string? Setup { get; set; }

    // Filled from the emulator after the approach finished.
    public int RunsCreated { get; set; }
    public int Throttled429 { get; set; }
    public int Kernel503 { get; set; }
    public int TotalRequests { get; set; }
    public int TriggerRequests { get; set; }
    public int StatusRequests { get; set; }
    public DateTimeOffset? FirstTrigger { get; set; }
    public DateTimeOffset? LastServerEnd { get; set; }
    public IReadOnlyList<DateTimeOffset> CreationTimes { get; set; } = [];

    public TimeSpan? Makespan => ClientDone - FirstTrigger;
    public TimeSpan? ServerMakespan => LastServerEnd - FirstTrigger;
    public TimeSpan? LastTrigger => CreationTimes.Count > 0 ? CreationTimes[^1] - CreationTimes[0] : null;

    public void ReadFrom(HexEmulator emulator)
    {
        var stats = emulator.Stats;
        RunsCreated = stats.RunsCreated;
        Throttled429 = stats.Throttled429;
        Kernel503 = stats.Kernel503;
        TotalRequests = stats.TotalRequests;
        TriggerRequests = stats.RequestsFor("RunProject");
        StatusRequests = stats.RequestsFor("GetRunStatus");
        CreationTimes = stats.RunCreationTimes.OrderBy(t => t).ToArray();
        FirstTrigger = CreationTimes.Count > 0 ? CreationTimes[0] : null;
        var ends = RunIds.Select(id => emulator.Workspace.FindRun(id)?.EndTime).Where(e => e != null).Select(e => e!.Value).ToArray();
        LastServerEnd = ends.Length > 0 ? ends.Max() : null;
    }

    /// <summary>Run creations grouped into bursts (a gap longer than half a scaled minute starts a new burst).</summary>
    public IEnumerable<(int Count, TimeSpan From, TimeSpan To)> Bursts(TimeSpan minute)
    {
        if (FirstTrigger is not { } first) yield break;
        var start = 0;
        for (var i = 1; i <= CreationTimes.Count; i++)
        {
            if (i < CreationTimes.Count && CreationTimes[i] - CreationTimes[i - 1] <= minute / 2) continue;
            yield return (i - start, CreationTimes[start] - first, CreationTimes[i - 1] - first);
            start = i;
        }
    }
}
