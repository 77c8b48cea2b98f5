using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Ledger;
using HexCost.State;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>What only the Redis store has: reaching the server (or not), credentials, TLS, a server that restarts, and
    /// what the server's configuration risks.</summary>
    public sealed class RedisStateStoreTests : IDisposable
    {
        private readonly CancellationTokenSource _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        private readonly List<IDisposable> _owned = new List<IDisposable>();

        private CancellationToken Ct => _timeout.Token;

        public void Dispose()
        {
            foreach (var owned in Enumerable.Reverse(_owned)) owned.Dispose();
            _timeout.Dispose();
        }

        private T Own<T>(T value) where T : IDisposable
        {
            _owned.Add(value);
            return value;
        }

        private async Task<RedisStateStore> ConnectAsync(RedisStoreOptions options, string workspace = "ws") =>
            Own(await RedisStateStore.ConnectAsync(options, workspace, Ct));

        private static LedgerRecord Record(string id, DateTimeOffset at) => new LedgerRecord { Id = id, Type = LedgerRecordTypes.Intent, At = at };

        private async Task<List<string>> IdsAsync(IHexStateStore store)
        {
            var ids = new List<string>();
            string? cursor = null;
            while (true)
            {
                var page = await store.ReadRecordsAsync(cursor, 100, Ct);
                if (page.Records.Count == 0) return ids;
                ids.AddRange(page.Records.Select(r => r.Id!));
                cursor = page.Next;
            }
        }

        // ---- Reaching the server --------------------------------------------------------------------------------------

        [Fact]
        public async Task A_port_where_nothing_listens_is_unavailable_naming_host_and_port_and_no_fallback()
        {
            var port = RedisServer.FreePort();
            var clock = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(() =>
                RedisStateStore.ConnectAsync(new RedisStoreOptions("redis://127.0.0.1:" + port) { ConnectTimeout = TimeSpan.FromSeconds(2) }, "ws", Ct));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2 + 1 + 3), $"took {clock.Elapsed}"); // the timeout, its grace, slack for a loaded machine
            Assert.Equal(HexErrorKind.StateStoreUnavailable, ex.Kind);
            Assert.Contains("127.0.0.1:" + port, ex.Message);
            Assert.Contains("refused", ex.Message);
            Assert.Contains("no fallback to a local file", ex.Message);
        }

        [Fact]
        public async Task A_server_that_accepts_but_never_answers_is_unavailable_within_the_connect_timeout()
        {
            var silent = new TcpListener(IPAddress.Loopback, 0);
            silent.Start();
            try
            {
                var port = ((IPEndPoint)silent.LocalEndpoint).Port;
                var clock = Stopwatch.StartNew();
                var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(() =>
                    RedisStateStore.ConnectAsync(new RedisStoreOptions("redis://127.0.0.1:" + port) { ConnectTimeout = TimeSpan.FromSeconds(1) }, "ws", Ct));
                Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1 + 1 + 3));
                Assert.Contains("127.0.0.1:" + port, ex.Message);
                Assert.Contains("no fallback to a local file", ex.Message);
            }
            finally
            {
                silent.Stop();
            }
        }

        [Fact]
        public async Task A_host_name_that_does_not_resolve_is_unavailable()
        {
            var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(() =>
                RedisStateStore.ConnectAsync(new RedisStoreOptions("redis://no-such-host.invalid:6390") { ConnectTimeout = TimeSpan.FromSeconds(2) }, "ws", Ct));
            Assert.Contains("no-such-host.invalid:6390", ex.Message);
        }

        [Theory]
        [InlineData("http://127.0.0.1:6379")]
        [InlineData("redis://")]
        [InlineData("redis://host:6379/notanumber")]
        [InlineData("redis://user:topsecret@host:6379?x=1")]
        public async Task A_location_that_is_no_redis_uri_is_an_invalid_configuration_without_its_password(string uri)
        {
            var ex = await Assert.ThrowsAsync<HexException>(() => RedisStateStore.ConnectAsync(new RedisStoreOptions(uri), "ws", Ct));
            Assert.Equal(HexErrorKind.InvalidConfiguration, ex.Kind);
            Assert.DoesNotContain("topsecret", ex.Message);
        }

        // ---- Credentials and TLS --------------------------------------------------------------------------------------

        [Fact]
        public async Task An_acl_user_with_its_password_works_and_a_wrong_password_is_unavailable_without_the_password()
        {
            using var redis = new RedisServer();
            await redis.AdminAsync("ACL", "SETUSER", "hexcost", "on", ">right-horse-battery", "~hexcost:*", "+@all", "-@admin", "-@dangerous");
            var uri = "redis://hexcost:right-horse-battery@127.0.0.1:" + redis.Port + "/3";

            var store = await ConnectAsync(new RedisStoreOptions(uri));
            Assert.Equal("redis://127.0.0.1:" + redis.Port + "/3", store.Location);
            var byOptions = await ConnectAsync(new RedisStoreOptions("redis://127.0.0.1:" + redis.Port + "/3") { User = "hexcost", Password = "right-horse-battery" });
            var commit = new StoreCommit();
            commit.Records.Add(Record("r1", await store.NowAsync(Ct)));
            commit.Writes.Add(new KeyValuePair<string, string?>("k", "\"v\""));
            Assert.True((await store.CommitAsync(commit, Ct)).Committed);
            Assert.Equal("\"v\"", (await byOptions.ReadAsync(new[] { "k" }, Ct))["k"].Value);
            Assert.Equal(new[] { "r1" }, await IdsAsync(byOptions));

            var warnings = await store.DurabilityWarningsAsync(Ct);
            Assert.Contains("CONFIG GET is not allowed", Assert.Single(warnings));

            foreach (var wrong in new[]
                     {
                         new RedisStoreOptions("redis://127.0.0.1:" + redis.Port) { User = "hexcost", Password = "wrong-staple-pony" },
                         new RedisStoreOptions("redis://hexcost:wrong-staple-pony@127.0.0.1:" + redis.Port),
                         new RedisStoreOptions("redis://nobody@127.0.0.1:" + redis.Port) { Password = "wrong-staple-pony" },
                     })
            {
                var ex = await Assert.ThrowsAsync<StateStoreUnavailableException>(() => RedisStateStore.ConnectAsync(wrong, "ws", Ct));
                Assert.Contains("127.0.0.1:" + redis.Port, ex.Message);
                Assert.Contains("user name or password", ex.Message);
                Assert.DoesNotContain("wrong-staple-pony", ex.ToString());
            }
        }

        [Fact]
        public async Task Rediss_works_with_the_servers_authority_and_is_unavailable_without_it()
        {
            using var redis = new RedisServer(tls: true);
            var store = await ConnectAsync(new RedisStoreOptions(redis.Uri) { TrustedCertificateAuthorityPath = redis.Tls!.Authority });
            Assert.Equal("rediss://127.0.0.1:" + redis.Port, store.Location);
            var commit = new StoreCommit();
            commit.Records.Add(Record("tls", await store.NowAsync(Ct)));
            Assert.True((await store.CommitAsync(commit, Ct)).Committed);
            Assert.Equal(new[] { "tls" }, await IdsAsync(store));

            var untrusted = await Assert.ThrowsAsync<StateStoreUnavailableException>(() =>
                RedisStateStore.ConnectAsync(new RedisStoreOptions(redis.Uri) { ConnectTimeout = TimeSpan.FromSeconds(3) }, "ws", Ct));
            Assert.Contains("127.0.0.1:" + redis.Port, untrusted.Message);
            Assert.True(untrusted.Message.Contains("TLS"), untrusted.Message);
            var plain = await Assert.ThrowsAsync<StateStoreUnavailableException>(() =>
                RedisStateStore.ConnectAsync(new RedisStoreOptions("redis://127.0.0.1:" + redis.Port) { ConnectTimeout = TimeSpan.FromSeconds(2) }, "ws", Ct));
            Assert.Contains("127.0.0.1:" + redis.Port, plain.Message);

            await redis.AdminAsync("ACL", "SETUSER", "tlsuser", "on", ">tls-horse-battery", "~hexcost:*", "+@all");
            var user = await ConnectAsync(new RedisStoreOptions(redis.Uri) { User = "tlsuser", Password = "tls-horse-battery", TrustedCertificateAuthorityPath = redis.Tls.Authority });
            Assert.Equal(new[] { "tls" }, await IdsAsync(user));
            var wrong = await Assert.ThrowsAsync<StateStoreUnavailableException>(() => RedisStateStore.ConnectAsync(
                new RedisStoreOptions(redis.Uri) { User = "tlsuser", Password = "tls-staple-pony", TrustedCertificateAuthorityPath = redis.Tls.Authority }, "ws", Ct));
            Assert.True(wrong.Message.Contains("user name or password"), wrong.Message);
            Assert.DoesNotContain("tls-staple-pony", wrong.ToString());
        }

        // ---- A server that goes away ----------------------------------------------------------------------------------

        [Fact]
        public async Task Records_and_entries_survive_a_killed_and_restarted_server_and_the_store_works_again_after_reconnecting()
        {
            using var redis = new RedisServer();
            var options = new RedisStoreOptions(redis.Uri) { OperationTimeout = TimeSpan.FromSeconds(2) };
            var store = await ConnectAsync(options);
            var now = await store.NowAsync(Ct);
            await store.RenewOwnerAsync("me", TimeSpan.FromMinutes(10), Ct);
            var first = new StoreCommit();
            first.Expect.Add(new KeyValuePair<string, long>("k", 0));
            first.Records.Add(Record("before-1", now));
            first.Records.Add(Record("before-2", now));
            first.Writes.Add(new KeyValuePair<string, string?>("k", "\"one\""));
            first.BudgetAdds.Add(new BudgetEntry("run-1", "p", now));
            Assert.True((await store.CommitAsync(first, Ct)).Committed);
            var window = new PermitWindow("g", TimeSpan.FromSeconds(30), 5);
            Assert.True((await store.TakePermitAsync(new PermitRequest("p1", "me", new[] { window }, TimeSpan.FromSeconds(30)), Ct)).Granted);
            await store.WriteDocumentAsync("spend-policy", "{\"weeklyRunBudget\": 3}", Array.Empty<LedgerRecord>(), Ct);

            redis.Kill();
            var down = await Assert.ThrowsAsync<StateStoreUnavailableException>(() => store.ReadAsync(new[] { "k" }, Ct));
            Assert.Contains("127.0.0.1:" + redis.Port, down.Message);
            Assert.Contains("no fallback to a local file", down.Message);
            redis.Start();

            var view = await EventuallyAsync(() => store.ReadAsync(new[] { "k" }, Ct));
            Assert.Equal(1, view["k"].Version);
            Assert.Equal("\"one\"", view["k"].Value);
            Assert.Contains("me", view.LiveOwners);
            Assert.Equal(new[] { "before-1", "before-2" }, await IdsAsync(store));
            Assert.Equal("{\"weeklyRunBudget\": 3}", await store.ReadDocumentAsync("spend-policy", Ct));
            Assert.Equal(3, (await store.TakePermitAsync(new PermitRequest("p2", "me", new[] { window }, TimeSpan.FromSeconds(30)), Ct)).Remaining[window.Key]);
            Assert.Equal(1, (await store.ReserveRunAsync(new BudgetRequest { ReservationId = "r", Owner = "me", ProjectId = "P" }, Ct)).Total);

            var second = new StoreCommit();
            second.Expect.Add(new KeyValuePair<string, long>("k", 1));
            second.Records.Add(Record("after", now));
            second.Writes.Add(new KeyValuePair<string, string?>("k", "\"two\""));
            Assert.True((await store.CommitAsync(second, Ct)).Committed);
            var reopened = await ConnectAsync(options);
            Assert.Equal(new[] { "before-1", "before-2", "after" }, await IdsAsync(reopened));
            Assert.Equal(2, (await reopened.ReadAsync(new[] { "k" }, Ct))["k"].Version);
        }

        private static async Task<T> EventuallyAsync<T>(Func<Task<T>> action)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    return await action();
                }
                catch (StateStoreException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }

        // ---- Layout and configuration ---------------------------------------------------------------------------------

        [Fact]
        public async Task Every_key_of_a_workspace_shares_its_hash_tag_even_when_the_org_id_holds_braces()
        {
            using var redis = new RedisServer();
            const string org = "a}b{c";
            var store = await ConnectAsync(new RedisStoreOptions(redis.Uri), org);
            var now = await store.NowAsync(Ct);
            await store.RenewOwnerAsync("o", TimeSpan.FromMinutes(1), Ct);
            var commit = new StoreCommit();
            commit.Records.Add(Record("r", now));
            commit.Writes.Add(new KeyValuePair<string, string?>("k", "1"));
            commit.BudgetAdds.Add(new BudgetEntry("run", "Project", now));
            Assert.True((await store.CommitAsync(commit, Ct)).Committed);
            await store.ReserveRunAsync(new BudgetRequest { ReservationId = "res", Owner = "o", ProjectId = "Project" }, Ct);
            await store.TakePermitAsync(new PermitRequest("p", "o", new[] { new PermitWindow("g", TimeSpan.FromSeconds(10), 3) }, TimeSpan.FromSeconds(10)), Ct);
            await store.PauseUntilAsync(now + TimeSpan.FromMinutes(1), Ct);
            await store.WriteDocumentAsync("spend-policy", "{}", Array.Empty<LedgerRecord>(), Ct);

            var keys = await redis.AdminListAsync("KEYS", "*");
            Assert.True(keys.Length >= 10, string.Join(" ", keys));
            Assert.All(keys, k => Assert.StartsWith("hexcost:{a%7Db%7Bc}:", k));
            // Redis Cluster hashes only the part between the first '{' and the '}' after it.
            Assert.Equal(new[] { "a%7Db%7Bc" }, keys.Select(k => k.Substring(k.IndexOf('{') + 1, k.IndexOf('}') - k.IndexOf('{') - 1)).Distinct());
        }

        [Fact]
        public async Task Durability_warnings_name_what_could_lose_records()
        {
            using var redis = new RedisServer();
            var store = await ConnectAsync(new RedisStoreOptions(redis.Uri));
            Assert.Empty(await store.DurabilityWarningsAsync(Ct));

            await redis.AdminAsync("CONFIG", "SET", "appendfsync", "everysec");
            await redis.AdminAsync("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
            var warnings = await store.DurabilityWarningsAsync(Ct);
            Assert.Equal(2, warnings.Count);
            Assert.Contains(warnings, w => w.Contains("appendfsync everysec") && w.Contains("second"));
            Assert.Contains(warnings, w => w.Contains("maxmemory-policy allkeys-lru"));

            await redis.AdminAsync("CONFIG", "SET", "appendfsync", "no");
            Assert.Contains(await store.DurabilityWarningsAsync(Ct), w => w.Contains("appendfsync no"));
            await redis.AdminAsync("CONFIG", "SET", "appendonly", "no");
            await redis.AdminAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
            Assert.Contains("appendonly no", Assert.Single(await store.DurabilityWarningsAsync(Ct)));
        }

        [Fact]
        public async Task Cancelling_an_operation_on_a_paused_server_ends_it_within_a_second()
        {
            using var redis = new RedisServer();
            var store = await ConnectAsync(new RedisStoreOptions(redis.Uri));
            await store.ReadAsync(new[] { "k" }, Ct);
            await redis.AdminAsync("CLIENT", "PAUSE", "4000", "ALL");
            using var cancel = new CancellationTokenSource();
            var read = store.ReadAsync(new[] { "k" }, cancel.Token);
            await Task.Delay(200);
            Assert.False(read.IsCompleted, read.Exception?.ToString());
            var clock = Stopwatch.StartNew();
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"ended {clock.Elapsed} after its cancellation");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RedisStateStore.ConnectAsync(new RedisStoreOptions(redis.Uri), "ws", cancel.Token));
        }
    }
}
