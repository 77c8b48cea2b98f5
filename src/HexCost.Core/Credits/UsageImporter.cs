using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
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

        public static CreditUsageImport Import(HexAccount account, string path, IList<RowError> errors)
        {
            var result = new CreditUsageImport { Path = path };
            var lines = ReadRecords(File.ReadAllText(path)).ToList();
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
                                          + "The header needs a date (Date/Timestamp), a user (Email/User) and a credits (Credits/Credits used) column.");
            }

            var known = new HashSet<string>(account.Ledger.ReadAll().Where(r => r.Type == LedgerRecordTypes.CreditUsage && r.UsageKey != null).Select(r => r.UsageKey!), StringComparer.Ordinal);
            foreach (var record in lines.Skip(1))
            {
                if (record.Fields.All(string.IsNullOrWhiteSpace)) continue;
                result.Rows++;
                string Field(int i) => i < record.Fields.Count ? record.Fields[i].Trim() : "";
                if (!DateTimeOffset.TryParse(Field(date), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                {
                    errors.Add(new RowError(record.Line, $"'{Field(date)}' is not a date (use ISO 8601, e.g. 2026-11-03T14:05:00Z)."));
                    result.Rejected++;
                    continue;
                }
                if (!decimal.TryParse(Field(credits), NumberStyles.Number, CultureInfo.InvariantCulture, out var amount) || amount < 0)
                {
                    errors.Add(new RowError(record.Line, $"'{Field(credits)}' is not a number of credits of 0 or more (use a dot for decimals)."));
                    result.Rejected++;
                    continue;
                }
                var who = Field(user);
                if (who.Length == 0)
                {
                    errors.Add(new RowError(record.Line, "The user column is empty."));
                    result.Rejected++;
                    continue;
                }
                var key = id >= 0 && Field(id).Length > 0 ? "id:" + Field(id) : "row:" + Hash(at.UtcDateTime.ToString("o", CultureInfo.InvariantCulture) + "|" + who.ToLowerInvariant() + "|" + amount.ToString(CultureInfo.InvariantCulture));
                if (!known.Add(key))
                {
                    result.Duplicates++;
                    continue;
                }
                account.Record(new LedgerRecord
                {
                    Type = LedgerRecordTypes.CreditUsage, At = at, Credits = amount, UsageUser = who, UsageKey = key, Note = Path.GetFileName(path),
                });
                result.Imported++;
                result.CreditsImported += amount;
            }
            return result;
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
        internal static IEnumerable<CsvRecord> ReadRecords(string text)
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
                    case ',': fields.Add(field.ToString()); field.Clear(); recordStarted = true; break;
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
                    default: field.Append(c); recordStarted = true; break;
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
