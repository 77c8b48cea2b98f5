using System;
using System.Collections;
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

namespace HexCost.Runs
{
    public sealed class RunRequest
    {
        public string ProjectId { get; set; } = "";
        public IDictionary? InputParameters { get; set; }
        /// <summary>The version of the data the run reads; with it, a completed run of the same key is reused. Blank is none;
        /// white space around it is not part of it.</summary>
        public string? SourceVersion { get; set; }
        /// <summary>Skip the cache: trigger even when a completed run for the source version exists.</summary>
        public bool Force { get; set; }
        /// <summary>Trigger even over the spend policy's run budgets; the trigger is recorded as forced.</summary>
        public bool IgnoreRunBudget { get; set; }
        public bool UpdatePublishedResults { get; set; }
        public bool NoSqlCache { get; set; }
        public bool DryRun { get; set; }
        /// <summary>At most one run of the project per key, across retries, crashes and processes: a key the ledger knows for
        /// the project is reattached or returned. Blank is none; white space around it is not part of it.</summary>
        public string? IdempotencyKey { get; set; }
    }

    public sealed class RunWaitOptions
    {
        /// <summary>Shorter is a mistake: PowerShell binds a bare number (-Timeout 30) as ticks.</summary>
        public static readonly TimeSpan MinTimeout = TimeSpan.FromSeconds(1);
        /// <summary>Longer cannot be timed (a timer's limit is about 49.7 days).</summary>
        public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(49);

        public bool Wait { get; set; }
        public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);
        public bool CancelOnTimeout { get; set; } = true;
        /// <summary>Called with the run once it is known (triggered, reattached or shared), before waiting for it to end.</summary>
        public Action<HexRun>? Started { get; set; }

        /// <summary>Why HexCost cannot wait <paramref name="timeout"/>, or null when it can.</summary>
        public static string? TimeoutProblem(TimeSpan timeout)
        {
            if (timeout <= TimeSpan.Zero)
                return $"-Timeout is {timeout}: it must be longer than zero, e.g. -Timeout (New-TimeSpan -Minutes 30).";
            if (timeout < MinTimeout)
                return $"-Timeout is {timeout}, less than a second: a bare number binds as ticks (-Timeout 30 is 3 microseconds). Give a time span, e.g. -Timeout (New-TimeSpan -Minutes 30) or -Timeout 00:30:00.";
            if (timeout > MaxTimeout)
                return $"-Timeout is {timeout}, longer than the {MaxTimeout.TotalDays:0} days HexCost can wait. Give at most -Timeout (New-TimeSpan -Days {MaxTimeout.TotalDays:0}), or leave the run going without -Wait and check it with Get-HexRun.";
            return null;
        }
    }

    /// <summary>A run to write, and the error to write with it (a failed or timed-out run), if any.</summary>
    public sealed class RunResult
    {
        public RunResult(HexRun run, HexException? error = null)
        {
            Run = run;
            Error = error;
        }

        public HexRun Run { get; }
        public HexException? Error { get; }
    }

    /// <summary>Starts runs for one account: cache, single flight, budgeted trigger, adoption of runs whose
    /// trigger answer was lost, and waiting through the shared poll loop. Every step is a ledger record.</summary>
    public static class RunService
    {
        public static async Task<RunResult> RunAsync(HexAccount account, RunRequest request, RunWaitOptions wait, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var requestedAt = account.Time.GetUtcNow();
            if (wait.Wait && RunWaitOptions.TimeoutProblem(wait.Timeout) is string problem) throw new ArgumentOutOfRangeException(nameof(wait), wait.Timeout, problem);
            request.ProjectId = HexIds.ProjectId(request.ProjectId);
            request.SourceVersion = Given(request.SourceVersion);
            request.IdempotencyKey = Given(request.IdempotencyKey);
            string canonical;
            try
            {
                canonical = InputCanonicalizer.Canonicalize(request.InputParameters);
            }
            catch (ArgumentException ex)
            {
                throw new HexException(HexErrorKind.InvalidInputParameters, ex.Message + " Fix -InputParameters.") { ProjectId = request.ProjectId };
            }

            if (request.IdempotencyKey != null && !request.DryRun)
                return await RunIdempotentAsync(account, request, canonical, wait, requestedAt, sink, cancellationToken).ConfigureAwait(false);

            var key = request.SourceVersion != null && !request.Force && !request.DryRun
                ? InputCanonicalizer.CacheKey(request.ProjectId, canonical, request.SourceVersion, request.UpdatePublishedResults, request.NoSqlCache)
                : null;

            if (key == null)
            {
                var run = await TriggerAsync(account, request, canonical, null, requestedAt, sink, cancellationToken).ConfigureAwait(false);
                if (!wait.Wait || request.DryRun) return new RunResult(run);
                return await AwaitCompletionAsync(account, run, null, wait, sink, cancellationToken).ConfigureAwait(false);
            }

            account.RefreshFromLedger();
            if (TryServeFromCache(account, key, requestedAt, out var cached)) return new RunResult(cached);

            Lazy<Task<RunResult>> mine = null!;
            mine = new Lazy<Task<RunResult>>(() => StartFlightAsync(account, request, canonical, key, requestedAt, sink, cancellationToken, mine));
            var flight = account.SingleFlight.GetOrAdd(key, mine);
            var joined = !ReferenceEquals(flight, mine);

            HexRun started;
            try
            {
                // The flight's first result is the trigger (or reattach); the completion follows in the background.
                started = (await flight.Value.ConfigureAwait(false)).Run;
            }
            catch when (!joined)
            {
                EndFlight(account, key, flight);
                throw;
            }

            if (joined)
            {
                sink.Verbose($"A run of project {request.ProjectId} with the same inputs and source version is already in flight ({started.RunId}); sharing it instead of starting another.");
                account.Record(new LedgerRecord
                {
                    Type = LedgerRecordTypes.CacheHit, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, RunId = started.RunId,
                    CacheKey = key, SourceVersion = request.SourceVersion, InputParameters = canonical, Note = "joined in-flight run",
                });
                started = started.Clone();
                started.FromCache = true;
                started.Attempts = 0;
                started.ThrottledSeconds = 0;
                started.RequestedAt = requestedAt.UtcDateTime;
            }

            if (!wait.Wait) return new RunResult(started);
            return await AwaitCompletionAsync(account, started, key, wait, sink, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A value the user gave, or null for a blank one (an empty CSV cell means "none"); white space around it
        /// (a trailing newline from Get-Content -Raw) is not part of it.</summary>
        public static string? Given(string? text) => string.IsNullOrWhiteSpace(text) ? null : text!.Trim();

        private static bool TryServeFromCache(HexAccount account, string key, DateTimeOffset requestedAt, out HexRun run)
        {
            if (!account.TryGetCached(key, out run)) return false;
            run.FromCache = true;
            run.Attempts = 0;
            run.ThrottledSeconds = 0;
            run.RequestedAt = requestedAt.UtcDateTime;
            account.Record(new LedgerRecord
            {
                Type = LedgerRecordTypes.CacheHit, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId,
                CacheKey = key, SourceVersion = run.SourceVersion, InputParameters = run.InputParameters, RequestedAt = requestedAt,
            });
            return true;
        }

        /// <summary>Triggers (or reattaches to a run another process started for the same key) and returns at once;
        /// a background watch records the completion and fills the cache, whoever waits.</summary>
        private static Task<RunResult> StartFlightAsync(HexAccount account, RunRequest request, string canonical, string key,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken, Lazy<Task<RunResult>> flight)
        {
            return Task.Run(async () =>
            {
                var run = await ClaimOrJoinAsync(account, request, canonical, key, requestedAt, sink, cancellationToken).ConfigureAwait(false);
                _ = WatchInBackgroundAsync(account, run, key, sink, flight);
                return new RunResult(run);
            });
        }

        private enum FlightStep { Cached, Reattach, WaitForOther, Trigger }

        /// <summary>
        /// The flight across processes: under the ledger's lock, a run another process finished (cached) or started for the
        /// key is taken; another live process's claim is waited for; else this process writes its claim (an Intent with the
        /// cache key) and triggers. A claim whose trigger fails is released, one whose process died or that is older than
        /// IntentTimeout is ignored.
        /// </summary>
        private static async Task<HexRun> ClaimOrJoinAsync(HexAccount account, RunRequest request, string canonical, string key,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var waitedSince = account.Time.GetUtcNow();
            var reattachFailed = false;
            while (true)
            {
                LedgerRecord? claim = null;
                var step = account.Exclusive(() =>
                {
                    if (account.TryGetCached(key, out _)) return FlightStep.Cached;
                    if (!reattachFailed && account.OpenTriggerFor(key) != null) return FlightStep.Reattach;
                    claim = account.ClaimFor(key);
                    return claim != null && HeldByAnotherLiveProcess(account, claim, waitedSince) ? FlightStep.WaitForOther : FlightStep.Trigger;
                }, s => s == FlightStep.Trigger
                    ? new LedgerRecord { Type = LedgerRecordTypes.Intent, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, CacheKey = key, SourceVersion = request.SourceVersion, InputParameters = canonical }
                    : null);

                switch (step)
                {
                    case FlightStep.Cached:
                        if (!TryServeFromCache(account, key, requestedAt, out var cached)) continue;
                        sink.Verbose($"Another process finished run {cached.RunId} of project {cached.ProjectId} for the same inputs and source version; returning it.");
                        return cached;
                    case FlightStep.Reattach:
                        var reattached = await ReattachAsync(account, key, sink, cancellationToken).ConfigureAwait(false);
                        if (reattached != null) return reattached;
                        reattachFailed = true;
                        continue;
                    case FlightStep.WaitForOther:
                        sink.Verbose($"Process {claim!.ProcessId} is starting a run of project {request.ProjectId} for the same inputs and source version; waiting for it instead of starting another.");
                        await Clock.Delay(account.Time, ClaimPollInterval, cancellationToken).ConfigureAwait(false);
                        continue;
                    default:
                        try
                        {
                            return await TriggerAsync(account, request, canonical, key, requestedAt, sink, cancellationToken).ConfigureAwait(false);
                        }
                        catch
                        {
                            account.Record(new LedgerRecord
                            {
                                Type = LedgerRecordTypes.Intent, Outcome = TriggerOutcomes.Released, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, CacheKey = key,
                            });
                            throw;
                        }
                }
            }
        }

        private static readonly TimeSpan ClaimPollInterval = TimeSpan.FromMilliseconds(250);

        /// <summary>Removes this flight only: a later flight for the same key may already have taken its place.</summary>
        private static void EndFlight(HexAccount account, string key, Lazy<Task<RunResult>> flight) =>
            ((ICollection<KeyValuePair<string, Lazy<Task<RunResult>>>>)account.SingleFlight).Remove(new KeyValuePair<string, Lazy<Task<RunResult>>>(key, flight));

        private static async Task WatchInBackgroundAsync(HexAccount account, HexRun run, string key, IHexEventSink sink, Lazy<Task<RunResult>> flight)
        {
            try
            {
                if (!RunStatuses.IsTerminal(run.Status))
                {
                    var status = await account.Poller.WaitAsync(run.ProjectId, run.RunId!, sink, null, account.Lifetime).ConfigureAwait(false);
                    Apply(run, status);
                    RecordCompletionOnce(account, run, key);
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

        private static async Task<HexRun?> ReattachAsync(HexAccount account, string key, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var open = account.OpenTriggerFor(key);
            if (open?.RunId == null || open.ProjectId == null) return null;
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
            Apply(run, status);
            if (RunStatuses.IsTerminal(status.Status)) RecordCompletionOnce(account, run, key);
            if (RunStatuses.IsFailure(status.Status)) return null;
            sink.Verbose($"The ledger shows run {run.RunId} of project {run.ProjectId} was started for the same inputs and source version; reattaching to it.");
            run.FromCache = true;
            run.Attempts = 0;
            run.ThrottledSeconds = 0;
            return run;
        }

        private enum IdempotentStep { Trigger, Existing, WaitForOther, Recover }

        /// <summary>
        /// -IdempotencyKey: under the ledger's cross-process lock, decide from what the ledger holds for the key: a run
        /// (reattach or return it), a live process's unanswered trigger (wait for it), a dead one's (look for the run it
        /// may have created, adopt it, else trigger), or nothing (write an Intent, then trigger).
        /// </summary>
        private static async Task<RunResult> RunIdempotentAsync(HexAccount account, RunRequest request, string canonical, RunWaitOptions wait,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var idempotencyKey = request.IdempotencyKey!;
            var gate = account.TriggerLock("idempotency:" + request.ProjectId + ":" + idempotencyKey);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var waitedSince = account.Time.GetUtcNow();
                var searched = false;
                while (true)
                {
                    LedgerRecord? seen = null;
                    var step = account.Exclusive(() =>
                    {
                        seen = account.ForIdempotencyKey(request.ProjectId, idempotencyKey);
                        if (seen == null) return IdempotentStep.Trigger;
                        if (seen.RunId != null) return IdempotentStep.Existing;
                        if (seen.Type == LedgerRecordTypes.Trigger && seen.Outcome == TriggerOutcomes.Rejected) return IdempotentStep.Trigger;
                        if (searched) return IdempotentStep.Trigger;
                        return HeldByAnotherLiveProcess(account, seen, waitedSince) ? IdempotentStep.WaitForOther : IdempotentStep.Recover;
                    }, s => s == IdempotentStep.Trigger
                        ? new LedgerRecord { Type = LedgerRecordTypes.Intent, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, IdempotencyKey = idempotencyKey, InputParameters = canonical }
                        : null);

                    switch (step)
                    {
                        case IdempotentStep.Existing:
                            sink.Verbose($"The ledger already has run {seen!.RunId} for idempotency key '{idempotencyKey}'; returning it instead of starting another.");
                            return await ExistingAsync(account, seen, wait, requestedAt, sink, cancellationToken).ConfigureAwait(false);
                        case IdempotentStep.WaitForOther:
                            sink.Verbose($"Process {seen!.ProcessId} is triggering idempotency key '{idempotencyKey}'; waiting for its answer.");
                            await Clock.Delay(account.Time, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                            continue;
                        case IdempotentStep.Recover:
                            searched = true;
                            sink.Verbose($"A trigger for idempotency key '{idempotencyKey}' was sent at {seen!.At:u} and never answered (the process ended); looking for the run it may have created.");
                            var orphan = await FindOrphanAsync(account, seen.ProjectId ?? request.ProjectId, seen.At, sink, cancellationToken).ConfigureAwait(false);
                            if (orphan == null) continue;
                            var adopted = new HexRun
                            {
                                ProjectId = seen.ProjectId ?? request.ProjectId, RunId = orphan.RunId, RunUrl = orphan.RunUrl, TraceId = orphan.TraceId,
                                ProjectVersion = orphan.ProjectVersion, InputParameters = canonical, SourceVersion = request.SourceVersion,
                                RequestedAt = requestedAt.UtcDateTime, IdempotencyKey = idempotencyKey,
                            };
                            Apply(adopted, orphan);
                            var record = TriggerRecord(account, adopted, null, null, null, request, false);
                            record.Type = LedgerRecordTypes.Adopt;
                            account.Record(record);
                            if (!wait.Wait || RunStatuses.IsTerminal(adopted.Status)) return RunStatuses.IsTerminal(adopted.Status) ? Finish(adopted) : new RunResult(adopted);
                            return await AwaitCompletionAsync(account, adopted, null, wait, sink, cancellationToken).ConfigureAwait(false);
                        default:
                            var run = await TriggerAsync(account, request, canonical, null, requestedAt, sink, cancellationToken).ConfigureAwait(false);
                            if (!wait.Wait) return new RunResult(run);
                            return await AwaitCompletionAsync(account, run, null, wait, sink, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }

        private static async Task<RunResult> ExistingAsync(HexAccount account, LedgerRecord record, RunWaitOptions wait, DateTimeOffset requestedAt,
            IHexEventSink sink, CancellationToken cancellationToken)
        {
            var run = HexAccount.RunFromRecord(record);
            run.FromCache = true;
            run.Attempts = 0;
            run.ThrottledSeconds = 0;
            run.RequestedAt = requestedAt.UtcDateTime;
            if (record.Type == LedgerRecordTypes.Complete || RunStatuses.IsTerminal(run.Status)) return Finish(run);
            if (wait.Wait) return await AwaitCompletionAsync(account, run, null, wait, sink, cancellationToken).ConfigureAwait(false);
            Apply(run, await account.Client.GetRunStatusAsync(run.ProjectId, run.RunId!, sink, cancellationToken).ConfigureAwait(false));
            return new RunResult(run);
        }

        /// <summary>Whether <paramref name="claim"/> (an Intent or an unanswered Trigger) is another process's that is still
        /// running (its id not handed to a process started since), younger than IntentTimeout and not waited on for longer:
        /// then that process will start the run and this one waits for it.</summary>
        private static bool HeldByAnotherLiveProcess(HexAccount account, LedgerRecord claim, DateTimeOffset waitedSince)
        {
            if (claim.ProcessId is not int owner || owner == CurrentProcess.Id || !IsAlive(owner, claim)) return false;
            var now = account.Time.GetUtcNow();
            return now - claim.At < account.RunOptions.IntentTimeout && now - waitedSince < account.RunOptions.IntentTimeout;
        }

        /// <summary>Whether the process that wrote <paramref name="claim"/> still runs: its id is taken by a process that started
        /// when the record says (on the operating system's clock, whatever clock HexCost runs on). A record that does not
        /// say (written by an older HexCost) is taken as its writer's while the id is in use; IntentTimeout bounds that.</summary>
        private static bool IsAlive(int processId, LedgerRecord claim)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(processId);
                if (process.HasExited) return false;
                if (claim.ProcessStartedAt is not { } writerStarted) return true;
                var started = CurrentProcess.StartTimeOf(process);
                // Another user's process, whose start cannot be read, is assumed to be the writer. Linux reads start times
                // to the clock tick: a little slack.
                return started == null || (started.Value - writerStarted).Duration() <= TimeSpan.FromSeconds(1);
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        private static async Task<HexRun> TriggerAsync(HexAccount account, RunRequest request, string canonical, string? key,
            DateTimeOffset requestedAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var body = new RunProjectBody
            {
                DryRun = request.DryRun,
                UpdatePublishedResults = request.UpdatePublishedResults,
                UseCachedSqlResults = request.NoSqlCache ? false : (bool?)null,
                InputParams = canonical == "{}" ? (JsonElement?)null : JsonDocument.Parse(canonical).RootElement.Clone(),
            };
            // With a run budget, checking it and triggering are one step, so parallel triggers cannot overshoot it together.
            var budgets = request.DryRun ? null : RunBudget.Budgets(account);
            var budgeted = budgets != null;
            var overridden = false;
            if (budgeted) await account.BudgetGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            var gate = account.TriggerLock(request.ProjectId);
            try
            {
                if (budgeted) overridden = RunBudget.Check(account, budgets!, request.ProjectId, request.IgnoreRunBudget, sink);
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                if (budgeted) account.BudgetGate.Release();
                throw;
            }
            try
            {
                var attempts = 0;
                var throttled = TimeSpan.Zero;
                var maxSends = Math.Max(1, account.RunOptions.MaxTriggerSends);
                for (var send = 1; ; send++)
                {
                    var stats = new CallStats();
                    try
                    {
                        var created = await account.Client.TriggerRunAsync(request.ProjectId, body, sink, cancellationToken, stats).ConfigureAwait(false);
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
                        account.Record(TriggerRecord(account, run, key, TriggerOutcomes.Created, stats.Attempts, request, overridden));
                        if (request.DryRun) sink.Verbose($"Dry run of project {run.ProjectId}: Hex validated the call and started nothing.");
                        return run;
                    }
                    catch (HexTriggerOutcomeUnknownException lost)
                    {
                        attempts += stats.Attempts;
                        throttled += stats.Throttled;
                        account.Record(new LedgerRecord
                        {
                            Type = LedgerRecordTypes.Trigger, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, Outcome = TriggerOutcomes.Unknown,
                            CacheKey = key, SourceVersion = request.SourceVersion, InputParameters = canonical, Attempts = stats.Attempts, Note = lost.Message,
                            IdempotencyKey = request.IdempotencyKey,
                        });
                        if (request.DryRun) throw;
                        sink.Verbose($"{lost.Message} Looking for it before sending again.");
                        RunStatusPayload? adopted;
                        try
                        {
                            adopted = await FindOrphanAsync(account, request.ProjectId, lost.SentAt, sink, cancellationToken).ConfigureAwait(false);
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
                            var run = new HexRun
                            {
                                ProjectId = request.ProjectId, RunId = adopted.RunId, RunUrl = adopted.RunUrl, TraceId = adopted.TraceId,
                                ProjectVersion = adopted.ProjectVersion, InputParameters = canonical, SourceVersion = request.SourceVersion,
                                Attempts = attempts, ThrottledSeconds = Math.Round(throttled.TotalSeconds, 3), RequestedAt = requestedAt.UtcDateTime,
                                IdempotencyKey = request.IdempotencyKey,
                            };
                            Apply(run, adopted);
                            var record = TriggerRecord(account, run, key, null, null, request, overridden);
                            record.Type = LedgerRecordTypes.Adopt;
                            account.Record(record);
                            sink.Verbose($"Adopted run {run.RunId} of project {run.ProjectId}: it started after the unanswered trigger and no ledger record claims it.");
                            return run;
                        }
                        if (send >= maxSends)
                        {
                            throw new HexException(HexErrorKind.ServerError,
                                $"RunProject for project {request.ProjectId} went unanswered {send} times and Hex shows no run it created. Check Hex's status, then run again.", lost)
                            { ProjectId = request.ProjectId };
                        }
                        sink.Verbose($"Hex shows no run created by the unanswered trigger of project {request.ProjectId}; sending it again.");
                    }
                    catch (HexException rejected) when (rejected.Kind != HexErrorKind.AuthFailed)
                    {
                        account.Record(new LedgerRecord
                        {
                            Type = LedgerRecordTypes.Trigger, At = account.Time.GetUtcNow(), ProjectId = request.ProjectId, Outcome = TriggerOutcomes.Rejected,
                            Status = rejected.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture), Attempts = Math.Max(1, stats.Attempts),
                            CacheKey = key, InputParameters = canonical, TraceId = rejected.TraceId, IdempotencyKey = request.IdempotencyKey,
                        });
                        throw;
                    }
                }
            }
            finally
            {
                gate.Release();
                if (budgeted) account.BudgetGate.Release();
            }
        }

        /// <param name="forced">The run budget refused this trigger and -IgnoreRunBudget overrode it.</param>
        private static LedgerRecord TriggerRecord(HexAccount account, HexRun run, string? key, string? outcome, int? attempts, RunRequest request, bool forced) => new LedgerRecord
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
            RequestedAt = ToOffset(run.RequestedAt),
            Forced = forced ? true : (bool?)null,
            Note = request.DryRun ? "DryRun" : null,
            IdempotencyKey = request.IdempotencyKey,
        };

        /// <summary>An API-triggered run of the project that started after <paramref name="sentAt"/> (less the clock
        /// skew allowance) and that no ledger record claims.</summary>
        private static async Task<RunStatusPayload?> FindOrphanAsync(HexAccount account, string projectId, DateTimeOffset sentAt, IHexEventSink sink, CancellationToken cancellationToken)
        {
            var earliest = sentAt - account.RunOptions.AdoptionSkew;
            for (var look = 0; look < Math.Max(1, account.RunOptions.AdoptionLookups); look++)
            {
                if (look > 0) await Clock.Delay(account.Time, account.RunOptions.AdoptionLookupDelay, cancellationToken).ConfigureAwait(false);
                account.RefreshFromLedger();
                var page = await account.Client.GetProjectRunsAsync(projectId, 25, 0, null, "API", sink, cancellationToken).ConfigureAwait(false);
                var candidate = (page.Runs ?? new System.Collections.Generic.List<RunStatusPayload>())
                    .Where(r => r != null)
                    .Where(r => !string.IsNullOrEmpty(r.RunId) && !account.IsKnownRun(r.RunId))
                    .Where(r => r.RunTrigger == null || r.RunTrigger == "API")
                    .Where(r => r.StartTime == null || r.StartTime >= earliest)
                    .OrderBy(r => r.StartTime ?? DateTimeOffset.MaxValue)
                    .FirstOrDefault();
                if (candidate != null) return candidate;
            }
            return null;
        }

        private static async Task<RunResult> AwaitCompletionAsync(HexAccount account, HexRun run, string? key, RunWaitOptions wait, IHexEventSink sink, CancellationToken cancellationToken)
        {
            if (RunStatuses.IsTerminal(run.Status)) return Finish(run);
            wait.Started?.Invoke(run.Clone());
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var timer = account.Time.CreateTimer(_ => SafeCancel(timeout), null, wait.Timeout, Timeout.InfiniteTimeSpan);
            var label = $"Run {run.RunId} of project {run.ProjectId}";
            try
            {
                var lastStatus = run.Status;
                sink.Verbose($"Waiting for {label} (up to {wait.Timeout}); one poll loop checks every run in flight, spaced to half of the request budget.");
                var status = await account.Poller.WaitAsync(run.ProjectId, run.RunId!, sink, s =>
                {
                    if (s.Status != lastStatus) sink.Verbose($"{label} is {s.Status}.");
                    lastStatus = s.Status;
                    var every = TimeSpan.FromTicks(account.Poller.LoopSpacing().Ticks * Math.Max(1, account.Poller.InFlight));
                    sink.Progress(new HexProgress(ProgressIds.Polling, "Waiting for Hex runs",
                        $"{label} is {s.Status}; polled about every {Math.Ceiling(every.TotalSeconds)} s ({account.Poller.InFlight} in flight)"));
                }, timeout.Token).ConfigureAwait(false);
                sink.Progress(new HexProgress(ProgressIds.Polling, "Waiting for Hex runs", $"{label} is {status.Status}", completed: true));
                var done = run.Clone();
                Apply(done, status);
                if (key == null || !done.FromCache) RecordCompletionOnce(account, done, key);
                return Finish(done);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var timedOut = run.Clone();
                var what = $"{label} did not finish within {wait.Timeout}.";
                if (wait.CancelOnTimeout)
                {
                    if (await CancelAsync(account, timedOut, sink, CancellationToken.None).ConfigureAwait(false) == CancelOutcome.AlreadyEnded)
                    {
                        sink.Verbose($"{label} ended {timedOut.Status} just as -Timeout ({wait.Timeout}) expired; nothing to cancel.");
                        RecordCompletionOnce(account, timedOut, key);
                        return Finish(timedOut);
                    }
                    what += " HexCost cancelled it.";
                }
                else
                {
                    what += " It is still running (-NoCancelOnTimeout); check it with Get-HexRun.";
                }
                return new RunResult(timedOut, new HexException(HexErrorKind.RunTimeout, what + " Raise -Timeout if the project needs longer.")
                { ProjectId = run.ProjectId, RunId = run.RunId });
            }
        }

        public enum CancelOutcome { Cancelled, AlreadyEnded }

        /// <summary>Cancels a run and records it; updates <paramref name="run"/> with the status Hex reports after. A run that
        /// had already ended (Hex refuses to cancel it) is not an error: AlreadyEnded, with the status it ended with.</summary>
        public static async Task<CancelOutcome> CancelAsync(HexAccount account, HexRun run, IHexEventSink sink, CancellationToken cancellationToken)
        {
            try
            {
                await account.Client.CancelRunAsync(run.ProjectId, run.RunId!, sink, cancellationToken).ConfigureAwait(false);
            }
            catch (HexException refused) when (refused.Kind == HexErrorKind.BadRequest)
            {
                // Hex answers 422 for a run that has finished; what it was is in the run's status.
                RunStatusPayload status;
                try
                {
                    status = await account.Client.GetRunStatusAsync(run.ProjectId, run.RunId!, sink, cancellationToken).ConfigureAwait(false);
                }
                catch (HexException)
                {
                    throw refused;
                }
                if (!RunStatuses.IsTerminal(status.Status)) throw;
                Apply(run, status);
                return CancelOutcome.AlreadyEnded;
            }
            account.Record(new LedgerRecord { Type = LedgerRecordTypes.Cancel, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId, IdempotencyKey = run.IdempotencyKey });
            try
            {
                var status = await account.Client.GetRunStatusAsync(run.ProjectId, run.RunId!, sink, cancellationToken).ConfigureAwait(false);
                Apply(run, status);
            }
            catch (HexException)
            {
                run.Status = RunStatuses.Killed;
            }
            return CancelOutcome.Cancelled;
        }

        /// <summary>Records that the wait for <paramref name="run"/> was stopped while it was still in flight (Get-HexRunReport
        /// counts it as LeftRunning until a completion or cancel of it is recorded).</summary>
        public static void RecordWaitStopped(HexAccount account, HexRun run) =>
            account.Record(new LedgerRecord
            {
                Type = LedgerRecordTypes.WaitStopped, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId, Status = run.Status,
            });

        private static void SafeCancel(CancellationTokenSource source)
        {
            try { source.Cancel(); } catch (ObjectDisposedException) { }
        }

        private static RunResult Finish(HexRun run)
        {
            if (!RunStatuses.IsFailure(run.Status)) return new RunResult(run);
            return new RunResult(run, new HexException(HexErrorKind.RunFailed,
                $"Run {run.RunId} of project {run.ProjectId} ended {run.Status}. Open {run.RunUrl} in Hex to see why; give Hex support the traceId {run.TraceId} if it is Hex's fault.")
            { ProjectId = run.ProjectId, RunId = run.RunId });
        }

        private static void RecordCompletionOnce(HexAccount account, HexRun run, string? key)
        {
            if (!account.MarkCompleted(run.RunId!)) return;
            account.Record(new LedgerRecord
            {
                Type = LedgerRecordTypes.Complete, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId, Status = run.Status,
                CacheKey = key, SourceVersion = run.SourceVersion, InputParameters = run.InputParameters, RunUrl = run.RunUrl, TraceId = run.TraceId,
                ProjectVersion = run.ProjectVersion, StartTime = ToOffset(run.StartTime), EndTime = ToOffset(run.EndTime), ElapsedSeconds = run.ElapsedSeconds,
                Attempts = run.Attempts, ThrottledSeconds = run.ThrottledSeconds, RequestedAt = ToOffset(run.RequestedAt),
                IdempotencyKey = run.IdempotencyKey,
            });
        }

        internal static void Apply(HexRun run, RunStatusPayload status)
        {
            run.Status = status.Status ?? run.Status;
            run.StartTime = status.StartTime?.UtcDateTime ?? run.StartTime;
            run.EndTime = status.EndTime?.UtcDateTime ?? run.EndTime;
            run.ElapsedSeconds = status.ElapsedTime.HasValue ? Math.Round(status.ElapsedTime.Value / 1000d, 3) : run.ElapsedSeconds;
            run.RunUrl ??= status.RunUrl;
            run.ProjectVersion ??= status.ProjectVersion;
            run.TraceId ??= status.TraceId;
        }

        private static DateTimeOffset? ToOffset(DateTime? value) => value.HasValue ? new DateTimeOffset(DateTime.SpecifyKind(value.Value, DateTimeKind.Utc)) : (DateTimeOffset?)null;
    }
}
