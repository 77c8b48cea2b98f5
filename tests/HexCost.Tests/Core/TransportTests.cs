using System;
using System.Collections;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Infrastructure;
using HexCost.Limits;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.Core
{
    /// <summary>Failures without an HTTP answer become one <see cref="HexConnectionException"/> in the client, with the
    /// host and the likely cause, after a bounded number of tries; a 429 pause past the deadline fails each call at once.</summary>
    public class TransportTests
    {
        private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

        private static RateLimitSettings Unpaced => RateLimitSettings.Parse(new Hashtable { ["RunProject"] = "1000/1s", ["Request"] = "1000/1s", ["Read"] = "1000/1s" });

        private static HexClientOptions Fast => new HexClientOptions
        {
            ServerErrorBaseDelay = TimeSpan.FromMilliseconds(10),
            ServerErrorMaxDelay = TimeSpan.FromMilliseconds(20),
            AttemptTimeout = TimeSpan.FromSeconds(5),
        };

        private static int FreePort()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        private sealed class Sink : IHexEventSink
        {
            public readonly List<string> Verbose = new List<string>();
            void IHexEventSink.Verbose(string message) { lock (Verbose) Verbose.Add(message); }
            public void Warning(string message) { }
            public void Progress(HexProgress progress) { }
        }

        [Fact]
        public async Task Connection_refused_is_three_tries_then_HexConnectionFailed_naming_host_port_and_cause()
        {
            var port = FreePort();
            using var limiter = new HexRateLimiter(Unpaced);
            using var client = new HexApiClient(new Uri($"http://127.0.0.1:{port}/api/v1"), "hxtw_x", limiter, Fast);
            var sink = new Sink();
            var error = await Assert.ThrowsAsync<HexConnectionException>(() => client.GetMeAsync(sink, default)).WaitAsync(Guard);
            Assert.Equal(HexErrorKind.Transport, error.Kind);
            Assert.Equal(TransportCause.ConnectionRefused, error.Failure.Cause);
            Assert.False(error.Failure.RequestMayHaveArrived);
            Assert.Contains($"127.0.0.1:{port}: connection refused", error.Message);
            Assert.Contains("(3 tries in", error.Message);
            Assert.Contains("-BaseUri", error.Message);
            Assert.Equal(2, sink.Verbose.FindAll(v => v.StartsWith($"Could not reach 127.0.0.1:{port} (connection refused); try ", StringComparison.Ordinal)).Count);
        }

        [Fact]
        public async Task A_trigger_whose_connection_was_refused_created_no_run_so_it_is_retried_and_not_an_unknown_outcome()
        {
            var port = FreePort();
            using var limiter = new HexRateLimiter(Unpaced);
            using var client = new HexApiClient(new Uri($"http://127.0.0.1:{port}/api/v1"), "hxtw_x", limiter, Fast);
            var stats = new CallStats();
            var error = await Assert.ThrowsAsync<HexConnectionException>(() =>
                client.TriggerRunAsync(Guid.NewGuid().ToString(), new RunProjectBody(), null, default, stats)).WaitAsync(Guard);
            Assert.IsNotType<HexTriggerOutcomeUnknownException>(error);
            Assert.Equal(3, stats.Attempts);
        }

        [Fact]
        public async Task A_trigger_that_timed_out_may_have_created_a_run_and_is_not_sent_again()
        {
            var handler = new CountingHandler(async (request, ct) =>
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                return new HttpResponseMessage(HttpStatusCode.Created);
            });
            using var limiter = new HexRateLimiter(Unpaced);
            var options = Fast;
            options.AttemptTimeout = TimeSpan.FromMilliseconds(200);
            using var client = new HexApiClient(new Uri("http://127.0.0.1:1/api/v1"), "hxtw_x", limiter, options, handler: handler);
            var error = await Assert.ThrowsAsync<HexTriggerOutcomeUnknownException>(() =>
                client.TriggerRunAsync(Guid.NewGuid().ToString(), new RunProjectBody(), null, default)).WaitAsync(Guard);
            Assert.Contains("no answer within 0.2 s", error.Message);
            Assert.Equal(1, handler.Calls);
        }

        [Fact]
        public async Task A_read_that_times_out_is_tried_three_times_then_HexConnectionFailed_not_a_Polly_exception()
        {
            var handler = new CountingHandler(async (request, ct) =>
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                return new HttpResponseMessage(HttpStatusCode.OK);
            });
            using var limiter = new HexRateLimiter(Unpaced);
            var options = Fast;
            options.AttemptTimeout = TimeSpan.FromMilliseconds(100);
            using var client = new HexApiClient(new Uri("http://127.0.0.1:1/api/v1"), "hxtw_x", limiter, options, handler: handler);
            var error = await Assert.ThrowsAsync<HexConnectionException>(() => client.GetProjectAsync(Guid.NewGuid().ToString(), null, default)).WaitAsync(Guard);
            Assert.Equal(TransportCause.Timeout, error.Failure.Cause);
            Assert.IsType<Polly.Timeout.TimeoutRejectedException>(error.InnerException);
            Assert.Contains("within 0.1 s a try (3 tries", error.Message);
            Assert.Equal(3, handler.Calls);
        }

        [Fact]
        public async Task Https_to_a_plain_http_port_is_one_try_and_says_the_port_serves_plain_http()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var cts = new CancellationTokenSource();
            var accepted = 0;
            var server = Task.Run(async () =>
            {
                while (!cts.IsCancellationRequested)
                {
                    using var socket = await listener.AcceptSocketAsync(cts.Token);
                    Interlocked.Increment(ref accepted);
                    var plain = System.Text.Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    await socket.SendAsync(plain, SocketFlags.None);
                    socket.Shutdown(SocketShutdown.Both);
                }
            });
            try
            {
                using var limiter = new HexRateLimiter(Unpaced);
                using var client = new HexApiClient(new Uri($"https://127.0.0.1:{port}/api/v1"), "hxtw_x", limiter, Fast);
                var error = await Assert.ThrowsAsync<HexConnectionException>(() => client.GetMeAsync(null, default)).WaitAsync(Guard);
                Assert.Equal(TransportCause.TlsHandshake, error.Failure.Cause);
                Assert.True(error.Failure.IsPermanent);
                Assert.Contains("plain http", error.Message);
                Assert.Contains("(1 try in", error.Message);
                Assert.DoesNotContain("frame size", error.Message);
                Assert.Equal(1, Volatile.Read(ref accepted));
            }
            finally
            {
                cts.Cancel();
                listener.Stop();
                try { await server; } catch (Exception) { }
            }
        }

        [Fact]
        public async Task A_cancel_the_caller_asked_for_stays_a_cancel()
        {
            var handler = new CountingHandler(async (request, ct) =>
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                return new HttpResponseMessage(HttpStatusCode.OK);
            });
            using var limiter = new HexRateLimiter(Unpaced);
            using var client = new HexApiClient(new Uri("http://127.0.0.1:1/api/v1"), "hxtw_x", limiter, Fast, handler: handler);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetMeAsync(null, cts.Token)).WaitAsync(Guard);
            Assert.Equal(1, handler.Calls);
        }

        [Fact]
        public async Task A_Retry_After_beyond_the_deadline_fails_that_call_with_the_wait_and_every_later_call_without_sending()
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));
            var handler = new CountingHandler((request, ct) =>
            {
                var response = new HttpResponseMessage((HttpStatusCode)429) { RequestMessage = request, Content = new StringContent("{\"reason\":\"Too many requests\"}") };
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(2849));
                return Task.FromResult(response);
            });
            using var limiter = new HexRateLimiter(Unpaced, time);
            using var client = new HexApiClient(new Uri("http://127.0.0.1:1/api/v1"), "hxtw_x", limiter, Fast, time, handler);
            var first = await Assert.ThrowsAsync<HexException>(() => client.TriggerRunAsync(Guid.NewGuid().ToString(), new RunProjectBody(), null, default)).WaitAsync(Guard);
            Assert.Equal(HexErrorKind.RateLimitExhausted, first.Kind);
            Assert.Contains("2849 s (47 min 29 s), until 2026-06-15 12:47:29 UTC", first.Message);
            Assert.Equal(1, handler.Calls);

            for (var i = 0; i < 3; i++)
            {
                var later = await Assert.ThrowsAsync<HexException>(() => client.GetProjectAsync(Guid.NewGuid().ToString(), null, default)).WaitAsync(Guard);
                Assert.Equal(HexErrorKind.RateLimitExhausted, later.Kind);
                Assert.Contains("2849 s (47 min 29 s), until 2026-06-15 12:47:29 UTC", later.Message);
                Assert.Contains("was not sent", later.Message);
            }
            Assert.Equal(1, handler.Calls);
        }

        [Fact]
        public async Task A_pause_past_the_callers_deadline_fails_at_once_and_one_within_it_is_waited_out()
        {
            var time = new FakeTimeProvider();
            using var limiter = new HexRateLimiter(Unpaced, time);
            await limiter.PauseUntilAsync(time.GetUtcNow() + TimeSpan.FromMinutes(10), default);
            var error = await Assert.ThrowsAsync<RatePauseBeyondDeadlineException>(() =>
                limiter.AcquireAsync(RequestKind.Read, null, default, time.GetUtcNow() + TimeSpan.FromMinutes(5))).WaitAsync(Guard);
            Assert.Equal(TimeSpan.FromMinutes(10), error.Wait);

            var waiting = limiter.AcquireAsync(RequestKind.Read, null, default, time.GetUtcNow() + TimeSpan.FromMinutes(15));
            Assert.False(waiting.IsCompleted);
            time.Advance(TimeSpan.FromMinutes(10));
            (await waiting.WaitAsync(Guard)).Dispose();
        }

        [Theory]
        [InlineData(0.2, "1 s")]
        [InlineData(59, "59 s")]
        [InlineData(60, "60 s (1 min)")]
        [InlineData(2849, "2849 s (47 min 29 s)")]
        [InlineData(3600, "3600 s (1 h)")]
        [InlineData(90061, "90061 s (1 d 1 h 1 min 1 s)")]
        public void Waits_are_said_in_seconds_and_in_words(double seconds, string said)
        {
            Assert.Equal(said, Clock.Say(TimeSpan.FromSeconds(seconds)));
        }

        private sealed class CountingHandler : HttpMessageHandler
        {
            private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _answer;
            private int _calls;

            public CountingHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) => _answer = answer;

            public int Calls => Volatile.Read(ref _calls);

            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref _calls);
                return _answer(request, cancellationToken);
            }
        }
    }
}
