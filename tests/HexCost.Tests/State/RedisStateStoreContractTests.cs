using System;
using System.Threading.Tasks;
using HexCost.State;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>The contract, on a real redis-server (one for the class; each test its own workspaces). The store's clock is
    /// the server's, so moving it on means waiting until the server's TIME has passed that much.</summary>
    public sealed class RedisStateStoreContractTests : StateStoreContract, IClassFixture<RedisStateStoreContractTests.Server>
    {
        public sealed class Server : IDisposable
        {
            public RedisServer Redis { get; } = new RedisServer();

            public void Dispose() => Redis.Dispose();
        }

        private readonly RedisServer _redis;

        public RedisStateStoreContractTests(Server server) => _redis = server.Redis;

        protected override async Task<IHexStateStore> OpenAsync(string workspace) =>
            await RedisStateStore.ConnectAsync(new RedisStoreOptions(_redis.Uri), workspace, Ct);

        protected override Task AdvanceAsync(IHexStateStore store, TimeSpan by) => RedisClock.WaitAsync(store, by, Ct);

        protected override string HostLocation(string workspace) => _redis.Uri + "?workspace=" + workspace;
    }

    internal static class RedisClock
    {
        /// <summary>Waits until the store's clock has passed <paramref name="by"/> from its now.</summary>
        public static async Task WaitAsync(IHexStateStore store, TimeSpan by, System.Threading.CancellationToken ct)
        {
            var until = await store.NowAsync(ct) + by;
            while (true)
            {
                var now = await store.NowAsync(ct);
                if (now >= until) return;
                await Task.Delay(until - now + TimeSpan.FromMilliseconds(1), ct);
            }
        }
    }
}
