using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using HexCost.Api;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;

namespace HexCost.Credits
{
    /// <summary>The workspace's spend policy (spend-policy.json in its state directory) and the last credit snapshot.
    /// Changes are written atomically and recorded in the ledger; a damaged file is an error, never a silent default.</summary>
    public sealed class SpendPolicyStore
    {
        public const string PolicyFile = "spend-policy.json";
        public const string SnapshotFile = "credit-snapshot.json";
        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true };
        private readonly HexAccount _account;

        public SpendPolicyStore(HexAccount account) => _account = account;

        public string PolicyPath => Path.Combine(_account.StateDirectory, PolicyFile);

        public SpendPolicy Load()
        {
            var policy = Read<SpendPolicy>(PolicyPath, "spend policy") ?? new SpendPolicy();
            try
            {
                CreditBalanceService.ParseThresholds(policy.AlertThreshold);
            }
            catch (Exception ex) when (ex is FormatException || ex is OverflowException)
            {
                throw Damaged("spend policy", PolicyPath, $"alertThreshold '{policy.AlertThreshold}' is not a list of whole percentages such as 80,90,100", ex);
            }
            Describe(policy);
            return policy;
        }

        /// <summary>Saves the policy and records each changed field in the ledger. Returns the changes.</summary>
        public IReadOnlyList<SpendPolicyChange> Save(SpendPolicy updated)
        {
            var current = Load();
            var now = _account.Time.GetUtcNow();
            var changes = Diff(current, updated).Select(c =>
            {
                c.ChangedAt = now.UtcDateTime;
                c.ChangedBy = _account.UserEmail ?? _account.UserId;
                return c;
            }).ToList();
            if (changes.Count == 0) return changes;
            updated.ChangedAt = now.UtcDateTime;
            updated.ChangedBy = _account.UserEmail ?? _account.UserId;
            Describe(updated);
            Write(PolicyPath, updated);
            foreach (var change in changes)
            {
                _account.Record(new LedgerRecord
                {
                    Type = LedgerRecordTypes.SpendPolicy, At = now, Outcome = change.Field, Status = change.NewValue,
                    Note = $"{change.Field}: {change.OldValue ?? "(none)"} -> {change.NewValue ?? "(none)"}",
                });
            }
            return changes;
        }

        public IEnumerable<SpendPolicyChange> History()
        {
            foreach (var record in _account.Ledger.ReadAll().Where(r => r.Type == LedgerRecordTypes.SpendPolicy))
            {
                var note = record.Note ?? "";
                var arrow = note.IndexOf(" -> ", StringComparison.Ordinal);
                var colon = note.IndexOf(": ", StringComparison.Ordinal);
                var old = colon >= 0 && arrow > colon ? note.Substring(colon + 2, arrow - colon - 2) : null;
                yield return new SpendPolicyChange
                {
                    ChangedAt = record.At.UtcDateTime, ChangedBy = record.User, Field = record.Outcome ?? "",
                    OldValue = old == "(none)" ? null : old, NewValue = record.Status,
                };
            }
        }

        public string SnapshotPath => Path.Combine(_account.StateDirectory, SnapshotFile);

        /// <summary>The last reading Get-HexCreditBalance -Workspace cached; null when there is none.</summary>
        /// <exception cref="HexException">The file is damaged (StateCorrupt).</exception>
        public CreditSnapshot? LoadSnapshot() => Read<CreditSnapshot>(SnapshotPath, "credit snapshot");

        /// <summary>Caches a reading of the current cycle (replacing the last one).</summary>
        /// <exception cref="HexException">The state folder cannot be written (StateCorrupt).</exception>
        public void SaveSnapshot(CreditSnapshot snapshot) => Write(SnapshotPath, snapshot);

        /// <summary>Fills in what HexCost enforces and what must be typed into Hex's own settings.</summary>
        public static void Describe(SpendPolicy policy)
        {
            var enforced = new List<string>();
            if (policy.WeeklyRunBudget.HasValue) enforced.Add($"WeeklyRunBudget {policy.WeeklyRunBudget} (Invoke-HexRun refuses triggers beyond it)");
            if (policy.MaxRunsPerProjectPerWeek.HasValue) enforced.Add($"MaxRunsPerProjectPerWeek {policy.MaxRunsPerProjectPerWeek}");
            enforced.Add($"alerts at {policy.AlertThreshold} %");
            policy.HexEnforced = string.Join("; ", enforced);
            policy.SetInHex = policy.MonthlyAddOnLimit.HasValue
                ? $"In Hex: Settings > Billing & Credits > auto top-up monthly limit = {policy.MonthlyAddOnLimit.Value.ToString("0.##", CultureInfo.InvariantCulture)} (Hex has no API for it; HexCost only reports against it)"
                : "Nothing: no monthly add-on limit is set";
        }

        private static IEnumerable<SpendPolicyChange> Diff(SpendPolicy a, SpendPolicy b)
        {
            string? Text(object? v) => v == null ? null : Convert.ToString(v, CultureInfo.InvariantCulture);
            var fields = new (string Name, object? Old, object? New)[]
            {
                ("MonthlyAddOnLimit", a.MonthlyAddOnLimit, b.MonthlyAddOnLimit),
                ("AlertThreshold", a.AlertThreshold, b.AlertThreshold),
                ("WeeklyRunBudget", a.WeeklyRunBudget, b.WeeklyRunBudget),
                ("MaxRunsPerProjectPerWeek", a.MaxRunsPerProjectPerWeek, b.MaxRunsPerProjectPerWeek),
                ("TopUpPackCredits", a.TopUpPackCredits, b.TopUpPackCredits),
                ("TopUpPackPrice", a.TopUpPackPrice, b.TopUpPackPrice),
            };
            foreach (var (name, old, @new) in fields)
            {
                if (Text(old) != Text(@new)) yield return new SpendPolicyChange { Field = name, OldValue = Text(old), NewValue = Text(@new) };
            }
        }

        private static T? Read<T>(string path, string what) where T : class
        {
            if (!File.Exists(path)) return null;
            try
            {
                return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json) ?? throw new JsonException("the file is empty");
            }
            catch (JsonException ex)
            {
                throw Damaged(what, path, ex.Message, ex);
            }
        }

        private static HexException Damaged(string what, string path, string reason, Exception inner) =>
            new HexException(HexErrorKind.StateCorrupt,
                $"The {what} file {path} is damaged ({reason}). HexCost will not guess: fix the JSON, or delete the file and set the policy again with Set-HexSpendLimit.", inner);

        private static void Write<T>(string path, T value)
        {
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                File.WriteAllText(temp, JsonSerializer.Serialize(value, Json));
                StateFiles.RestrictToOwner(temp, isDirectory: false);
                if (File.Exists(path)) File.Replace(temp, path, null);
                else File.Move(temp, path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                TryDelete(temp);
                throw new HexException(HexErrorKind.StateCorrupt,
                    $"HexCost could not write {path} ({ex.Message.Replace(temp, path)}). Check that its folder exists, that you may write there and that the disk is not full.", ex);
            }
        }

        private static void TryDelete(string path)
        {
            try
            {
                if (File.Exists(path)) File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                // The write already failed and says so; a temp file left behind is harmless.
            }
        }
    }

    /// <summary>What the last Get-HexCreditBalance -Workspace found, for Set-HexSpendLimit to compare against. It speaks
    /// only for its own billing cycle: outside [<see cref="CycleStart"/>, <see cref="CycleEnd"/>) it is history, not spend.</summary>
    public sealed class CreditSnapshot
    {
        public DateTime At { get; set; }
        public DateTime CycleStart { get; set; }
        /// <summary>The cycle's end (exclusive); null in snapshots written before HexCost kept it.</summary>
        public DateTime? CycleEnd { get; set; }
        public decimal AddOnSpend { get; set; }
        public decimal ProjectedAddOnSpend { get; set; }

        /// <summary>True when <paramref name="nowUtc"/> falls in the snapshot's cycle and the reading was not taken after it.</summary>
        public bool IsCurrent(DateTime nowUtc)
        {
            var end = CycleEnd ?? BillingCycle.Containing(CycleStart, CycleStart.Day).End;
            return nowUtc >= CycleStart && nowUtc < end && At <= nowUtc;
        }

        /// <summary>Names the reading for a message: when it was taken and for which cycle.</summary>
        public string Describe()
        {
            var end = CycleEnd ?? BillingCycle.Containing(CycleStart, CycleStart.Day).End;
            return $"taken {At.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC for the cycle "
                   + $"{CycleStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} to {end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
        }
    }
}
