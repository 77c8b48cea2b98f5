using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using HexCost.Api;
using HexCost.Emulator;
using HexCost.Infrastructure;
using HexCost.Runs;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.Core
{
    /// <summary>The core's side of bad run input: ids, nesting, time-outs, blank values, and cancelling a run that has
    /// ended. (What PowerShell binds is tested in tests/Pester/BadInput.Runs.Tests.ps1.)</summary>
    public class RunInputTests
    {
        [Theory]
        [InlineData("5a8591dd-4039-49df-9202-96385ba3eff8")]
        [InlineData("  5A8591DD-4039-49DF-9202-96385BA3EFF8\r\n")]
        [InlineData("{5a8591dd-4039-49df-9202-96385ba3eff8}")]
        [InlineData("5a8591dd403949df920296385ba3eff8")]
        public void An_id_in_any_form_of_a_UUID_is_the_id_Hex_writes(string given) =>
            Assert.Equal("5a8591dd-4039-49df-9202-96385ba3eff8", HexIds.ProjectId(given));

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        [InlineData(" \t")]
        [InlineData("not-a-project")]
        [InlineData("5a8591dd-4039-49df-9202-96385ba3eff")]
        [InlineData("\ud800")]
        public void Anything_else_is_not_found_and_says_what_an_id_looks_like(string? given)
        {
            var project = Assert.Throws<HexException>(() => HexIds.ProjectId(given));
            Assert.Equal(HexErrorKind.ProjectNotFound, project.Kind);
            Assert.Contains(HexIds.Example, project.Message);
            Assert.Contains("Get-HexProject", project.Message);
            var run = Assert.Throws<HexException>(() => HexIds.RunId(given, HexIds.Example));
            Assert.Equal(HexErrorKind.RunNotFound, run.Kind);
            Assert.Contains("Get-HexRun -ProjectId " + HexIds.Example, run.Message);
            Assert.Null(InputCanonicalizer.LoneSurrogate(project.Message));
        }

        [Fact]
        public void A_value_shown_in_a_message_is_short_and_all_text()
        {
            var huge = new string('9', 4999) + "\ud83d\ude00" + "\n";
            var shown = HexIds.Show(huge);
            Assert.True(shown.Length < 100, shown);
            Assert.Contains("5002 characters", shown);
            Assert.Equal("'a\\u000ab\\ud800'", HexIds.Show("a\nb\ud800"));
            // A pair cut at the limit is left out whole rather than halved.
            var cut = HexIds.Show(new string('x', 59) + "\ud83d\ude00" + "tail");
            Assert.Null(InputCanonicalizer.LoneSurrogate(cut));
        }

        private static IDictionary Nested(int depth)
        {
            object inner = "EU";
            for (var level = depth; level >= 2; level--) inner = new Hashtable { ["x"] = inner };
            return new Hashtable { ["region"] = inner };
        }

        [Fact]
        public void Inputs_nest_at_most_MaxDepth_levels_as_dictionaries_lists_and_JSON()
        {
            var deepest = InputCanonicalizer.Canonicalize(Nested(InputCanonicalizer.MaxDepth));
            Assert.Equal(InputCanonicalizer.MaxDepth, deepest.Count(c => c == '{'));
            // What HexCost sends, the JSON readers of both sides (System.Text.Json's default 64) read, body included.
            using (JsonDocument.Parse("{\"inputParams\":" + deepest + "}")) { }

            var tooDeep = Assert.Throws<ArgumentException>(() => InputCanonicalizer.Canonicalize(Nested(InputCanonicalizer.MaxDepth + 1)));
            Assert.Contains("deeper than 32 levels", tooDeep.Message);
            Assert.Contains("region.x.x", tooDeep.Message);

            var list = new ArrayList();
            list.Add(list);
            Assert.Contains("deeper than 32 levels", Assert.Throws<ArgumentException>(() => InputCanonicalizer.Canonicalize(new Hashtable { ["region"] = list })).Message);

            var self = new Hashtable { ["region"] = "EU" };
            self["self"] = self;
            var selfError = Assert.Throws<ArgumentException>(() => InputCanonicalizer.Canonicalize(self));
            Assert.Contains("contains itself", selfError.Message);
            Assert.True(selfError.Message.Length < 500, "the path in the message is cut short");

            var json = "{\"region\":" + string.Concat(Enumerable.Repeat("[", 40)) + string.Concat(Enumerable.Repeat("]", 40)) + "}";
            using var document = JsonDocument.Parse(json);
            Assert.Contains("deeper than 32 levels", Assert.Throws<ArgumentException>(() =>
                InputCanonicalizer.Canonicalize(new Dictionary<string, object?> { ["region"] = document.RootElement.GetProperty("region") })).Message);
        }

        [Fact]
        public void A_timeout_must_be_one_HexCost_can_wait()
        {
            Assert.Null(RunWaitOptions.TimeoutProblem(TimeSpan.FromSeconds(1)));
            Assert.Null(RunWaitOptions.TimeoutProblem(RunWaitOptions.MaxTimeout));
            Assert.Contains("longer than zero", RunWaitOptions.TimeoutProblem(TimeSpan.Zero));
            Assert.Contains("longer than zero", RunWaitOptions.TimeoutProblem(TimeSpan.FromMinutes(-5)));
            Assert.Contains("ticks", RunWaitOptions.TimeoutProblem(TimeSpan.FromTicks(30)));
            Assert.Contains("49 days", RunWaitOptions.TimeoutProblem(TimeSpan.FromDays(50)));
            Assert.Contains("49 days", RunWaitOptions.TimeoutProblem(TimeSpan.MaxValue));
            // A timer takes at most 2^32 - 2 ms: every timeout allowed can be timed.
            Assert.True(RunWaitOptions.MaxTimeout.TotalMilliseconds <= uint.MaxValue - 1);
        }

        [Fact]
        public async Task Nothing_is_sent_for_a_timeout_or_an_id_HexCost_refuses_and_blank_values_are_none()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            var session = await world.SessionAsync();
            var account = session.GetAccount();
            try
            {
                var requests = world.Stats.TotalRequests;
                await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => RunService.RunAsync(account, new RunRequest { ProjectId = project.Id },
                    new RunWaitOptions { Wait = true, Timeout = TimeSpan.MaxValue }, NullEventSink.Instance, default));
                var notAnId = await Assert.ThrowsAsync<HexException>(() => RunService.RunAsync(account, new RunRequest { ProjectId = "not-an-id" },
                    new RunWaitOptions(), NullEventSink.Instance, default));
                Assert.Equal(HexErrorKind.ProjectNotFound, notAnId.Kind);
                Assert.Equal(requests, world.Stats.TotalRequests);
                Assert.Equal(0, world.Stats.RunsCreated);

                // A blank version or key is none: each call a new run, none cached, none replayed.
                var runs = new List<RunResult>();
                foreach (var blank in new[] { " ", "\t\n", " " })
                {
                    runs.Add(await RunService.RunAsync(account, new RunRequest { ProjectId = project.Id, SourceVersion = blank, IdempotencyKey = blank },
                        new RunWaitOptions { Wait = true }, NullEventSink.Instance, default));
                }
                Assert.Equal(3, runs.Select(r => r.Run.RunId).Distinct().Count());
                Assert.All(runs, r => Assert.False(r.Run.FromCache));
                Assert.All(runs, r => Assert.Null(r.Run.SourceVersion));
                Assert.All(runs, r => Assert.Null(r.Run.IdempotencyKey));
                Assert.Equal(3, world.Stats.RunsCreated);
            }
            finally
            {
                HexAccountRegistry.Release(account);
            }
        }

        [Fact]
        public async Task Cancelling_a_run_that_has_ended_says_how_it_ended_and_records_no_cancel()
        {
            await using var world = await HexWorld.StartAsync();
            var project = world.Project();
            var session = await world.SessionAsync();
            var account = session.GetAccount();
            try
            {
                var done = (await RunService.RunAsync(account, new RunRequest { ProjectId = project.Id }, new RunWaitOptions { Wait = true },
                    NullEventSink.Instance, default)).Run;
                Assert.Equal(RunStatuses.Completed, done.Status);
                var cancels = (await account.State.ReadHistoryAsync(default)).Count(r => r.Type == HexCost.Ledger.LedgerRecordTypes.Cancel);

                var run = new HexCost.Model.HexRun { ProjectId = project.Id, RunId = done.RunId };
                var outcome = await RunService.CancelAsync(account, run, NullEventSink.Instance, default);

                Assert.Equal(RunService.CancelOutcome.AlreadyEnded, outcome);
                Assert.Equal(RunStatuses.Completed, run.Status);
                Assert.NotNull(run.EndTime);
                Assert.Equal(cancels, (await account.State.ReadHistoryAsync(default)).Count(r => r.Type == HexCost.Ledger.LedgerRecordTypes.Cancel));
            }
            finally
            {
                HexAccountRegistry.Release(account);
            }
        }

        [Fact]
        public async Task The_poll_interval_the_docs_give_is_the_one_the_poll_loop_keeps()
        {
            // Hex's default limits, as Connect-Hex sets them; the loop's spacing is read from the code, not written here.
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
            await using var emulator = await HexEmulator.StartAsync(new EmulatorOptions { Time = time, RateLimitsEnabled = true });
            using var state = new TempDir();
            var account = await HexAccountRegistry.ConnectAsync(new ConnectOptions
            {
                BaseUri = emulator.BaseUri, Token = emulator.Token, StatePath = state.Path, Time = time,
            }, null, default);
            int one;
            try
            {
                var spacing = account.Poller.LoopSpacing();
                Assert.Equal(0, spacing.Ticks % TimeSpan.TicksPerSecond);
                one = (int)spacing.TotalSeconds;
            }
            finally
            {
                HexAccountRegistry.Release(account);
            }
            var five = one * 5;

            var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
            var about = File.ReadAllText(Path.Combine(Repo.Root, "module", "en-US", "about_HexCost.help.txt"));
            var maml = File.ReadAllText(Path.Combine(Repo.Root, "module", "en-US", "HexCost.Commands.dll-Help.xml"));
            foreach (var (doc, text, unit) in new[] { ("README.md", readme, "s"), ("about_HexCost", about, "seconds"), ("Invoke-HexRun's help", maml, "seconds") })
            {
                var said = Regex.Matches(text, @"one\s+run\s+is\s+polled\s+every\s+(\d+)\s+" + unit + @",\s+five\s+runs\s+each\s+every\s+(\d+)\s+" + unit);
                Assert.True(said.Count > 0, $"{doc} does not say how often one run is polled.");
                foreach (Match m in said)
                    Assert.True(m.Groups[1].Value == one.ToString() && m.Groups[2].Value == five.ToString(),
                        $"{doc} says '{m.Value}'; the poll loop polls one run every {one} {unit}, five each every {five} {unit}.");
            }
        }
    }
}
