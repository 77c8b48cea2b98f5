using System;
using System.Collections.Generic;

namespace HexCost.Emulator;

internal enum RateGroup { RequestOnly, HexApiRead, RunProject }

internal readonly record struct RateDecision(bool Allowed, TimeSpan RetryAfter, int Limit, int Remaining, DateTimeOffset ResetAt);

/// <summary>A fixed window that opens with the first request after the previous window expired.</summary>
internal sealed class FixedWindow
{
    private DateTimeOffset? _start;
    private int _count;

    public int CountAt(DateTimeOffset now, TimeSpan length) => IsOpen(now, length) ? _count : 0;

    public DateTimeOffset ResetAt(DateTimeOffset now, TimeSpan length) => IsOpen(now, length) ? _start!.Value + length : now + length;

    public void Consume(DateTimeOffset now, TimeSpan length)
    {
        if (!IsOpen(now, length))
        {
            _start = now;
            _count = 0;
        }
        _count++;
    }

    private bool IsOpen(DateTimeOffset now, TimeSpan length) => _start is { } s && now < s + length;
}

/// <summary>
/// Per-user windows: every request counts in the request window; RunProject also in the run windows; the "hex-api" read
/// group also in the read windows. All applicable windows are checked before any is counted, so a 429 consumes nothing.
/// </summary>
internal sealed class RateWindows(EmulatorOptions options)
{
    private sealed class UserWindows
    {
        public readonly FixedWindow Request = new(), RunMinute = new(), RunHour = new(), ReadMinute = new(), ReadHour = new();
    }

    private readonly Dictionary<string, UserWindows> _users = new(StringComparer.Ordinal);

    public RateDecision Acquire(string userId, RateGroup group, DateTimeOffset now)
    {
        lock (_users)
        {
            if (!_users.TryGetValue(userId, out var w))
                _users[userId] = w = new UserWindows();

            (FixedWindow Window, int Limit, TimeSpan Length)[] applicable = group switch
            {
                RateGroup.RunProject =>
                [
                    (w.Request, options.RequestsPerWindow, options.RequestWindow),
                    (w.RunMinute, options.RunsPerMinute, options.RunMinuteWindow),
                    (w.RunHour, options.RunsPerHour, options.RunHourWindow),
                ],
                RateGroup.HexApiRead =>
                [
                    (w.Request, options.RequestsPerWindow, options.RequestWindow),
                    (w.ReadMinute, options.ReadsPerMinute, options.ReadMinuteWindow),
                    (w.ReadHour, options.ReadsPerHour, options.ReadHourWindow),
                ],
                _ => [(w.Request, options.RequestsPerWindow, options.RequestWindow)],
            };

            if (options.RateLimitsEnabled)
            {
                var blocking = -1;
                var latestReset = DateTimeOffset.MinValue;
                for (var i = 0; i < applicable.Length; i++)
                {
                    var (window, limit, length) = applicable[i];
                    if (window.CountAt(now, length) < limit)
                        continue;
                    var reset = window.ResetAt(now, length);
                    if (reset > latestReset)
                        (blocking, latestReset) = (i, reset);
                }
                if (blocking >= 0)
                    return new RateDecision(false, latestReset - now, applicable[blocking].Limit, 0, latestReset);
            }

            foreach (var (window, _, length) in applicable)
                window.Consume(now, length);
            var request = applicable[0];
            return new RateDecision(true, TimeSpan.Zero, request.Limit,
                Math.Max(0, request.Limit - request.Window.CountAt(now, request.Length)), request.Window.ResetAt(now, request.Length));
        }
    }
}
