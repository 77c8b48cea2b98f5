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
    /// <summary>Waiting for a run to end through the account's poll loop, -Timeout and cancelling, and recording how a run
    /// ended (once, across processes).</summary>
    internal static class RunWaiter
    {
        public static async Task<RunResult> AwaitCompletionAsync(HexAccount account, HexRun run, string? key, RunWaitOptions wait, IHexEventSink sink, CancellationToken cancellationToken)
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
                if (key == null || !done.FromCache) await RecordCompletionOnceAsync(account, done, key, CancellationToken.None).ConfigureAwait(false);
                return Finish(done);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var timedOut = run.Clone();
                var what = $"{label} did not finish within {wait.Timeout}.";
                if (wait.CancelOnTimeout)
                {
                    if (await CancelAsync(account, timedOut, sink, CancellationToken.None).ConfigureAwait(false) == RunService.CancelOutcome.AlreadyEnded)
                    {
                        sink.Verbose($"{label} ended {timedOut.Status} just as -Timeout ({wait.Timeout}) expired; nothing to cancel.");
                        await RecordCompletionOnceAsync(account, timedOut, key, CancellationToken.None).ConfigureAwait(false);
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

        /// <summary>Cancels a run and records it; updates <paramref name="run"/> with the status Hex reports after. A run that
        /// had already ended (Hex refuses to cancel it) is not an error: AlreadyEnded, with the status it ended with.</summary>
        public static async Task<RunService.CancelOutcome> CancelAsync(HexAccount account, HexRun run, IHexEventSink sink, CancellationToken cancellationToken)
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
                return RunService.CancelOutcome.AlreadyEnded;
            }
            await account.State.RecordAsync(new LedgerRecord
            {
                Type = LedgerRecordTypes.Cancel, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId, IdempotencyKey = run.IdempotencyKey,
            }, CancellationToken.None).ConfigureAwait(false);
            try
            {
                var status = await account.Client.GetRunStatusAsync(run.ProjectId, run.RunId!, sink, cancellationToken).ConfigureAwait(false);
                Apply(run, status);
            }
            catch (HexException)
            {
                run.Status = RunStatuses.Killed;
            }
            return RunService.CancelOutcome.Cancelled;
        }

        /// <summary>Records the run's end unless some process already did (the run's index entry says so, checked and set in
        /// one step).</summary>
        public static Task RecordCompletionOnceAsync(HexAccount account, HexRun run, string? key, CancellationToken cancellationToken)
        {
            var runKey = LedgerIndex.RunKey(run.RunId!);
            return account.State.DecideAsync(new[] { runKey }, view =>
            {
                if (LedgerIndex.Parse<RunEntry>(view[runKey].Value)?.Completed == true) return (false, (LedgerRecord?)null);
                return (true, new LedgerRecord
                {
                    Type = LedgerRecordTypes.Complete, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId, Status = run.Status,
                    CacheKey = key, SourceVersion = run.SourceVersion, InputParameters = run.InputParameters, RunUrl = run.RunUrl, TraceId = run.TraceId,
                    ProjectVersion = run.ProjectVersion, StartTime = ToOffset(run.StartTime), EndTime = ToOffset(run.EndTime), ElapsedSeconds = run.ElapsedSeconds,
                    Attempts = run.Attempts, ThrottledSeconds = run.ThrottledSeconds, RequestedAt = ToOffset(run.RequestedAt),
                    IdempotencyKey = run.IdempotencyKey,
                });
            }, cancellationToken);
        }

        public static RunResult Finish(HexRun run)
        {
            if (!RunStatuses.IsFailure(run.Status)) return new RunResult(run);
            return new RunResult(run, new HexException(HexErrorKind.RunFailed,
                $"Run {run.RunId} of project {run.ProjectId} ended {run.Status}. Open {run.RunUrl} in Hex to see why; give Hex support the traceId {run.TraceId} if it is Hex's fault.")
            { ProjectId = run.ProjectId, RunId = run.RunId });
        }

        public static void Apply(HexRun run, RunStatusPayload status)
        {
            run.Status = status.Status ?? run.Status;
            run.StartTime = status.StartTime?.UtcDateTime ?? run.StartTime;
            run.EndTime = status.EndTime?.UtcDateTime ?? run.EndTime;
            run.ElapsedSeconds = status.ElapsedTime.HasValue ? Math.Round(status.ElapsedTime.Value / 1000d, 3) : run.ElapsedSeconds;
            run.RunUrl ??= status.RunUrl;
            run.ProjectVersion ??= status.ProjectVersion;
            run.TraceId ??= status.TraceId;
        }

        public static DateTimeOffset? ToOffset(DateTime? value) => value.HasValue ? new DateTimeOffset(DateTime.SpecifyKind(value.Value, DateTimeKind.Utc)) : (DateTimeOffset?)null;

        private static void SafeCancel(CancellationTokenSource source)
        {
            try { source.Cancel(); } catch (ObjectDisposedException) { }
        }
    }
}
