using System;
using System.Threading;

namespace HexCost.Emulator;

/// <summary>
/// A clock that reads a chosen instant and runs on from it in real time: runs still progress and rate windows still
/// turn, but the date is the same whenever a test runs. Timers and timestamps are the system's. <see cref="Pin"/> moves it.
/// </summary>
public sealed class PinnedClock : TimeProvider
{
    private long _offsetTicks;

    public PinnedClock(DateTimeOffset now) => Pin(now);

    /// <summary>A clock <paramref name="offset"/> ahead of the real one (the offset another process's clock runs at).</summary>
    public static PinnedClock WithOffset(TimeSpan offset) => new(System.GetUtcNow() + offset);

    /// <summary>This clock minus the real one.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Volatile.Read(ref _offsetTicks));

    /// <summary>From now on this clock reads <paramref name="now"/>, and runs on from there.</summary>
    public void Pin(DateTimeOffset now) => Volatile.Write(ref _offsetTicks, (now - System.GetUtcNow()).Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
