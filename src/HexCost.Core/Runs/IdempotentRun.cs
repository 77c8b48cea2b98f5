using System;
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
    /// -IdempotencyKey: at most one run of a project per key, across retries, crashes, processes and hosts. In one step of
    /// the store: a key with a run is returned (or reattached); a key claimed by a live owner is waited for; a key whose
    /// owner died before its trigger was answered is looked for in Hex (adopted if its run exists); an unknown key is
    /// claimed with an Intent before the trigger is sent.
    /// </summary>
    internal static class IdempotentRun
    {
        private static readonly TimeSpan ClaimPollInterval = TimeSpan.FromSeconds(1);

        private enum Step { Trigger, Existing, WaitForOther, Recover }

        public static async Task<RunResult> RunAsync(HexAccount account, RunRequest request, string canonical, RunWaitOptions wait,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var idempotencyKey = request.IdempotencyKey!;
            var entryKey = LedgerIndex.IdempotencyKey(request.ProjectId, idempotencyKey);
            var gate = account.TriggerLock("idempotency:" + request.ProjectId + ":" + idempotencyKey);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var searched = false;
                var waitingSince = account.Time.GetUtcNow();
                while (true)
                {
                    var waitedEnough = account.Time.GetUtcNow() - waitingSince > account.RunOptions.ClaimWaitLimit;
                    LedgerRecord? seen = null;
                    var step = await account.State.DecideAsync(new[] { entryKey }, view =>
                    {
                        seen = LedgerIndex.Parse<LedgerRecord>(view[entryKey].Value);
                        if (seen == null) return (Step.Trigger, Intent(account, request, idempotencyKey, canonical));
                        if (seen.RunId != null) return (Step.Existing, (LedgerRecord?)null);
                        if ((seen.Type == LedgerRecordTypes.Trigger && seen.Outcome == TriggerOutcomes.Rejected)
                            || (seen.Type == LedgerRecordTypes.Intent && seen.Outcome == TriggerOutcomes.Released)) return (Step.Trigger, Intent(account, request, idempotencyKey, canonical));
                        if (searched) return (Step.Trigger, Intent(account, request, idempotencyKey, canonical));
                        return RunFlight.IsHeldByOther(account, seen, view) && !waitedEnough ? (Step.WaitForOther, null) : (Step.Recover, null);
                    }, cancellationToken).ConfigureAwait(false);

                    switch (step)
                    {
                        case Step.Existing:
                            sink.Verbose($"The ledger already has run {seen!.RunId} for idempotency key '{idempotencyKey}'; returning it instead of starting another.");
                            return await ExistingAsync(account, seen, wait, requestedAt, sink, cancellationToken).ConfigureAwait(false);
                        case Step.WaitForOther:
                            sink.Verbose($"{RunFlight.Describe(seen!)} is triggering idempotency key '{idempotencyKey}'; waiting for its answer.");
                            await Clock.Delay(account.Time, ClaimPollInterval, cancellationToken).ConfigureAwait(false);
                            continue;
                        case Step.Recover:
                            searched = true;
                            sink.Verbose($"A trigger for idempotency key '{idempotencyKey}' was claimed at {seen!.At:u} and has no recorded run (its session ended, or has held it longer than {account.RunOptions.ClaimWaitLimit.TotalMinutes:0} minutes); looking for the run it may have created.");
                            var adopted = await RunTrigger.AdoptAsync(account, request, canonical, null, seen.At, requestedAt, null, sink, cancellationToken).ConfigureAwait(false);
                            if (adopted == null) continue;
                            if (!wait.Wait || RunStatuses.IsTerminal(adopted.Status)) return RunStatuses.IsTerminal(adopted.Status) ? RunWaiter.Finish(adopted) : new RunResult(adopted);
                            return await RunWaiter.AwaitCompletionAsync(account, adopted, null, wait, sink, cancellationToken).ConfigureAwait(false);
                        default:
                            HexRun run;
                            var claim = new RunTrigger.Claim(entryKey, json => LedgerIndex.Parse<LedgerRecord>(json)?.Owner);
                            try
                            {
                                run = await RunTrigger.TriggerAsync(account, request, canonical, null, requestedAt, sink, cancellationToken, claim).ConfigureAwait(false);
                            }
                            catch (ClaimLostException lost)
                            {
                                sink.Verbose(lost.Message + $" Looking at idempotency key '{idempotencyKey}' again.");
                                searched = false;
                                continue;
                            }
                            catch
                            {
                                await ReleaseAsync(account, request, idempotencyKey, entryKey).ConfigureAwait(false);
                                throw;
                            }
                            if (!wait.Wait) return new RunResult(run);
                            return await RunWaiter.AwaitCompletionAsync(account, run, null, wait, sink, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }

        /// <summary>A claim no trigger came of (the budget refused it, the caller stopped first) is released, so no one waits
        /// for it; a key whose trigger got an outcome keeps that outcome.</summary>
        private static async Task ReleaseAsync(HexAccount account, RunRequest request, string idempotencyKey, string entryKey)
        {
            try
            {
                await account.State.DecideAsync(new[] { entryKey }, view =>
                {
                    var seen = LedgerIndex.Parse<LedgerRecord>(view[entryKey].Value);
                    if (seen == null || seen.Type != LedgerRecordTypes.Intent || seen.Outcome == TriggerOutcomes.Released || seen.Owner != account.State.Owner)
                        return (false, (LedgerRecord?)null);
                    return (true, new LedgerRecord
                    {
                        Type = LedgerRecordTypes.Intent, Outcome = TriggerOutcomes.Released, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId,
                        IdempotencyKey = idempotencyKey,
                    });
                }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (StateStoreException)
            {
                // Then the claim ends with this owner's lease.
            }
        }

        private static LedgerRecord Intent(HexAccount account, RunRequest request, string idempotencyKey, string canonical) => new LedgerRecord
        {
            Type = LedgerRecordTypes.Intent, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, IdempotencyKey = idempotencyKey, InputParameters = canonical,
        };

        private static async Task<RunResult> ExistingAsync(HexAccount account, LedgerRecord record, RunWaitOptions wait, DateTimeOffset requestedAt,
            IHexEventSink sink, CancellationToken cancellationToken)
        {
            var run = HexAccount.RunFromRecord(record);
            run.FromCache = true;
            run.Attempts = 0;
            run.ThrottledSeconds = 0;
            run.RequestedAt = requestedAt.UtcDateTime;
            if (record.Type == LedgerRecordTypes.Complete || RunStatuses.IsTerminal(run.Status)) return RunWaiter.Finish(run);
            if (wait.Wait) return await RunWaiter.AwaitCompletionAsync(account, run, null, wait, sink, cancellationToken).ConfigureAwait(false);
            RunWaiter.Apply(run, await account.Client.GetRunStatusAsync(run.ProjectId, run.RunId!, sink, cancellationToken).ConfigureAwait(false));
            return new RunResult(run);
        }
    }
}
