using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Session;
using HexCost.State;

namespace HexCost.Runs
{
    /// <summary>
    /// Sending RunProject: the run budget reserved in the store first (so processes cannot overshoot it together), the
    /// trigger recorded with its outcome, and a trigger whose answer was lost never re-sent blindly: HexCost first looks in
    /// Hex for the run it may have created and adopts it (no other record may claim that run: adopting is one atomic step).
    /// </summary>
    internal static class RunTrigger
    {
        /// <param name="claim">The claim this trigger is sent under (an Intent in an index entry), checked right before each
        /// send: when another owner took the key over meanwhile (this owner's lease lapsed), nothing is sent
        /// (<see cref="ClaimLostException"/>).</param>
        public static async Task<HexRun> TriggerAsync(HexAccount account, RunRequest request, string canonical, string? key,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken, Claim? claim = null)
        {
            var body = new RunProjectBody
            {
                DryRun = request.DryRun,
                UpdatePublishedResults = request.UpdatePublishedResults,
                UseCachedSqlResults = request.NoSqlCache ? false : (bool?)null,
                InputParams = canonical == "{}" ? (JsonElement?)null : JsonDocument.Parse(canonical).RootElement.Clone(),
            };
            var reservation = request.DryRun ? null : await RunBudget.ReserveAsync(account, request.ProjectId, request.IgnoreRunBudget, sink, cancellationToken).ConfigureAwait(false);
            // Lost answers of one project's triggers are looked for one at a time in this process, so two never adopt each
            // other's runs (across processes, adopting is atomic in the store).
            var gate = account.TriggerLock(request.ProjectId);
            var ended = false;
            try
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var run = await SendAsync(account, request, body, canonical, key, requestedAt, reservation, claim, sink, cancellationToken).ConfigureAwait(false);
                    ended = true;
                    return run;
                }
                finally
                {
                    gate.Release();
                }
            }
            finally
            {
                // A reservation no run came of is released (a run adopted later counts through its Adopt record).
                if (!ended && reservation != null)
                    await ReleaseQuietlyAsync(account, reservation.Id).ConfigureAwait(false);
            }
        }

        private static async Task<HexRun> SendAsync(HexAccount account, RunRequest request, RunProjectBody body, string canonical, string? key,
            DateTimeOffset requestedAt, RunBudget.Reservation? reservation, Claim? claim, IHexEventSink sink, CancellationToken cancellationToken)
        {
            Func<CancellationToken, Task>? fence = claim == null ? null : ct => claim.CheckAsync(account, ct);
            var attempts = 0;
            var throttled = TimeSpan.Zero;
            var maxSends = Math.Max(1, account.RunOptions.MaxTriggerSends);
            for (var send = 1; ; send++)
            {
                var stats = new CallStats();
                try
                {
                    var created = await account.Client.TriggerRunAsync(request.ProjectId, body, sink, cancellationToken, stats, fence).ConfigureAwait(false);
                    attempts += stats.Attempts;
                    throttled += stats.Throttled;
                    var run = new HexRun
                    {
                        ProjectId = created.ProjectId ?? request.ProjectId,
                        RunId = created.RunId,
                        Status = request.DryRun ? null : RunStatuses.Pending,
                        RunUrl = created.RunUrl,
                        TraceId = created.TraceId,
                        ProjectVersion = created.ProjectVersion,
                        InputParameters = canonical,
                        SourceVersion = request.SourceVersion,
                        Attempts = attempts,
                        ThrottledSeconds = Math.Round(throttled.TotalSeconds, 3),
                        RequestedAt = requestedAt.UtcDateTime,
                        IdempotencyKey = request.IdempotencyKey,
                    };
                    // Recorded even when the caller has stopped meanwhile: the run exists in Hex.
                    await account.State.RecordAsync(TriggerRecord(account, run, key, TriggerOutcomes.Created, stats.Attempts, request, reservation?.Overridden == true),
                        CancellationToken.None, reservation?.Id, sink).ConfigureAwait(false);
                    if (request.DryRun) sink.Verbose($"Dry run of project {run.ProjectId}: Hex validated the call and started nothing.");
                    return run;
                }
                catch (HexTriggerOutcomeUnknownException lost)
                {
                    attempts += stats.Attempts;
                    throttled += stats.Throttled;
                    await account.State.RecordAsync(new LedgerRecord
                    {
                        Type = LedgerRecordTypes.Trigger, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, Outcome = TriggerOutcomes.Unknown,
                        CacheKey = key, SourceVersion = request.SourceVersion, InputParameters = canonical, Attempts = stats.Attempts, Note = lost.Message,
                        IdempotencyKey = request.IdempotencyKey,
                    }, CancellationToken.None, null, sink).ConfigureAwait(false);
                    if (request.DryRun) throw;
                    sink.Verbose($"{lost.Message} Looking for it before sending again.");
                    HexRun? adopted;
                    try
                    {
                        adopted = await AdoptAsync(account, request, canonical, key, lost.SentAt, requestedAt, reservation, sink, cancellationToken).ConfigureAwait(false);
                    }
                    catch (HexConnectionException unreachable)
                    {
                        throw new HexConnectionException(unreachable.Failure,
                            $"{lost.Message} Looking in Hex for that run failed too: {unreachable.Message} Before running again, check with " +
                            $"Get-HexRun -ProjectId {request.ProjectId} -First 5; running again with the same -IdempotencyKey adopts the run instead of starting another.", unreachable)
                        { ProjectId = request.ProjectId };
                    }
                    if (adopted != null)
                    {
                        adopted.Attempts = attempts;
                        adopted.ThrottledSeconds = Math.Round(throttled.TotalSeconds, 3);
                        return adopted;
                    }
                    if (send >= maxSends)
                    {
                        throw new HexException(HexErrorKind.ServerError,
                            $"RunProject for project {request.ProjectId} went unanswered {send} times and Hex shows no run it created. Check Hex's status, then run again.", lost)
                        { ProjectId = request.ProjectId };
                    }
                    sink.Verbose($"Hex shows no run created by the unanswered trigger of project {request.ProjectId}; sending it again.");
                }
                catch (HexException rejected) when (rejected.Kind != HexErrorKind.AuthFailed && !(rejected is StateStoreException))
                {
                    await account.State.RecordAsync(new LedgerRecord
                    {
                        Type = LedgerRecordTypes.Trigger, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, Outcome = TriggerOutcomes.Rejected,
                        Status = rejected.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture), Attempts = Math.Max(1, stats.Attempts),
                        CacheKey = key, InputParameters = canonical, TraceId = rejected.TraceId, IdempotencyKey = request.IdempotencyKey,
                    }, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
            }
        }

        /// <summary>Looks in Hex for an API-triggered run of the project that started after <paramref name="sentAt"/> (less the
        /// clock skew allowance) and that no record claims, and adopts it: its Adopt record is committed only while no record
        /// knows the run, so two processes never adopt the same run. Null when Hex shows none.</summary>
        public static async Task<HexRun?> AdoptAsync(HexAccount account, RunRequest request, string canonical, string? key, DateTimeOffset sentAt,
            DateTimeOffset requestedAt, RunBudget.Reservation? reservation, IHexEventSink sink, CancellationToken cancellationToken)
        {
            // On Hex's clock: a host whose clock is off still finds the run its trigger created.
            var earliest = sentAt + account.Client.ServerClockOffset - account.RunOptions.AdoptionSkew;
            var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var look = 0; look < Math.Max(1, account.RunOptions.AdoptionLookups); look++)
            {
                if (look > 0) await Clock.Delay(account.Time, account.RunOptions.AdoptionLookupDelay, cancellationToken).ConfigureAwait(false);
                var page = await account.Client.GetProjectRunsAsync(request.ProjectId, 25, 0, null, "API", sink, cancellationToken).ConfigureAwait(false);
                var candidates = (page.Runs ?? new List<RunStatusPayload>())
                    .Where(r => r != null && !string.IsNullOrEmpty(r.RunId) && !taken.Contains(r.RunId!))
                    .Where(r => r.RunTrigger == null || r.RunTrigger == "API")
                    .Where(r => r.StartTime == null || r.StartTime >= earliest)
                    .OrderBy(r => r.StartTime ?? DateTimeOffset.MaxValue)
                    .ToList();
                foreach (var candidate in candidates)
                {
                    var run = new HexRun
                    {
                        ProjectId = request.ProjectId, RunId = candidate.RunId, RunUrl = candidate.RunUrl, TraceId = candidate.TraceId,
                        ProjectVersion = candidate.ProjectVersion, InputParameters = canonical, SourceVersion = request.SourceVersion,
                        RequestedAt = requestedAt.UtcDateTime, IdempotencyKey = request.IdempotencyKey,
                    };
                    RunWaiter.Apply(run, candidate);
                    var record = TriggerRecord(account, run, key, null, null, request, reservation?.Overridden == true);
                    record.Type = LedgerRecordTypes.Adopt;
                    var runKey = LedgerIndex.RunKey(candidate.RunId!);
                    var adopted = await account.State.DecideAsync(new[] { runKey }, view =>
                        view[runKey].Exists ? (false, (LedgerRecord?)null) : (true, record), CancellationToken.None, reservation?.Id).ConfigureAwait(false);
                    if (!adopted)
                    {
                        taken.Add(candidate.RunId!);
                        continue;
                    }
                    sink.Verbose($"Adopted run {run.RunId} of project {run.ProjectId}: it started after the unanswered trigger and no ledger record claims it.");
                    return run;
                }
            }
            return null;
        }

        /// <summary>A key this owner claimed: still held by this owner right before a send (its Intent, or its own record of a
        /// trigger whose answer was lost), or lost to another owner.</summary>
        public sealed class Claim
        {
            public Claim(string entryKey, Func<string?, string?> holderOf)
            {
                EntryKey = entryKey;
                HolderOf = holderOf;
            }

            public string EntryKey { get; }
            /// <summary>The owner holding the entry's claim, from the entry's value.</summary>
            public Func<string?, string?> HolderOf { get; }

            public async Task CheckAsync(HexAccount account, CancellationToken cancellationToken)
            {
                var view = await account.Store.ReadAsync(new[] { EntryKey }, cancellationToken).ConfigureAwait(false);
                if (HolderOf(view[EntryKey].Value) != account.State.Owner)
                    throw new ClaimLostException($"Another HexCost session took over {EntryKey.Replace("\n", " ")} while this one waited to send (its lease lapsed); nothing was sent.");
            }
        }

        /// <param name="forced">The run budget refused this trigger and -IgnoreRunBudget overrode it.</param>
        public static LedgerRecord TriggerRecord(HexAccount account, HexRun run, string? key, string? outcome, int? attempts, RunRequest request, bool forced) => new LedgerRecord
        {
            Type = LedgerRecordTypes.Trigger,
            At = account.Time.GetUtcNow(),
            ProjectId = run.ProjectId,
            RunId = run.RunId,
            Outcome = outcome,
            CacheKey = key,
            SourceVersion = run.SourceVersion,
            InputParameters = run.InputParameters,
            RunUrl = run.RunUrl,
            TraceId = run.TraceId,
            ProjectVersion = run.ProjectVersion,
            Attempts = attempts,
            ThrottledSeconds = run.ThrottledSeconds,
            RequestedAt = RunWaiter.ToOffset(run.RequestedAt),
            Forced = forced ? true : (bool?)null,
            Note = request.DryRun ? LedgerIndex.DryRunNote : null,
            IdempotencyKey = request.IdempotencyKey,
        };

        private static async Task ReleaseQuietlyAsync(HexAccount account, string reservationId)
        {
            try
            {
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await account.Store.ReleaseRunAsync(reservationId, bounded.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // It ends with its owner's lease.
            }
        }
    }
}
