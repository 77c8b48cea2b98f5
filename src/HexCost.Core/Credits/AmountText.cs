using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace HexCost.Credits
{
    /// <summary>Which character a set of numbers uses for decimals, when that is known.</summary>
    public enum DecimalConvention
    {
        /// <summary>Not known: a dot is the decimal point (the documented format), a lone comma is one where it cannot
        /// be a thousands separator, and "1,500" is refused as ambiguous.</summary>
        Unknown,
        /// <summary>Not known, and the reader's culture writes decimals with a comma: "1.500" is refused as well.</summary>
        UnknownCommaCulture,
        /// <summary>A dot for decimals: commas group thousands.</summary>
        Dot,
        /// <summary>A comma for decimals: dots group thousands.</summary>
        Comma,
    }

    /// <summary>
    /// Reads an amount (credits, money) as people write it in exports and spreadsheets, with a dot or a comma for decimals,
    /// and refuses what it cannot read for sure: "1,5" is 1.5, "1,234.5" and "1.234,5" are 1234.5, but "1,500" may be 1.5 or
    /// 1500 and is never guessed. No exponents, no currency signs, no NaN.
    /// </summary>
    public static class AmountText
    {
        /// <summary>The convention values of one column show: the one every unambiguous value uses, else Unknown.</summary>
        public static DecimalConvention ConventionOf(IEnumerable<string> values)
        {
            var seen = new HashSet<DecimalConvention>();
            foreach (var value in values)
            {
                var evidence = Evidence(value.Trim());
                if (evidence.HasValue) seen.Add(evidence.Value);
            }
            return seen.Count == 1 ? seen.Single() : DecimalConvention.Unknown;
        }

        /// <summary>Reads <paramref name="text"/>; on failure <paramref name="problem"/> says why, naming the value and what to
        /// write instead.</summary>
        public static bool TryParse(string? text, DecimalConvention convention, out decimal value, out string problem)
        {
            value = 0;
            problem = "";
            var s = (text ?? "").Trim();
            if (s.Length == 0)
            {
                problem = "is empty";
                return false;
            }
            var negative = s[0] == '-';
            var digits = s[0] == '-' || s[0] == '+' ? s.Substring(1) : s;
            if (digits.Length == 0 || digits.Any(c => !(c >= '0' && c <= '9') && c != ',' && c != '.'))
            {
                problem = $"'{s}' is not a number (write digits with a dot for decimals, e.g. 12.5)";
                return false;
            }

            var commas = digits.Count(c => c == ',');
            var dots = digits.Count(c => c == '.');
            char? separator;
            char? group;
            if (commas == 0 && dots == 0) (separator, group) = (null, null);
            else if (commas == 0 && dots == 1)
            {
                if (convention == DecimalConvention.Comma) (separator, group) = (null, '.');
                else if (convention == DecimalConvention.UnknownCommaCulture && LooksGrouped(digits, '.'))
                {
                    problem = Ambiguous(s, '.');
                    return false;
                }
                else (separator, group) = ('.', null);
            }
            else if (dots == 0 && commas == 1)
            {
                if (convention == DecimalConvention.Dot) (separator, group) = (null, ',');
                else if (convention != DecimalConvention.Comma && LooksGrouped(digits, ','))
                {
                    problem = Ambiguous(s, ',');
                    return false;
                }
                else (separator, group) = (',', null);
            }
            else if (dots == 1 && commas >= 1 && digits.LastIndexOf(',') < digits.IndexOf('.')) (separator, group) = ('.', ',');
            else if (commas == 1 && dots >= 1 && digits.LastIndexOf('.') < digits.IndexOf(',')) (separator, group) = (',', '.');
            else if (dots == 0) (separator, group) = (null, ',');
            else if (commas == 0) (separator, group) = (null, '.');
            else
            {
                problem = $"'{s}' mixes dots and commas in a way no number is written (write it with a dot for decimals and no thousands separator, e.g. 1234.5)";
                return false;
            }

            if ((separator == '.' && convention == DecimalConvention.Comma) || (separator == ',' && convention == DecimalConvention.Dot))
            {
                problem = $"'{s}' uses a {(separator == '.' ? "dot" : "comma")} for decimals, unlike the other values of its column (write every value the same way, e.g. 1234.5)";
                return false;
            }

            var point = separator.HasValue ? digits.IndexOf(separator.Value) : -1;
            var whole = point >= 0 ? digits.Substring(0, point) : digits;
            var fraction = point >= 0 ? digits.Substring(point + 1) : "";
            if (group.HasValue)
            {
                var groups = whole.Split(group.Value);
                if (groups[0].Length == 0 || groups[0].Length > 3 || (groups[0][0] == '0' && groups[0].Length > 1) || groups.Skip(1).Any(g => g.Length != 3))
                {
                    problem = $"'{s}' is not a number: its {(group == ',' ? "commas" : "dots")} do not group thousands (write it with a dot for decimals and no thousands separator, e.g. 1234.5)";
                    return false;
                }
                whole = string.Concat(groups);
            }
            if (whole.Length == 0 && fraction.Length == 0)
            {
                problem = $"'{s}' is not a number (write digits with a dot for decimals, e.g. 12.5)";
                return false;
            }
            var invariant = (whole.Length == 0 ? "0" : whole) + (fraction.Length > 0 ? "." + fraction : "");
            try
            {
                value = decimal.Parse(invariant, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            }
            catch (OverflowException)
            {
                problem = $"'{s}' is too large a number";
                return false;
            }
            if (negative) value = -value;
            return true;
        }

        /// <summary>What an unambiguous value says about its column's convention; null when it says nothing.</summary>
        private static DecimalConvention? Evidence(string s)
        {
            var digits = s.TrimStart('-', '+');
            var commas = digits.Count(c => c == ',');
            var dots = digits.Count(c => c == '.');
            if (commas == 1 && dots == 0) return LooksGrouped(digits, ',') ? (DecimalConvention?)null : DecimalConvention.Comma;
            if (dots == 1 && commas == 0) return LooksGrouped(digits, '.') ? (DecimalConvention?)null : DecimalConvention.Dot;
            if (dots == 1 && commas >= 1 && digits.LastIndexOf(',') < digits.IndexOf('.')) return DecimalConvention.Dot;
            if (commas == 1 && dots >= 1 && digits.LastIndexOf('.') < digits.IndexOf(',')) return DecimalConvention.Comma;
            return null;
        }

        /// <summary>One <paramref name="mark"/> that could group thousands: 1 to 3 digits (not a leading 0) before it, 3 after.</summary>
        private static bool LooksGrouped(string digits, char mark)
        {
            var at = digits.IndexOf(mark);
            var before = digits.Substring(0, at);
            var after = digits.Substring(at + 1);
            return after.Length == 3 && before.Length >= 1 && before.Length <= 3 && before[0] != '0' && after.All(char.IsDigit);
        }

        private static string Ambiguous(string s, char mark)
        {
            var at = s.IndexOf(mark);
            var asDecimal = (s.Substring(0, at) + "." + s.Substring(at + 1)).TrimEnd('0').TrimEnd('.');
            var asWhole = s.Substring(0, at) + s.Substring(at + 1);
            return $"'{s}' is ambiguous: {asDecimal} or {asWhole}? HexCost does not guess (write {asDecimal} with a dot for decimals, or {asWhole} without a thousands separator)";
        }
    }
}
