using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Core
{
    public class LedgerTests
    {
        private static LedgerRecord Trigger(int i) => new LedgerRecord
        {
            Type = LedgerRecordTypes.Trigger, At = DateTimeOffset.UnixEpoch.AddSeconds(1_800_000_000 + i), ProjectId = "p" + i, RunId = "r" + i, Outcome = TriggerOutcomes.Created,
        };

        [Fact]
        public void A_record_torn_by_a_kill_is_skipped_and_never_swallows_the_next_one()
        {
            using var dir = new TempDir();
            var ledger = new HexLedger(dir.Path);
            ledger.Append(Trigger(1));
            ledger.Append(Trigger(2));
            var bytes = File.ReadAllBytes(ledger.FilePath);
            File.WriteAllBytes(ledger.FilePath, bytes.Take(bytes.Length - 12).ToArray()); // kill mid-write of record 2

            var reopened = new HexLedger(dir.Path);
            Assert.Equal(new[] { "r1" }, reopened.ReadAll().Select(r => r.RunId));

            reopened.Append(Trigger(3));
            var all = new HexLedger(dir.Path).ReadAll();
            Assert.Equal(new[] { "r1", "r3" }, all.Select(r => r.RunId));
        }

        [Fact]
        public void Garbage_lines_are_skipped_and_counted()
        {
            using var dir = new TempDir();
            var ledger = new HexLedger(dir.Path);
            ledger.Append(Trigger(1));
            File.AppendAllText(ledger.FilePath, "{\"type\":\n\u0000\u0001 not json\n{}\n");
            ledger.Append(Trigger(2));
            var reopened = new HexLedger(dir.Path);
            Assert.Equal(new[] { "r1", "r2" }, reopened.ReadAll().Select(r => r.RunId));
            Assert.Equal(3, reopened.SkippedLines);
        }

        [Fact]
        public async Task Parallel_writers_lose_nothing()
        {
            using var dir = new TempDir();
            // Separate instances behave like separate processes: only the lock file serialises them.
            var writers = Enumerable.Range(0, 4).Select(_ => new HexLedger(dir.Path)).ToArray();
            await Task.WhenAll(writers.Select((w, n) => Task.Run(() =>
            {
                for (var i = 0; i < 250; i++) w.Append(Trigger(n * 1000 + i));
            })));
            var records = new HexLedger(dir.Path).ReadAll();
            Assert.Equal(1000, records.Count);
            Assert.Equal(1000, records.Select(r => r.RunId).Distinct().Count());
        }

        [Fact]
        public void ReadNew_returns_only_what_was_appended_since_and_waits_for_unterminated_tails()
        {
            using var dir = new TempDir();
            var reader = new HexLedger(dir.Path);
            var writer = new HexLedger(dir.Path);
            Assert.Empty(reader.ReadAll());
            writer.Append(Trigger(1));
            Assert.Equal("r1", reader.ReadNew().Single().RunId);
            Assert.Empty(reader.ReadNew());
            var half = Encoding.UTF8.GetBytes("{\"v\":1,\"type\":\"Trigger\"");
            using (var s = new FileStream(writer.FilePath, FileMode.Append)) s.Write(half, 0, half.Length);
            Assert.Empty(reader.ReadNew());
            writer.Append(Trigger(2));
            Assert.Equal(new[] { "r2" }, reader.ReadNew().Select(r => r.RunId));
        }

        [Fact]
        public void State_files_are_readable_by_the_owner_only()
        {
            if (OperatingSystem.IsWindows()) return;
            using var dir = new TempDir();
            var ledger = new HexLedger(Path.Combine(dir.Path, "ws"));
            ledger.Append(Trigger(1));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ledger.FilePath));
        }
    }
}
