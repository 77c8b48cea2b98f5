using System;
using System.Collections.Generic;
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
    /// One run per cache key (project + inputs + source version): a completed run is returned without running; callers in
    /// this process with the same key share one flight (it runs on the account's lifetime, each caller waits with its own
    /// token); across processes and hosts the first claims the key in the store and the others wait for its run.
    /// </summary>
    internal static class RunFlight
    {
        private static readonly TimeSpan ClaimPollInterval = TimeSpan.FromMilliseconds(250);

        private enum Step { Cached, Reattach, WaitForOther, Recover, Trigger }

        public static async Task<RunResult> RunAsync(HexAccount account, RunRequest request, string canonical, string key, RunWaitOptions wait,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var cached = await ServeFromCacheAsync(account, key, requestedAt, cancellationToken).ConfigureAwait(false);
            if (cached != null) return new RunResult(cached);

            SharedWork<HexRun> mine = null!;
            mine = new SharedWork<HexRun>(account.Lifetime, (flightSink, flightToken) => FlyAsync(account, request, canonical, key, requestedAt, flightSink, flightToken, mine));
            var flight = account.Flights.GetOrAdd(key, mine);
            var joined = !ReferenceEquals(flight, mine);

            HexRun started;
            try
            {
                started = await flight.WaitAsync(sink, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                if (flight.Task.IsFaulted || flight.Task.IsCanceled) EndFlight(account, key, flight);
                throw;
            }

            if (joined)
            {
                sink.Verbose($"A run of project {request.ProjectId} with the same inputs and source version is already in flight ({started.RunId}); sharing it instead of starting another.");
                await account.State.RecordAsync(new LedgerRecord
                {
                    Type = LedgerRecordTypes.CacheHit, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, RunId = started.RunId,
                    CacheKey = key, SourceVersion = request.SourceVersion, InputParameters = canonical, Note = "joined in-flight run",
                }, cancellationToken).ConfigureAwait(false);
                started = started.Clone();
                started.FromCache = true;
                started.Attempts = 0;
                started.ThrottledSeconds = 0;
                started.RequestedAt = requestedAt.UtcDateTime;
            }

            if (!wait.Wait) return new RunResult(started);
            return await RunWaiter.AwaitCompletionAsync(account, started, key, wait, sink, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The completed run of the key (this process's cache, else the store's), recorded as a cache hit; null when none.</summary>
        public static async Task<HexRun?> ServeFromCacheAsync(HexAccount account, string key, DateTimeOffset requestedAt, CancellationToken cancellationToken)
        {
            var run = await account.CachedRunAsync(key, cancellationToken).ConfigureAwait(false);
            if (run == null) return null;
            run.FromCache = true;
            run.Attempts = 0;
            run.ThrottledSeconds = 0;
            run.RequestedAt = requestedAt.UtcDateTime;
            await account.State.RecordAsync(new LedgerRecord
            {
                Type = LedgerRecordTypes.CacheHit, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId,
                CacheKey = key, SourceVersion = run.SourceVersion, InputParameters = run.InputParameters, RequestedAt = requestedAt,
            }, cancellationToken).ConfigureAwait(false);
            return run;
        }

        /// <summary>The flight: the cross-process claim, then the trigger or a reattach; the run's end is then watched in the
        /// background, whoever waits, and the flight ends with it.</summary>
        private static async Task<HexRun> FlyAsync(HexAccount account, RunRequest request, string canonical, string key, DateTimeOffset requestedAt,
            IHexEventSink sink, CancellationToken cancellationToken, SharedWork<HexRun> self)
        {
            var run = await ClaimOrJoinAsync(account, request, canonical, key, requestedAt, sink, cancellationToken).ConfigureAwait(false);
            _ = WatchInBackgroundAsync(account, run, key, self);
            return run;
        }

        /// <summary>
        /// In one step of the store: a run someone finished for the key is returned; one started and not ended is reattached;
        /// another live owner's claim is waited for; else this account claims the key (an Intent under its owner lease) and
        /// triggers. A claim whose trigger fails is released; a dead owner's claim is free once its lease has ended.
        /// </summary>
        private static async Task<HexRun> ClaimOrJoinAsync(HexAccount account, RunRequest request, string canonical, string key,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var entryKey = LedgerIndex.CacheKey(key);
            var reattachFailed = false;
            var searched = false;
            var waitingSince = account.Time.GetUtcNow();
            while (true)
            {
                var waitedEnough = account.Time.GetUtcNow() - waitingSince > account.RunOptions.ClaimWaitLimit;
                CacheEntry? entry = null;
                var step = await account.State.DecideAsync(new[] { entryKey }, view =>
                {
                    entry = LedgerIndex.Parse<CacheEntry>(view[entryKey].Value);
                    if (entry?.Completed != null) return (Step.Cached, (LedgerRecord?)null);
                    if (!reattachFailed && entry?.Open != null) return (Step.Reattach, null);
                    if (entry?.Claim != null && IsHeldByOther(account, entry.Claim, view) && !waitedEnough) return (Step.WaitForOther, null);
                    // Another owner's claim with no run recorded (it died, or its record was lost): it may have sent its trigger.
                    if (entry?.Claim != null && entry.Claim.Owner != account.State.Owner && !searched) return (Step.Recover, null);
                    return (Step.Trigger, new LedgerRecord
                    {
                        Type = LedgerRecordTypes.Intent, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, CacheKey = key,
                        SourceVersion = request.SourceVersion, InputParameters = canonical,
                    });
                }, cancellationToken).ConfigureAwait(false);

                switch (step)
                {
                    case Step.Cached:
                        var cached = await ServeFromCacheAsync(account, key, requestedAt, cancellationToken).ConfigureAwait(false);
                        if (cached == null) continue;
                        sink.Verbose($"Another process finished run {cached.RunId} of project {cached.ProjectId} for the same inputs and source version; returning it.");
                        return cached;
                    case Step.Reattach:
                        var reattached = await ReattachAsync(account, entry!.Open!, key, sink, cancellationToken).ConfigureAwait(false);
                        if (reattached != null) return reattached;
                        reattachFailed = true;
                        continue;
                    case Step.WaitForOther:
                        sink.Verbose($"{Describe(entry!.Claim!)} is starting a run of project {request.ProjectId} for the same inputs and source version; waiting for it instead of starting another.");
                        await Clock.Delay(account.Time, ClaimPollInterval, cancellationToken).ConfigureAwait(false);
                        continue;
                    case Step.Recover:
                        searched = true;
                        sink.Verbose($"A run of project {request.ProjectId} for the same inputs and source version was claimed at {entry!.Claim!.At:u} and has no recorded run; looking in Hex for the run it may have started.");
                        var adopted = await RunTrigger.AdoptAsync(account, request, canonical, key, entry.Claim.At, requestedAt, null, sink, cancellationToken).ConfigureAwait(false);
                        if (adopted != null) return adopted;
                        continue;
                    default:
                        var claim = new RunTrigger.Claim(entryKey, json => LedgerIndex.Parse<CacheEntry>(json)?.Claim?.Owner);
                        try
                        {
                            return await RunTrigger.TriggerAsync(account, request, canonical, key, requestedAt, sink, cancellationToken, claim).ConfigureAwait(false);
                        }
                        catch (ClaimLostException lost)
                        {
                            sink.Verbose(lost.Message + " Looking at the cache key again.");
                            continue;
                        }
                        catch
                        {
                            await account.State.RecordAsync(new LedgerRecord
                            {
                                Type = LedgerRecordTypes.Intent, Outcome = TriggerOutcomes.Released, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, CacheKey = key,
                            }, CancellationToken.None).ConfigureAwait(false);
                            throw;
                        }
                }
            }
        }

        /// <summary>Whether <paramref name="claim"/> (an Intent, or a trigger whose answer was lost) is held by another owner
        /// whose lease is live: then that owner will start the run, and this one waits for it.</summary>
        public static bool IsHeldByOther(HexAccount account, LedgerRecord claim, StoreView view) =>
            claim.Owner != null && claim.Owner != account.State.Owner && System.Linq.Enumerable.Contains(view.LiveOwners, claim.Owner);

        public static string Describe(LedgerRecord claim) =>
            claim.ProcessId.HasValue ? $"Process {claim.ProcessId} ({claim.User ?? "another session"})" : "Another HexCost session";

        /// <summary>Removes this flight only: a later flight for the same key may already have taken its place.</summary>
        private static void EndFlight(HexAccount account, string key, SharedWork<HexRun> flight) =>
            ((ICollection<KeyValuePair<string, SharedWork<HexRun>>>)account.Flights).Remove(new KeyValuePair<string, SharedWork<HexRun>>(key, flight));

        private static async Task WatchInBackgroundAsync(HexAccount account, HexRun run, string key, SharedWork<HexRun> flight)
        {
            try
            {
                if (!RunStatuses.IsTerminal(run.Status))
                {
                    var status = await account.Poller.WaitAsync(run.ProjectId, run.RunId!, NullEventSink.Instance, null, account.Lifetime).ConfigureAwait(false);
                    RunWaiter.Apply(run, status);
                    await RunWaiter.RecordCompletionOnceAsync(account, run, key, account.Lifetime).ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // The waiting callers see the failure through their own wait; nothing here to report to.
            }
            finally
            {
                EndFlight(account, key, flight);
            }
        }

        private static async Task<HexRun?> ReattachAsync(HexAccount account, LedgerRecord open, string key, IHexEventSink sink, CancellationToken cancellationToken)
        {
            if (open.RunId == null || open.ProjectId == null) return null;
            RunStatusPayload status;
            try
            {
                status = await account.Client.GetRunStatusAsync(open.ProjectId, open.RunId, sink, cancellationToken).ConfigureAwait(false);
            }
            catch (HexException ex) when (ex.Kind == HexErrorKind.RunNotFound)
            {
                return null;
            }
            var run = HexAccount.RunFromRecord(open);
            RunWaiter.Apply(run, status);
            if (RunStatuses.IsTerminal(status.Status)) await RunWaiter.RecordCompletionOnceAsync(account, run, key, CancellationToken.None).ConfigureAwait(false);
            if (RunStatuses.IsFailure(status.Status)) return null;
            sink.Verbose($"The ledger shows run {run.RunId} of project {run.ProjectId} was started for the same inputs and source version; reattaching to it.");
            run.FromCache = true;
            run.Attempts = 0;
            run.ThrottledSeconds = 0;
            return run;
        }
    }
}
