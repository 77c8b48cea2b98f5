using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace HexCost.Limits
{
    /// <summary>The named limit groups Hex documents. A request counts in every group its kind belongs to.</summary>
    public enum RateLimitGroup
    {
        /// <summary>Every request, per user (Hex: 60 per minute, a fixed window from the first request).</summary>
        Request,
        /// <summary>RunProject triggers (Hex: 20 per minute and 60 per hour).</summary>
        RunProject,
        /// <summary>Reads in Hex's "hex-api" group (Hex: 30 per minute and 1800 per hour by default).</summary>
        Read,
    }

    /// <summary>At most <see cref="Limit"/> requests in any interval of length <see cref="Window"/>.</summary>
    public sealed class RateWindow
    {
        public RateWindow(int limit, TimeSpan window)
        {
            if (limit < 1) throw new ArgumentOutOfRangeException(nameof(limit), "A limit allows at least one request.");
            if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), "A window lasts longer than zero.");
            Limit = limit;
            Window = window;
        }

        public int Limit { get; }
        public TimeSpan Window { get; }

        public override string ToString() => Limit.ToString(CultureInfo.InvariantCulture) + "/" + FormatDuration(Window);

        private static string FormatDuration(TimeSpan d)
        {
            if (d.TotalHours >= 1 && d.TotalHours == Math.Floor(d.TotalHours)) return d.TotalHours.ToString(CultureInfo.InvariantCulture) + "h";
            if (d.TotalMinutes >= 1 && d.TotalMinutes == Math.Floor(d.TotalMinutes)) return d.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "m";
            return d.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";
        }
    }

    /// <summary>The limits HexCost keeps to, per group. Defaults are Hex's documented limits.</summary>
    public sealed class RateLimitSettings
    {
        private static readonly Regex WindowPattern = new Regex(
            @"^\s*(?<count>[0-9]+)\s*/\s*(?<amount>[0-9]+(\.[0-9]+)?)?\s*(?<unit>[smh])\s*$",
            RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        private readonly Dictionary<RateLimitGroup, IReadOnlyList<RateWindow>> _groups;

        private RateLimitSettings(Dictionary<RateLimitGroup, IReadOnlyList<RateWindow>> groups) => _groups = groups;

        public static RateLimitSettings Default { get; } = new RateLimitSettings(new Dictionary<RateLimitGroup, IReadOnlyList<RateWindow>>
        {
            [RateLimitGroup.Request] = new[] { new RateWindow(60, TimeSpan.FromMinutes(1)) },
            [RateLimitGroup.RunProject] = new[] { new RateWindow(20, TimeSpan.FromMinutes(1)), new RateWindow(60, TimeSpan.FromHours(1)) },
            [RateLimitGroup.Read] = new[] { new RateWindow(30, TimeSpan.FromMinutes(1)), new RateWindow(1800, TimeSpan.FromHours(1)) },
        });

        public IReadOnlyList<RateWindow> this[RateLimitGroup group] => _groups[group];

        public IEnumerable<RateLimitGroup> Groups => _groups.Keys;

        /// <summary>Defaults overridden by <paramref name="overrides"/>: group name → "count/duration" or a list of them.</summary>
        /// <exception cref="FormatException">A key is not a group or a value is not a limit; the message says how to write it.</exception>
        public static RateLimitSettings Parse(IDictionary? overrides)
        {
            var groups = Default._groups.ToDictionary(p => p.Key, p => p.Value);
            if (overrides == null) return new RateLimitSettings(groups);
            foreach (DictionaryEntry entry in overrides)
            {
                var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "";
                if (!Enum.TryParse(key, ignoreCase: true, out RateLimitGroup group) || !Enum.IsDefined(typeof(RateLimitGroup), group) || int.TryParse(key, out _))
                {
                    throw new FormatException($"'{key}' is not a rate-limit group. Use RunProject, Request or Read, e.g. @{{ RunProject = '20/1m','60/1h' }}.");
                }
                var values = entry.Value is string single ? new object[] { single }
                    : entry.Value is IEnumerable many ? many.Cast<object>().ToArray()
                    : new[] { entry.Value };
                if (values.Length == 0)
                {
                    throw new FormatException($"The {group} limit is empty. Give at least one 'count/duration' such as '20/1m'.");
                }
                groups[group] = values.Select(v => ParseWindow(Convert.ToString(v, CultureInfo.InvariantCulture), group)).ToArray();
            }
            return new RateLimitSettings(groups);
        }

        public static RateWindow ParseWindow(string? text, RateLimitGroup? group = null)
        {
            var where = group.HasValue ? $"The {group} limit " : "The limit ";
            var match = WindowPattern.Match(text ?? "");
            if (!match.Success)
            {
                throw new FormatException($"{where}'{text}' is not a limit. Write count/duration with a unit of s, m or h, e.g. '20/1m' or '60/1h'.");
            }
            if (!int.TryParse(match.Groups["count"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
            {
                throw new FormatException($"{where}'{text}' must allow at least one request, e.g. '20/1m'.");
            }
            var unitTicks = char.ToLowerInvariant(match.Groups["unit"].Value[0]) switch
            {
                's' => TimeSpan.TicksPerSecond,
                'm' => TimeSpan.TicksPerMinute,
                _ => TimeSpan.TicksPerHour,
            };
            TimeSpan window;
            try
            {
                var amount = match.Groups["amount"].Success
                    ? decimal.Parse(match.Groups["amount"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture)
                    : 1m;
                // Decimal, not double: "0.1s" and "1.7m" are whole ticks and must not come out one tick short. Finer amounts are cut to whole ticks.
                window = TimeSpan.FromTicks((long)(amount * unitTicks));
            }
            catch (OverflowException)
            {
                throw new FormatException($"{where}'{text}' has a window too long to represent. Use at most a few days, e.g. '60/1h'.");
            }
            if (window < TimeSpan.FromMilliseconds(1) || window > TimeSpan.FromDays(7))
            {
                throw new FormatException($"{where}'{text}' needs a window between 1 ms and 7 days, e.g. '20/1m'.");
            }
            return new RateWindow(count, window);
        }

        public override string ToString() =>
            string.Join("; ", _groups.Select(g => g.Key + " = " + string.Join(",", g.Value.Select(w => w.ToString()))));
    }
}
