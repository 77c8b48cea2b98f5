using System;
using System.Collections.Generic;
using System.Text.Json;
using HexCost.Api;
using HexCost.Ledger;
using HexCost.Model;

namespace HexCost.State
{
    /// <summary>
    /// What the ledger's records mean for the decisions every process shares, kept as index entries in the store and
    /// updated in the same atomic step as the records that change them:
    /// <list type="bullet">
    /// <item><c>idem:&lt;project&gt;\n&lt;key&gt;</c>: the latest record of an idempotency key of a project;</item>
    /// <item><c>cache:&lt;key&gt;</c>: a cache key's claim, the run started for it and not yet ended, and its completed run;</item>
    /// <item><c>run:&lt;id&gt;</c>: a run the ledger knows (no one may adopt it) and whether its completion is recorded;</item>
    /// <item><c>alert:&lt;key&gt;</c> and <c>usage:&lt;key&gt;</c>: a run-budget alert given, a usage row imported.</item>
    /// </list>
    /// </summary>
    public static class LedgerIndex
    {
        public static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        };

        public static string IdempotencyKey(string? projectId, string key) => "idem:" + (HexIds.Normalize(projectId) ?? projectId ?? "") + "\n" + key;

        public static string CacheKey(string cacheKey) => "cache:" + cacheKey;

        public static string RunKey(string runId) => "run:" + (HexIds.Normalize(runId) ?? runId.Trim().ToLowerInvariant());

        public static string AlertKey(string alert) => "alert:" + alert;

        public static string UsageKey(string usageKey) => "usage:" + usageKey;

        /// <summary>The one rule for what spends run budget: a run HexCost started (a created trigger that was not a dry run)
        /// or adopted.</summary>
        public static bool StartsRun(LedgerRecord record) =>
            record.ProjectId != null
            && ((record.Type == LedgerRecordTypes.Trigger && record.Outcome == TriggerOutcomes.Created && record.Note != DryRunNote)
                || record.Type == LedgerRecordTypes.Adopt);

        public const string DryRunNote = "DryRun";

        /// <summary>The index entries <paramref name="record"/> changes.</summary>
        public static IEnumerable<string> KeysOf(LedgerRecord record)
        {
            if (!string.IsNullOrEmpty(record.IdempotencyKey)) yield return IdempotencyKey(record.ProjectId, record.IdempotencyKey!);
            if (!string.IsNullOrEmpty(record.CacheKey)) yield return CacheKey(record.CacheKey!);
            if (!string.IsNullOrEmpty(record.RunId)) yield return RunKey(record.RunId!);
            if (record.Type == LedgerRecordTypes.BudgetAlert && record.Outcome != null) yield return AlertKey(record.Outcome);
            if (record.Type == LedgerRecordTypes.CreditUsage && record.UsageKey != null) yield return UsageKey(record.UsageKey);
        }

        /// <summary>Entries <paramref name="record"/> also changes that only the entries of <see cref="KeysOf"/> name: a
        /// completion or cancel without a cache key ends the open run of the cache key its run was started for.</summary>
        public static IEnumerable<string> RelatedKeys(IDictionary<string, string?> values, LedgerRecord record)
        {
            if (!string.IsNullOrEmpty(record.CacheKey) || string.IsNullOrEmpty(record.RunId)) yield break;
            if (record.Type != LedgerRecordTypes.Complete && record.Type != LedgerRecordTypes.Cancel) yield break;
            if (Read<RunEntry>(values, RunKey(record.RunId!))?.CacheKey is string cacheKey) yield return CacheKey(cacheKey);
        }

        /// <summary>Applies <paramref name="record"/> to the entry values in <paramref name="values"/> (key → JSON, null for
        /// none), which hold at least <see cref="KeysOf"/> of it; a run it starts is added to <paramref name="runs"/>.</summary>
        public static void Apply(IDictionary<string, string?> values, LedgerRecord record, IList<BudgetEntry> runs)
        {
            if (!string.IsNullOrEmpty(record.IdempotencyKey))
            {
                var key = IdempotencyKey(record.ProjectId, record.IdempotencyKey!);
                var previous = Read<LedgerRecord>(values, key);
                // A completion or cancel keeps the run id of the trigger it follows.
                if (previous == null || record.RunId != null || previous.RunId == null) values[key] = Write(record);
            }
            var cacheKey = record.CacheKey;
            if (string.IsNullOrEmpty(cacheKey) && !string.IsNullOrEmpty(record.RunId)
                && (record.Type == LedgerRecordTypes.Complete || record.Type == LedgerRecordTypes.Cancel))
                cacheKey = Read<RunEntry>(values, RunKey(record.RunId!))?.CacheKey;
            if (!string.IsNullOrEmpty(cacheKey))
            {
                var key = CacheKey(cacheKey!);
                var entry = Read<CacheEntry>(values, key) ?? new CacheEntry();
                switch (record.Type)
                {
                    case LedgerRecordTypes.Intent:
                        entry.Claim = record.Outcome == TriggerOutcomes.Released ? null : record;
                        break;
                    case LedgerRecordTypes.Trigger:
                        if (record.Outcome != TriggerOutcomes.Unknown) entry.Claim = null;
                        if (record.Outcome == TriggerOutcomes.Created && record.RunId != null) entry.Open = record;
                        break;
                    case LedgerRecordTypes.Adopt:
                        entry.Claim = null;
                        if (record.RunId != null) entry.Open = record;
                        break;
                    case LedgerRecordTypes.Complete:
                    case LedgerRecordTypes.Cancel:
                        if (entry.Open != null && string.Equals(entry.Open.RunId, record.RunId, StringComparison.OrdinalIgnoreCase)) entry.Open = null;
                        if (record.Type == LedgerRecordTypes.Complete && record.Status == RunStatuses.Completed) entry.Completed = record;
                        break;
                }
                values[key] = entry.Claim == null && entry.Open == null && entry.Completed == null ? null : Write(entry);
            }
            if (!string.IsNullOrEmpty(record.RunId))
            {
                var key = RunKey(record.RunId!);
                var entry = Read<RunEntry>(values, key) ?? new RunEntry { ProjectId = record.ProjectId };
                if (record.Type == LedgerRecordTypes.Complete) entry.Completed = true;
                if (record.CacheKey != null) entry.CacheKey ??= record.CacheKey;
                values[key] = Write(entry);
            }
            if (record.Type == LedgerRecordTypes.BudgetAlert && record.Outcome != null) values[AlertKey(record.Outcome)] = Write(record);
            if (record.Type == LedgerRecordTypes.CreditUsage && record.UsageKey != null) values[UsageKey(record.UsageKey)] = Write(record);
            if (StartsRun(record)) runs.Add(new BudgetEntry(record.Id ?? Guid.NewGuid().ToString("N"), record.ProjectId!, record.At));
        }

        public static T? Read<T>(IDictionary<string, string?> values, string key) where T : class =>
            values.TryGetValue(key, out var json) ? Parse<T>(json) : null;

        public static T? Parse<T>(string? json) where T : class
        {
            if (string.IsNullOrEmpty(json)) return null;
            try
            {
                return JsonSerializer.Deserialize<T>(json!, Json);
            }
            catch (JsonException)
            {
                return null;
            }
        }

        public static string Write<T>(T value) => JsonSerializer.Serialize(value, Json);
    }

    /// <summary>A cache key's state: the claim of the process starting a run for it, that run until it ends, and the last
    /// completed run (what a later call with the same key returns without running).</summary>
    public sealed class CacheEntry
    {
        public LedgerRecord? Claim { get; set; }
        public LedgerRecord? Open { get; set; }
        public LedgerRecord? Completed { get; set; }
    }

    /// <summary>A run the ledger knows.</summary>
    public sealed class RunEntry
    {
        public string? ProjectId { get; set; }
        public string? CacheKey { get; set; }
        public bool Completed { get; set; }
    }
}
