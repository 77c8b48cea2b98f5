using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using HexCost.Infrastructure;
using HexCost.Ledger;
using HexCost.Runs;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.State
{
    /// <summary>A claim is checked right before its trigger is sent: an owner whose key was taken over while it waited for a
    /// rate permit (its lease lapsed while the store was out of reach) sends nothing and takes the other owner's run.</summary>
    public class ClaimFenceTests
    {
        [Fact]
        public async Task A_key_taken_over_while_its_owner_waited_for_a_permit_is_not_sent_again()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.NewProject("Fenced", p => p.RunDurationOverride = TimeSpan.FromMilliseconds(200));
            var limits = new Hashtable { ["RunProject"] = "1/3s", ["Request"] = "6000/1m", ["Read"] = "6000/1m" };
            var account = (await world.SessionAsync(limits: limits)).GetAccount();
            try
            {
                // The one permit of the window goes to a run of another project.
                await RunService.RunAsync(account, new RunRequest { ProjectId = world.NewProject("Other").Id }, new RunWaitOptions(), NullEventSink.Instance, default);
                var waiting = RunService.RunAsync(account, new RunRequest { ProjectId = project.Id, IdempotencyKey = "fenced-1" }, new RunWaitOptions(), NullEventSink.Instance, default);

                // While it waits for the window, another owner takes the key over and starts the run.
                var dir = Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);
                var key = HexCost.State.LedgerIndex.IdempotencyKey(project.Id, "fenced-1");
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (DateTime.UtcNow < deadline && LedgerIndex(account, key)?.Owner != account.State.Owner) await Task.Delay(10);
                Assert.Equal(account.State.Owner, LedgerIndex(account, key)?.Owner);
                using (var store = new HexCost.State.FileStateStore(dir, TestClock.Shared))
                    await store.RenewOwnerAsync("taker", TimeSpan.FromMinutes(5), default);
                var theirs = world.Workspace.AddRun(project.Id, "API", TestClock.Now, duration: TimeSpan.FromMilliseconds(100));
                await LedgerFile.RecordAsync(dir, new LedgerRecord
                {
                    Type = LedgerRecordTypes.Trigger, Outcome = TriggerOutcomes.Created, At = TestClock.Now, ProjectId = project.Id, RunId = theirs.RunId,
                    IdempotencyKey = "fenced-1", InputParameters = "{}",
                }, "taker");

                var result = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(theirs.RunId, result.Run.RunId);
                Assert.True(result.Run.FromCache);
                Assert.Equal(1, world.Stats.RunsCreated);
            }
            finally
            {
                HexAccountRegistry.Release(account);
            }
        }

        private static LedgerRecord? LedgerIndex(HexAccount account, string key) =>
            HexCost.State.LedgerIndex.Parse<LedgerRecord>(account.Store.ReadAsync(new[] { key }, default).GetAwaiter().GetResult()[key].Value);
    }
}
