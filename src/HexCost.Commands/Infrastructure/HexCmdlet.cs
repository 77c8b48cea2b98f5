using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>
    /// Base of every HexCost cmdlet: owns the cancellation that Ctrl+C (StopProcessing) triggers, and runs core work
    /// off the pipeline thread while pumping its verbose, warning and progress events back onto it, so every Write*
    /// happens on the pipeline thread.
    /// </summary>
    public abstract class HexCmdlet : PSCmdlet, IDisposable
    {
        private static readonly TimeSpan PumpInterval = TimeSpan.FromMilliseconds(100);
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly BlockingCollection<Action> _events = new BlockingCollection<Action>();
        private Sink? _sink;

        protected CancellationToken StopToken => _stop.Token;

        /// <summary>Thread-safe: the core may call it from any thread; events reach the host on the next pump.</summary>
        protected IHexEventSink EventSink => _sink ??= new Sink(this);

        /// <summary>Queues a pipeline-thread action (e.g. WriteObject of a result produced in the background).</summary>
        protected void Post(Action action)
        {
            try
            {
                _events.Add(action);
            }
            catch (InvalidOperationException)
            {
                // Completed or disposed: the cmdlet has ended, and background work that outlives it (a shared poll) has no one to tell.
            }
        }

        /// <summary>Blocks until <paramref name="task"/> ends, writing queued events meanwhile; Ctrl+C ends the wait within a pump interval.</summary>
        internal T AwaitResult<T>(Task<T> task) => Await(task);

        protected T Await<T>(Task<T> task)
        {
            Pump(task);
            return task.GetAwaiter().GetResult();
        }

        protected void Await(Task task)
        {
            Pump(task);
            task.GetAwaiter().GetResult();
        }

        /// <summary>Writes queued events until any of <paramref name="tasks"/> ends.</summary>
        protected void AwaitAny(params Task[] tasks)
        {
            Pump(Task.WhenAny(tasks));
        }

        protected void Pump(Task task)
        {
            // Wake the wait below the moment the task ends, instead of at the next pump interval.
            if (!task.IsCompleted) task.ContinueWith(_ => Post(() => { }), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            while (!task.IsCompleted)
            {
                if (_stop.IsCancellationRequested) throw new PipelineStoppedException();
                if (_events.TryTake(out var action, PumpInterval)) action();
            }
            DrainEvents();
            if (_stop.IsCancellationRequested) throw new PipelineStoppedException();
        }

        protected void DrainEvents()
        {
            while (_events.TryTake(out var action)) action();
        }

        /// <summary>Writes a core error: terminating for setup and auth failures, non-terminating for one item.</summary>
        protected void WriteHexError(HexException error, object? target)
        {
            var record = HexErrors.Record(error, target);
            if (HexErrors.IsTerminating(error)) ThrowTerminatingError(record);
            WriteError(record);
        }

        protected void WriteTypedObject(object value, string typeName)
        {
            var wrapped = PSObject.AsPSObject(value);
            if (!wrapped.TypeNames.Contains(typeName)) wrapped.TypeNames.Insert(0, typeName);
            WriteObject(wrapped);
        }

        protected override void StopProcessing()
        {
            _stop.Cancel();
        }

        public void Dispose()
        {
            _stop.Cancel();
            _events.CompleteAdding();
            _stop.Dispose();
            _events.Dispose();
        }

        private sealed class Sink : IHexEventSink
        {
            private readonly HexCmdlet _owner;
            public Sink(HexCmdlet owner) => _owner = owner;

            public void Verbose(string message) => _owner.Post(() => _owner.WriteVerbose(message));

            public void Warning(string message) => _owner.Post(() => _owner.WriteWarning(message));

            public void Progress(HexProgress progress) => _owner.Post(() =>
            {
                var record = new ProgressRecord(progress.ActivityId, progress.Activity, string.IsNullOrEmpty(progress.Status) ? progress.Activity : progress.Status)
                {
                    PercentComplete = progress.PercentComplete,
                    SecondsRemaining = progress.SecondsRemaining,
                    RecordType = progress.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                };
                _owner.WriteProgress(record);
            });
        }
    }
}
