using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Cronos;
using HexCost.Model;

namespace HexCost.Audit
{
    /// <summary>How often a Hex schedule fires: runs per week, and the instants it fires in a reference month.</summary>
    public static class ScheduleMath
    {
        /// <summary>A Gregorian 4-year span (1461 days, one leap day): monthly and day-of-month crons average over it.</summary>
        private static readonly DateTime CycleStart = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private static readonly DateTime CycleEnd = new DateTime(2028, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private const double CycleWeeks = 1461d / 7d;

        /// <summary>The reference span schedule collisions are looked for in: February 2026 (28 days, so every monthly
        /// day 1-28 falls in it), widened by a day each side so offsets never push a run out.</summary>
        public static readonly DateTime CollisionStart = new DateTime(2026, 1, 31, 0, 0, 0, DateTimeKind.Utc);
        public static readonly DateTime CollisionEnd = new DateTime(2026, 3, 2, 0, 0, 0, DateTimeKind.Utc);
        public static int CollisionMinutes => (int)(CollisionEnd - CollisionStart).TotalMinutes;

        private static readonly ConcurrentDictionary<string, double> CronRate = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        private static readonly string[] Days = { "SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY" };

        /// <summary>Runs a week of an enabled schedule (0 for a disabled one): HOURLY 168, DAILY 7, WEEKLY 1,
        /// MONTHLY 48 runs in 1461 days (0.23), CUSTOM counted from its cron.</summary>
        public static double RunsPerWeek(HexSchedule schedule)
        {
            if (!schedule.Enabled) return 0;
            switch (schedule.Cadence)
            {
                case "HOURLY": return 168;
                case "DAILY": return 7;
                case "WEEKLY": return 1;
                case "MONTHLY": return 48 / CycleWeeks;
                case "CUSTOM": return CronRunsPerWeek(schedule.Cron ?? "");
                default: throw new FormatException($"Unknown schedule cadence '{schedule.Cadence}'.");
            }
        }

        /// <summary>Runs a week of a 5-field cron. A cron restricted by day of month or month is averaged over a
        /// 4-year cycle; any other repeats weekly and is counted over one week. Time zone offsets do not change counts.</summary>
        public static double CronRunsPerWeek(string cron) => CronRate.GetOrAdd(cron.Trim(), c =>
        {
            var expression = Parse(c);
            var fields = c.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            var weekly = fields.Length == 5 && fields[2] == "*" && fields[3] == "*";
            var end = weekly ? CycleStart.AddDays(7) : CycleEnd;
            var count = expression.GetOccurrences(CycleStart, end, TimeZoneInfo.Utc, fromInclusive: true, toInclusive: false).LongCount();
            return weekly ? count : count / CycleWeeks;
        });

        public static CronExpression Parse(string cron)
        {
            try
            {
                return CronExpression.Parse(cron.Trim(), CronFormat.Standard);
            }
            catch (CronFormatException ex)
            {
                throw new FormatException($"'{cron}' is not a 5-field cron expression ({ex.Message}).", ex);
            }
        }

        /// <summary>The minutes (from <see cref="CollisionStart"/>, UTC) an enabled schedule fires at.</summary>
        public static IEnumerable<int> FireMinutes(HexSchedule schedule) =>
            schedule.Enabled ? FireMinutes(FireCron(schedule), schedule.Timezone) : Enumerable.Empty<int>();

        /// <summary>The cron a schedule fires on in its own time zone: HOURLY at minute 15 is "15 * * * *", CUSTOM its own cron.</summary>
        public static string FireCron(HexSchedule schedule)
        {
            var minute = schedule.Minute ?? 0;
            var hour = schedule.Hour ?? 0;
            switch (schedule.Cadence)
            {
                case "HOURLY": return $"{minute} * * * *";
                case "DAILY": return $"{minute} {hour} * * *";
                case "WEEKLY": return $"{minute} {hour} * * {Math.Max(0, Array.IndexOf(Days, (schedule.DayOfWeek ?? "MONDAY").ToUpperInvariant()))}";
                case "MONTHLY": return $"{minute} {hour} {schedule.Day ?? 1} * *";
                default: return schedule.Cron ?? "";
            }
        }

        /// <summary>The minutes (from <see cref="CollisionStart"/>, UTC) a cron fires at in a time zone such as +08:00.</summary>
        public static IEnumerable<int> FireMinutes(string cron, string? timezone)
        {
            var offset = ParseOffset(timezone);
            var zone = TimeZoneInfo.CreateCustomTimeZone("HexCost" + offset, offset, "UTC" + FormatOffset(offset), "UTC" + FormatOffset(offset));
            foreach (var at in Parse(cron).GetOccurrences(CollisionStart, CollisionEnd, zone, fromInclusive: true, toInclusive: false))
                yield return (int)(at - CollisionStart).TotalMinutes;
        }

        /// <summary>Hex gives schedule time zones as ISO-8601 offsets such as +08:00 (or Z).</summary>
        public static TimeSpan ParseOffset(string? timezone)
        {
            if (string.IsNullOrWhiteSpace(timezone) || timezone == "Z" || timezone == "UTC") return TimeSpan.Zero;
            var text = timezone!.Trim();
            var sign = text[0] == '-' ? -1 : 1;
            if (text[0] == '+' || text[0] == '-') text = text.Substring(1);
            if (TimeSpan.TryParseExact(text, new[] { @"hh\:mm", "hhmm", "hh" }, CultureInfo.InvariantCulture, out var value) && value <= TimeSpan.FromHours(14))
                return sign < 0 ? value.Negate() : value;
            throw new FormatException($"'{timezone}' is not a time zone offset such as +08:00.");
        }

        public static string FormatOffset(TimeSpan offset) =>
            (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);

        /// <summary>Describes a minute of the collision span: "Mon 09:00 UTC".</summary>
        public static string DescribeMinute(int minute) =>
            CollisionStart.AddMinutes(minute).ToString("ddd HH:mm 'UTC'", CultureInfo.InvariantCulture);

        /// <summary>The shortest and the longest data refresh interval the audit takes.</summary>
        public static readonly TimeSpan MinInterval = TimeSpan.FromMinutes(1);
        public static readonly TimeSpan MaxInterval = TimeSpan.FromDays(3660);

        /// <summary>Parses an interval such as 30m, 6h, 1d, 1w (or a TimeSpan text), between <see cref="MinInterval"/> and
        /// <see cref="MaxInterval"/>.</summary>
        public static TimeSpan ParseInterval(string text)
        {
            var t = (text ?? "").Trim();
            var unit = t.Length >= 2 ? "mhdw".IndexOf(char.ToLowerInvariant(t[t.Length - 1])) : -1;
            if (unit >= 0 && double.TryParse(t.Substring(0, t.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && !double.IsNaN(amount))
            {
                var minutes = amount * new[] { 1d, 60d, 1440d, 10080d }[unit];
                if (minutes <= 0) throw new FormatException($"{Quote(text)} must be longer than zero, e.g. '1d' or '6h'.");
                if (minutes < MinInterval.TotalMinutes || minutes > MaxInterval.TotalMinutes) throw OutOfRange(text);
                return TimeSpan.FromMinutes(minutes);
            }
            if (TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out var span)) return CheckInterval(span, text);
            throw new FormatException($"{Quote(text)} is not an interval. Write a number and a unit (m, h, d or w), e.g. '1d' or '6h'.");
        }

        /// <summary>The interval if it is between <see cref="MinInterval"/> and <see cref="MaxInterval"/>; <paramref name="shown"/>
        /// is how the error quotes it.</summary>
        public static TimeSpan CheckInterval(TimeSpan interval, string? shown)
        {
            if (interval <= TimeSpan.Zero) throw new FormatException($"{Quote(shown)} must be longer than zero, e.g. '1d' or '6h'.");
            if (interval < MinInterval || interval > MaxInterval) throw OutOfRange(shown);
            return interval;
        }

        private static FormatException OutOfRange(string? shown) => new FormatException($"{Quote(shown)} must be between 1 minute and 10 years, e.g. '1d' or '6h'.");

        /// <summary>How audit messages show a value someone typed or pasted: quoted, control characters escaped, at most 60 characters.</summary>
        internal static string Quote(string? value)
        {
            if (value == null) return "(null)";
            var builder = new System.Text.StringBuilder("'");
            var shown = value.Length > 60 ? value.Substring(0, 60) : value;
            for (var i = 0; i < shown.Length; i++)
            {
                var c = shown[i];
                var paired = char.IsHighSurrogate(c) ? i + 1 < shown.Length && char.IsLowSurrogate(shown[i + 1]) : char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(shown[i - 1]);
                if (char.IsControl(c) || (char.IsSurrogate(c) && !paired)) builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else builder.Append(c);
            }
            return builder.Append(value.Length > 60 ? $"...' ({value.Length} characters)" : "'").ToString();
        }

        /// <summary>The cadence that runs once per <paramref name="interval"/>: HOURLY, DAILY, WEEKLY, MONTHLY,
        /// or CUSTOM with its cron for intervals between.</summary>
        public static string CadenceFor(TimeSpan interval)
        {
            if (interval <= TimeSpan.FromHours(1)) return "HOURLY";
            if (interval < TimeSpan.FromDays(1))
            {
                var hours = (int)Math.Round(interval.TotalHours);
                return 24 % hours == 0 ? $"CUSTOM (0 */{hours} * * *)" : "CUSTOM (every " + hours.ToString(CultureInfo.InvariantCulture) + " h)";
            }
            if (interval == TimeSpan.FromDays(1)) return "DAILY";
            if (interval < TimeSpan.FromDays(7)) return $"CUSTOM (0 0 */{(int)Math.Round(interval.TotalDays)} * *)";
            if (interval < TimeSpan.FromDays(28)) return "WEEKLY";
            return "MONTHLY";
        }

        public static string Format(double runsPerWeek) => runsPerWeek.ToString(runsPerWeek == Math.Floor(runsPerWeek) ? "0" : "0.##", CultureInfo.InvariantCulture);

        public static string Format(TimeSpan interval)
        {
            if (interval.TotalDays >= 1 && interval.TotalDays == Math.Floor(interval.TotalDays)) return interval.TotalDays.ToString(CultureInfo.InvariantCulture) + " d";
            if (interval.TotalHours >= 1 && interval.TotalHours == Math.Floor(interval.TotalHours)) return interval.TotalHours.ToString(CultureInfo.InvariantCulture) + " h";
            return Math.Round(interval.TotalMinutes).ToString(CultureInfo.InvariantCulture) + " min";
        }
    }
}
