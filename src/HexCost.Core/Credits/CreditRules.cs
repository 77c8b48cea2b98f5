using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HexCost.Credits
{
    public static class Plans
    {
        public const string Professional = "Professional";
        public const string Team = "Team";
        public const string Enterprise = "Enterprise";
        public static readonly IReadOnlyList<string> All = new[] { Professional, Team, Enterprise };
    }

    public static class SeatTypes
    {
        public const string Editor = "Editor";
        public const string Explorer = "Explorer";
        public const string None = "None";

        /// <summary>Hex grants credits to Editor seats (ADMIN, MANAGER, EDITOR roles) and Explorer seats (EXPLORER);
        /// other roles get no grant.</summary>
        public static string FromRole(string? role)
        {
            switch ((role ?? "").ToUpperInvariant())
            {
                case "ADMIN":
                case "MANAGER":
                case "EDITOR": return Editor;
                case "EXPLORER": return Explorer;
                default: return None;
            }
        }

        public static string Parse(string? text)
        {
            foreach (var seat in new[] { Editor, Explorer, None })
                if (string.Equals(seat, text?.Trim(), StringComparison.OrdinalIgnoreCase)) return seat;
            throw new FormatException($"'{text}' is not a seat type. Use Editor, Explorer or None.");
        }
    }

    /// <summary>Monthly credit grants per seat, by plan (Hex: Professional 30, Team 40, Enterprise 60 per Editor seat;
    /// Explorer 10). Overridable because Hex may change them.</summary>
    public sealed class GrantTable
    {
        private readonly Dictionary<string, Dictionary<string, decimal>> _grants;

        private GrantTable(Dictionary<string, Dictionary<string, decimal>> grants) => _grants = grants;

        public static GrantTable Default => new GrantTable(new Dictionary<string, Dictionary<string, decimal>>(StringComparer.OrdinalIgnoreCase)
        {
            [Plans.Professional] = Seats(30, 10),
            [Plans.Team] = Seats(40, 10),
            [Plans.Enterprise] = Seats(60, 10),
        });

        public decimal Grant(string plan, string seat)
        {
            if (!_grants.TryGetValue(plan, out var seats)) throw new FormatException($"'{plan}' is not a plan. Use Professional, Team or Enterprise.");
            return seats.TryGetValue(seat, out var grant) ? grant : 0m;
        }

        /// <summary>Overrides: @{ Editor = 50; Explorer = 12 } for the chosen plan, or @{ Team = @{ Editor = 50 } }.</summary>
        public GrantTable With(string plan, IDictionary? overrides)
        {
            var copy = _grants.ToDictionary(p => p.Key, p => new Dictionary<string, decimal>(p.Value, StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
            if (overrides == null) return new GrantTable(copy);
            foreach (DictionaryEntry entry in overrides)
            {
                var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "";
                if (entry.Value is IDictionary nested)
                {
                    if (!copy.ContainsKey(key)) throw new FormatException($"'{key}' is not a plan. Use Professional, Team or Enterprise.");
                    foreach (DictionaryEntry seat in nested) copy[key][SeatTypes.Parse(Convert.ToString(seat.Key, CultureInfo.InvariantCulture))] = Amount(seat.Value, key);
                }
                else
                {
                    copy[plan][SeatTypes.Parse(key)] = Amount(entry.Value, key);
                }
            }
            return new GrantTable(copy);
        }

        private static decimal Amount(object? value, string what)
        {
            if (value is decimal d && d >= 0) return d;
            if (value is double || value is float)
            {
                var number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (!double.IsNaN(number) && !double.IsInfinity(number) && number >= 0 && number <= (double)decimal.MaxValue) return (decimal)number;
            }
            else if (value is int || value is long || value is short || value is byte)
            {
                var whole = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                if (whole >= 0) return whole;
            }
            else if (AmountText.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), DecimalConvention.Unknown, out var parsed, out var problem))
            {
                if (parsed >= 0) return parsed;
            }
            else if (value is string)
            {
                throw new FormatException($"The grant for '{what}': {problem}.");
            }
            throw new FormatException($"The grant for '{what}' must be a number of credits of 0 or more, not '{Convert.ToString(value, CultureInfo.InvariantCulture)}'.");
        }

        private static Dictionary<string, decimal> Seats(decimal editor, decimal explorer) =>
            new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase) { [SeatTypes.Editor] = editor, [SeatTypes.Explorer] = explorer, [SeatTypes.None] = 0 };
    }

    /// <summary>A monthly billing cycle starting on a given day of the month (a day past a month's end means its last day).</summary>
    public readonly struct BillingCycle
    {
        private BillingCycle(DateTime start, DateTime end, int startDay)
        {
            Start = start;
            End = end;
            StartDay = startDay;
        }

        /// <summary>Inclusive, 00:00 UTC.</summary>
        public DateTime Start { get; }
        /// <summary>Exclusive: the next cycle's start.</summary>
        public DateTime End { get; }
        public int StartDay { get; }
        public TimeSpan Length => End - Start;

        public static BillingCycle Containing(DateTime asOfUtc, int cycleStartDay)
        {
            if (cycleStartDay < 1 || cycleStartDay > 31) throw new ArgumentOutOfRangeException(nameof(cycleStartDay), "The cycle start day is 1 to 31.");
            var month = new DateTime(asOfUtc.Year, asOfUtc.Month, 1, 0, 0, 0, DateTimeKind.Utc);
            var start = StartIn(month, cycleStartDay);
            if (start > asOfUtc)
            {
                month = month.AddMonths(-1);
                start = StartIn(month, cycleStartDay);
            }
            return new BillingCycle(start, StartIn(month.AddMonths(1), cycleStartDay), cycleStartDay);
        }

        public BillingCycle Previous() => Containing(Start.AddTicks(-1), StartDay);

        public bool Contains(DateTimeOffset at) => at.UtcDateTime >= Start && at.UtcDateTime < End;

        private static DateTime StartIn(DateTime month, int day) =>
            new DateTime(month.Year, month.Month, Math.Min(day, DateTime.DaysInMonth(month.Year, month.Month)), 0, 0, 0, DateTimeKind.Utc);

        public override string ToString() => Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + " .. " + End.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }
}
