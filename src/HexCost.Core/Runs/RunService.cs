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

    /// <summary>Starts runs for one account: the cache and single flight (<see cref="RunFlight"/>), idempotency keys
    /// (<see cref="IdempotentRun"/>), the budgeted trigger and adoption (<see cref="RunTrigger"/>) and waiting
    /// (<see cref="RunWaiter"/>). Every step is a record in the state store.</summary>
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
                return await IdempotentRun.RunAsync(account, request, canonical, wait, requestedAt, sink, cancellationToken).ConfigureAwait(false);

            var key = request.SourceVersion != null && !request.Force && !request.DryRun
                ? InputCanonicalizer.CacheKey(request.ProjectId, canonical, request.SourceVersion, request.UpdatePublishedResults, request.NoSqlCache)
                : null;
            if (key != null) return await RunFlight.RunAsync(account, request, canonical, key, wait, requestedAt, sink, cancellationToken).ConfigureAwait(false);

            var run = await RunTrigger.TriggerAsync(account, request, canonical, null, requestedAt, sink, cancellationToken).ConfigureAwait(false);
            if (!wait.Wait || request.DryRun) return new RunResult(run);
            return await RunWaiter.AwaitCompletionAsync(account, run, null, wait, sink, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>A value the user gave, or null for a blank one (an empty CSV cell means "none"); white space around it
        /// (a trailing newline from Get-Content -Raw) is not part of it.</summary>
        public static string? Given(string? text) => string.IsNullOrWhiteSpace(text) ? null : text!.Trim();

        public enum CancelOutcome { Cancelled, AlreadyEnded }

        /// <summary>Cancels a run and records it; a run that had already ended is AlreadyEnded, with the status it ended with.</summary>
        public static Task<CancelOutcome> CancelAsync(HexAccount account, HexRun run, IHexEventSink sink, CancellationToken cancellationToken) =>
            RunWaiter.CancelAsync(account, run, sink, cancellationToken);

        /// <summary>Records that the wait for <paramref name="run"/> was stopped while it was still in flight (Get-HexRunReport
        /// counts it as LeftRunning until a completion or cancel of it is recorded). Bounded: it runs as the pipeline stops.</summary>
        public static void RecordWaitStopped(HexAccount account, HexRun run)
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            account.State.RecordAsync(new LedgerRecord
            {
                Type = LedgerRecordTypes.WaitStopped, At = account.Time.GetUtcNow(), ProjectId = run.ProjectId, RunId = run.RunId, Status = run.Status,
            }, bounded.Token).GetAwaiter().GetResult();
        }

        public static void Apply(HexRun run, RunStatusPayload status) => RunWaiter.Apply(run, status);
    }
}
