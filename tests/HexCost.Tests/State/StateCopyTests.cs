using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.State;
using HexCost.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>Copy-HexState's core: a workspace's state copied into another store keeps every record once, the decisions
    /// they imply (idempotency keys, cached runs, the week's run budget) and the policy; copying again adds nothing.</summary>
    public sealed class StateCopyTests : IDisposable
    {
        private readonly TempDir _root = new TempDir();
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 15, 12, 0, 0, TimeSpan.Zero));

        public void Dispose() => _root.Dispose();

        private FileStateStore Store(string name) => new FileStateStore(Path.Combine(_root.Path, name), _time);

        private sealed class Warnings : IHexEventSink
        {
            public readonly List<string> Said = new List<string>();
            public void Verbose(string message) { }
            public void Warning(string message) => Said.Add(message);
            public void Progress(HexProgress progress) { }
        }

        [Fact]
        public async Task A_copy_brings_every_record_once_with_its_keys_runs_and_policy_and_a_second_copy_adds_nothing()
        {
            using var source = Store("laptop");
            var state = new WorkspaceState(source, "owner-a", "admin@example.com");
            var now = _time.GetUtcNow();
            for (var i = 0; i < 1203; i++)
            {
                var runId = Guid.NewGuid().ToString();
                await state.RecordAsync(new LedgerRecord
                {
                    Type = LedgerRecordTypes.Trigger, Outcome = TriggerOutcomes.Created, At = now - TimeSpan.FromHours(i), ProjectId = "p" + (i % 3),
                    RunId = runId, IdempotencyKey = "key-" + i, CacheKey = i % 2 == 0 ? "cache-" + i : null,
                }, default);
                if (i % 2 == 0)
                    await state.RecordAsync(new LedgerRecord { Type = LedgerRecordTypes.Complete, At = now - TimeSpan.FromHours(i) + TimeSpan.FromMinutes(1), RunId = runId, ProjectId = "p" + (i % 3), Status = "COMPLETED" }, default);
            }
            await source.WriteDocumentAsync("spend-policy", "{\"weeklyRunBudget\":500}", Array.Empty<LedgerRecord>(), default);

            using var destination = Store("shared");
            var sink = new Warnings();
            var first = await StateCopy.CopyAsync(source, destination, sink, default);
            Assert.Equal(1203 + 602, first.RecordsCopied);
            Assert.Equal(0, first.RecordsAlreadyCopied);
            Assert.Equal(1, first.DocumentsCopied);

            var second = await StateCopy.CopyAsync(source, destination, sink, default);
            Assert.Equal(0, second.RecordsCopied);
            Assert.Equal(1203 + 602, second.RecordsAlreadyCopied);
            Assert.Equal(1, second.DocumentsKept);
            Assert.Empty(sink.Said);

            var copied = LedgerFile.ReadAll(destination.Directory);
            Assert.Equal(LedgerFile.ReadAll(source.Directory).Select(r => r.Id), copied.Select(r => r.Id));
            var keys = new[] { LedgerIndex.IdempotencyKey("p0", "key-0"), LedgerIndex.IdempotencyKey("p2", "key-1202"), LedgerIndex.CacheKey("cache-1200") };
            var there = await destination.ReadAsync(keys, default);
            var here = await source.ReadAsync(keys, default);
            foreach (var key in keys) Assert.Equal(here[key].Value, there[key].Value);
            Assert.NotNull(LedgerIndex.Parse<CacheEntry>(there[LedgerIndex.CacheKey("cache-1200")].Value)?.Completed);

            // The week's runs count at the destination as they did at the source: 7 x 24 + 1 started in the last 7 days.
            await destination.RenewOwnerAsync("checker", TimeSpan.FromMinutes(1), default);
            var budget = await destination.ReserveRunAsync(new BudgetRequest { ReservationId = "r", Owner = "checker", ProjectId = "p0", Now = now }, default);
            Assert.Equal(7 * 24 + 1, budget.Total);
        }

        [Fact]
        public async Task A_destination_with_its_own_policy_keeps_it_and_says_so()
        {
            using var source = Store("laptop");
            await source.WriteDocumentAsync("spend-policy", "{\"weeklyRunBudget\":500}", Array.Empty<LedgerRecord>(), default);
            using var destination = Store("shared");
            await destination.WriteDocumentAsync("spend-policy", "{\"weeklyRunBudget\":40}", Array.Empty<LedgerRecord>(), default);
            var sink = new Warnings();
            var result = await StateCopy.CopyAsync(source, destination, sink, default);
            Assert.Equal(1, result.DocumentsKept);
            Assert.Equal("{\"weeklyRunBudget\":40}", await destination.ReadDocumentAsync("spend-policy", default));
            Assert.Contains(sink.Said, w => w.Contains("spend-policy") && w.Contains("kept"));
        }

        [Fact]
        public async Task Records_another_process_added_at_the_destination_meanwhile_stay_and_the_copy_still_brings_all_of_its_own()
        {
            using var source = Store("laptop");
            var state = new WorkspaceState(source, "owner-a", null);
            for (var i = 0; i < 20; i++)
                await state.RecordAsync(new LedgerRecord { Type = LedgerRecordTypes.CacheHit, At = _time.GetUtcNow(), ProjectId = "p", Note = "s" + i }, default);
            using var destination = Store("shared");
            await new WorkspaceState(destination, "owner-b", null).RecordAsync(new LedgerRecord { Type = LedgerRecordTypes.CacheHit, At = _time.GetUtcNow(), ProjectId = "p", Note = "there first" }, default);
            await StateCopy.CopyAsync(source, destination, new Warnings(), default);
            var notes = LedgerFile.ReadAll(destination.Directory).Select(r => r.Note).ToList();
            Assert.Equal(new[] { "there first" }.Concat(Enumerable.Range(0, 20).Select(i => "s" + i)), notes);
        }
    }
}
