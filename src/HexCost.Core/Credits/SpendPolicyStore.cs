using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;

namespace HexCost.Credits
{
    /// <summary>The workspace's spend policy and the last credit snapshot: documents in the state store (with the file store,
    /// spend-policy.json and credit-snapshot.json in the workspace's folder). A policy change is written together with its
    /// ledger records in one step; a damaged document is an error, never a silent default.</summary>
    public sealed class SpendPolicyStore
    {
        public const string PolicyDocument = "spend-policy";
        public const string SnapshotDocument = "credit-snapshot";
        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true };
        private readonly HexAccount _account;

        public SpendPolicyStore(HexAccount account) => _account = account;

        /// <summary>Where the policy is, for messages.</summary>
        public string PolicyLocation => Where(PolicyDocument);

        /// <summary>A document's file with the file store, else the store and the document's name.</summary>
        private string Where(string document) =>
            _account.Store is State.FileStateStore ? Path.Combine(_account.StateDirectory, document + ".json") : _account.Store.Location + " (" + document + ")";

        public async Task<SpendPolicy> LoadAsync(CancellationToken cancellationToken)
        {
            var policy = await ReadAsync<SpendPolicy>(PolicyDocument, "spend policy", cancellationToken).ConfigureAwait(false) ?? new SpendPolicy();
            try
            {
                CreditBalanceService.ParseThresholds(policy.AlertThreshold);
            }
            catch (Exception ex) when (ex is FormatException || ex is OverflowException)
            {
                throw Damaged("spend policy", PolicyLocation, $"alertThreshold '{policy.AlertThreshold}' is not a list of whole percentages such as 80,90,100", ex);
            }
            Describe(policy);
            return policy;
        }

        /// <summary>Saves the policy and records each changed field in the ledger, in one step. Returns the changes.</summary>
        public async Task<IReadOnlyList<SpendPolicyChange>> SaveAsync(SpendPolicy updated, CancellationToken cancellationToken)
        {
            var current = await LoadAsync(cancellationToken).ConfigureAwait(false);
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
            var records = changes.Select(change => new LedgerRecord
            {
                Id = Guid.NewGuid().ToString("N"), Type = LedgerRecordTypes.SpendPolicy, At = now, Outcome = change.Field, Status = change.NewValue,
                Note = $"{change.Field}: {change.OldValue ?? "(none)"} -> {change.NewValue ?? "(none)"}", User = _account.State.User, Owner = _account.State.Owner,
            }).ToList();
            await _account.Store.WriteDocumentAsync(PolicyDocument, JsonSerializer.Serialize(updated, Json), records, cancellationToken).ConfigureAwait(false);
            return changes;
        }

        public async Task<IReadOnlyList<SpendPolicyChange>> HistoryAsync(CancellationToken cancellationToken)
        {
            var records = await _account.State.ReadHistoryAsync(cancellationToken, r => r.Type == LedgerRecordTypes.SpendPolicy).ConfigureAwait(false);
            return records.Select(record =>
            {
                var note = record.Note ?? "";
                var arrow = note.IndexOf(" -> ", StringComparison.Ordinal);
                var colon = note.IndexOf(": ", StringComparison.Ordinal);
                var old = colon >= 0 && arrow > colon ? note.Substring(colon + 2, arrow - colon - 2) : null;
                return new SpendPolicyChange
                {
                    ChangedAt = record.At.UtcDateTime, ChangedBy = record.User, Field = record.Outcome ?? "",
                    OldValue = old == "(none)" ? null : old, NewValue = record.Status,
                };
            }).ToList();
        }

        /// <summary>The last reading Get-HexCreditBalance -Workspace cached; null when there is none.</summary>
        /// <exception cref="HexException">The document is damaged (StateCorrupt).</exception>
        public Task<CreditSnapshot?> LoadSnapshotAsync(CancellationToken cancellationToken) => ReadAsync<CreditSnapshot>(SnapshotDocument, "credit snapshot", cancellationToken);

        /// <summary>Caches a reading of the current cycle (replacing the last one).</summary>
        public Task SaveSnapshotAsync(CreditSnapshot snapshot, CancellationToken cancellationToken) =>
            _account.Store.WriteDocumentAsync(SnapshotDocument, JsonSerializer.Serialize(snapshot, Json), Array.Empty<LedgerRecord>(), cancellationToken);

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

        private async Task<T?> ReadAsync<T>(string document, string what, CancellationToken cancellationToken) where T : class
        {
            var text = await _account.Store.ReadDocumentAsync(document, cancellationToken).ConfigureAwait(false);
            if (text == null) return null;
            try
            {
                return JsonSerializer.Deserialize<T>(text, Json) ?? throw new JsonException("the document is empty");
            }
            catch (JsonException ex)
            {
                throw Damaged(what, Where(document), ex.Message, ex);
            }
        }

        private static HexException Damaged(string what, string where, string reason, Exception inner) =>
            new HexException(HexErrorKind.StateCorrupt,
                $"The {what} in {where} is damaged ({reason}). HexCost will not guess: fix the JSON, or delete it and set the policy again with Set-HexSpendLimit.", inner);
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
