using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace HexCost.Infrastructure
{
    /// <summary>
    /// Work that several callers share (one trigger for every caller with the same cache key, one connect per account): it
    /// runs once, on a lifetime of its own (linked to its owner's, not to any caller's), and tells its events to every
    /// caller still waiting. Each caller waits with its own token and its own sink: a caller's Ctrl+C ends its wait, not
    /// the work, unless every caller has left before the work is done.
    /// </summary>
    public sealed class SharedWork<T>
    {
        private readonly CancellationTokenSource _lifetime;
        private readonly FanOutSink _sink = new FanOutSink();
        private readonly Func<IHexEventSink, CancellationToken, Task<T>> _work;
        private readonly TaskCompletionSource<T> _result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;
        private int _waiters;

        /// <param name="lifetime">The owner's lifetime (the account's): ending it ends the work.</param>
        /// <param name="work">The work, given the shared sink and the work's own token. It starts with the first waiter.</param>
        public SharedWork(CancellationToken lifetime, Func<IHexEventSink, CancellationToken, Task<T>> work)
        {
            _lifetime = CancellationTokenSource.CreateLinkedTokenSource(lifetime);
            _work = work;
        }

        /// <summary>Callers waiting for the work right now (a test hook).</summary>
        internal int Waiters => Volatile.Read(ref _waiters);

        /// <summary>The work itself, for continuations that outlive every caller.</summary>
        public Task<T> Task => _result.Task;

        private void Start()
        {
            if (Interlocked.Exchange(ref _started, 1) != 0) return;
            System.Threading.Tasks.Task.Run(async () =>
            {
                try
                {
                    _result.TrySetResult(await _work(_sink, _lifetime.Token).ConfigureAwait(false));
                }
                catch (OperationCanceledException cancelled)
                {
                    _result.TrySetCanceled(cancelled.CancellationToken);
                }
                catch (Exception error)
                {
                    _result.TrySetException(error);
                }
                finally
                {
                    _lifetime.Dispose();
                }
            });
        }

        /// <summary>Waits for the work with <paramref name="cancellationToken"/>, hearing its events on <paramref name="sink"/>
        /// meanwhile. When the last waiter leaves by cancellation before the work ends, the work is cancelled too.</summary>
        public async Task<T> WaitAsync(IHexEventSink sink, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _waiters);
            _sink.Add(sink);
            Start();
            var task = _result.Task;
            try
            {
                if (!cancellationToken.CanBeCanceled) return await task.ConfigureAwait(false);
                var cancelled = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (cancellationToken.Register(() => cancelled.TrySetCanceled(cancellationToken)))
                {
                    return await (await System.Threading.Tasks.Task.WhenAny(task, cancelled.Task).ConfigureAwait(false)).ConfigureAwait(false);
                }
            }
            finally
            {
                _sink.Remove(sink);
                if (Interlocked.Decrement(ref _waiters) == 0 && !task.IsCompleted && cancellationToken.IsCancellationRequested)
                {
                    try { _lifetime.Cancel(); } catch (ObjectDisposedException) { }
                }
            }
        }

        private sealed class FanOutSink : IHexEventSink
        {
            private readonly object _sync = new object();
            private List<IHexEventSink> _sinks = new List<IHexEventSink>();

            public void Add(IHexEventSink sink)
            {
                lock (_sync) _sinks = new List<IHexEventSink>(_sinks) { sink };
            }

            public void Remove(IHexEventSink sink)
            {
                lock (_sync)
                {
                    var copy = new List<IHexEventSink>(_sinks);
                    copy.Remove(sink);
                    _sinks = copy;
                }
            }

            private List<IHexEventSink> Current
            {
                get { lock (_sync) return _sinks; }
            }

            public void Verbose(string message)
            {
                foreach (var sink in Current) sink.Verbose(message);
            }

            public void Warning(string message)
            {
                foreach (var sink in Current) sink.Warning(message);
            }

            public void Progress(HexProgress progress)
            {
                foreach (var sink in Current) sink.Progress(progress);
            }
        }
    }
}
