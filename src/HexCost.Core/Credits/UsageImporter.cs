using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;

namespace HexCost.Credits
{
    /// <summary>Imports per-user credit usage from a CSV export (Hex's Billing &amp; Credits usage log, or any file with
    /// a date, a user and a credits column) into the ledger. A row already imported is skipped.</summary>
    public static class UsageImporter
    {
        private static readonly string[] DateColumns = { "date", "timestamp", "createdat", "time", "day", "usedat" };
        private static readonly string[] UserColumns = { "email", "useremail", "user", "userid", "member" };
        private static readonly string[] CreditColumns = { "credits", "creditsused", "credit", "creditused", "amount" };
        private static readonly string[] IdColumns = { "id", "threadid", "taskid", "eventid", "usageid" };

        public sealed class RowError
        {
            public RowError(int line, string message)
            {
                Line = line;
                Message = message;
            }

            public int Line { get; }
            public string Message { get; }
        }

        public static async Task<CreditUsageImport> ImportAsync(HexAccount account, string path, IList<RowError> errors, CancellationToken cancellationToken)
        {
            var result = new CreditUsageImport { Path = path };
            var text = File.ReadAllText(path);
            var lines = ReadRecords(text, DelimiterOf(text)).ToList();
            if (lines.Count == 0) return result;
            var header = lines[0].Fields.Select(Normalize).ToList();
            int Column(string[] names) => header.FindIndex(h => names.Contains(h));
            var date = Column(DateColumns);
            var user = Column(UserColumns);
            var credits = Column(CreditColumns);
            var id = Column(IdColumns);
            if (date < 0 || user < 0 || credits < 0)
            {
                throw new FormatException($"{path} has no {(date < 0 ? "date" : user < 0 ? "user (email)" : "credits")} column. "
                                          + "The header needs a date (Date/Timestamp), a user (Email/User) and a credits (Credits/Credits used) column, "
                                          + "separated by commas (or semicolons or tabs throughout).");
            }

            var rows = lines.Skip(1).Where(r => !r.Fields.All(string.IsNullOrWhiteSpace)).ToList();
            var convention = AmountText.ConventionOf(rows.Where(r => credits < r.Fields.Count).Select(r => r.Fields[credits]));
            foreach (var record in rows)
            {
                result.Rows++;
                string Field(int i) => i < record.Fields.Count ? record.Fields[i].Trim() : "";
                void Reject(string message)
                {
                    errors.Add(new RowError(record.Line, message));
                    result.Rejected++;
                }
                if (record.Fields.Skip(header.Count).Any(f => !string.IsNullOrWhiteSpace(f)))
                {
                    Reject($"The row has {record.Fields.Count} fields but the header has {header.Count}: a value that holds the separator (such as 1,5) "
                           + "must be quoted (\"1,5\"), or written with a dot for decimals (1.5).");
                    continue;
                }
                if (!TryParseDate(Field(date), out var at, out var dateProblem))
                {
                    Reject(dateProblem);
                    continue;
                }
                if (!AmountText.TryParse(Field(credits), convention, out var amount, out var amountProblem) || amount < 0)
                {
                    Reject(amountProblem.Length > 0
                        ? $"The credits value {amountProblem}."
                        : $"The credits value '{Field(credits)}' is below 0; give the credits used, 0 or more.");
                    continue;
                }
                var who = Field(user);
                if (who.Length == 0)
                {
                    Reject("The user column is empty.");
                    continue;
                }
                var key = id >= 0 && Field(id).Length > 0 ? "id:" + Field(id) : "row:" + Hash(at.UtcDateTime.ToString("o", CultureInfo.InvariantCulture) + "|" + who.ToLowerInvariant() + "|" + amount.ToString(CultureInfo.InvariantCulture));
                // Imported once: the row's key is checked and recorded in one step, so a re-import (or two at once) adds nothing.
                var entryKey = State.LedgerIndex.UsageKey(key);
                var added = await account.State.DecideAsync(new[] { entryKey }, view => view[entryKey].Exists
                    ? (false, (LedgerRecord?)null)
                    : (true, new LedgerRecord { Type = LedgerRecordTypes.CreditUsage, At = at, Credits = amount, UsageUser = who, UsageKey = key, Note = Path.GetFileName(path) }),
                    cancellationToken).ConfigureAwait(false);
                if (!added)
                {
                    result.Duplicates++;
                    continue;
                }
                result.Imported++;
                result.CreditsImported += amount;
            }
            return result;
        }

        private static readonly Regex NumericDate = new Regex(@"^(?<a>[0-9]{1,2})(?<sep>[./-])(?<b>[0-9]{1,2})\k<sep>(?<year>[0-9]{2}([0-9]{2})?)(?<rest>([ T].*)?)$", RegexOptions.CultureInvariant);

        /// <summary>ISO 8601 and the other forms .NET reads without a culture; a day and month written as numbers
        /// (03.11.2026, 11/03/2026) only where they cannot be swapped.</summary>
        internal static bool TryParseDate(string text, out DateTimeOffset at, out string problem)
        {
            problem = "";
            var iso = text;
            var numeric = NumericDate.Match(text);
            if (numeric.Success)
            {
                var a = int.Parse(numeric.Groups["a"].Value, CultureInfo.InvariantCulture);
                var b = int.Parse(numeric.Groups["b"].Value, CultureInfo.InvariantCulture);
                var year = numeric.Groups["year"].Value;
                if (year.Length == 2)
                {
                    at = default;
                    problem = $"'{text}' has a two-digit year. Write dates as ISO 8601 with the year in full, e.g. 20{year}-11-03.";
                    return false;
                }
                int day, month;
                if (a == b || (a > 12 && b <= 12)) (day, month) = (a, b);
                else if (b > 12 && a <= 12) (day, month) = (b, a);
                else if (a <= 12 && b <= 12)
                {
                    at = default;
                    problem = $"'{text}' is ambiguous: day {a} of month {b}, or month {a} day {b}? Write dates as ISO 8601, "
                              + $"e.g. {year}-{b:00}-{a:00} or {year}-{a:00}-{b:00}.";
                    return false;
                }
                else (day, month) = (0, 0);
                iso = $"{year}-{month:00}-{day:00}{numeric.Groups["rest"].Value}";
            }
            if (DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at)) return true;
            problem = $"'{text}' is not a date (use ISO 8601, e.g. 2026-11-03T14:05:00Z).";
            return false;
        }

        /// <summary>The separator of the header line: a comma, or a semicolon or tab where the header has more of those
        /// (Excel and Export-Csv -UseCulture write semicolons in cultures with a decimal comma).</summary>
        internal static char DelimiterOf(string text)
        {
            var counts = new Dictionary<char, int> { [','] = 0, [';'] = 0, ['\t'] = 0 };
            var quoted = false;
            foreach (var c in text)
            {
                if (c == '"') quoted = !quoted;
                else if (!quoted && c == '\n') break;
                else if (!quoted && counts.ContainsKey(c)) counts[c]++;
            }
            return counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key == ',' ? 0 : 1).First().Key;
        }

        private static string Normalize(string header)
        {
            var builder = new StringBuilder();
            foreach (var c in header.Trim().TrimStart('\uFEFF')) if (char.IsLetterOrDigit(c)) builder.Append(char.ToLowerInvariant(c));
            return builder.ToString();
        }

        private static string Hash(string text)
        {
            using var sha = SHA256.Create();
            return string.Concat(sha.ComputeHash(Encoding.UTF8.GetBytes(text)).Take(12).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }

        internal sealed class CsvRecord
        {
            public CsvRecord(int line, List<string> fields)
            {
                Line = line;
                Fields = fields;
            }

            public int Line { get; }
            public List<string> Fields { get; }
        }

        /// <summary>RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks.</summary>
        internal static IEnumerable<CsvRecord> ReadRecords(string text, char delimiter = ',')
        {
            var fields = new List<string>();
            var field = new StringBuilder();
            var quoted = false;
            var recordStarted = false;
            var line = 1;
            var recordLine = 1;
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else
                    {
                        if (c == '\n') line++;
                        field.Append(c);
                    }
                    continue;
                }
                switch (c)
                {
                    case '"': quoted = true; recordStarted = true; break;
                    case '\r': break;
                    case '\n':
                        fields.Add(field.ToString());
                        field.Clear();
                        yield return new CsvRecord(recordLine, fields);
                        fields = new List<string>();
                        recordStarted = false;
                        line++;
                        recordLine = line;
                        break;
                    default:
                        if (c == delimiter)
                        {
                            fields.Add(field.ToString());
                            field.Clear();
                        }
                        else field.Append(c);
                        recordStarted = true;
                        break;
                }
            }
            // A last record without a line break; one that is just "" is a single empty field.
            if (recordStarted)
            {
                fields.Add(field.ToString());
                yield return new CsvRecord(recordLine, fields);
            }
        }
    }
}
