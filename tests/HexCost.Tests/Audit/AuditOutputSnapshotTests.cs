using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace HexCost.Tests.Audit
{
    /// <summary>
    /// Pins every field and the order of Get-HexScheduleAudit's output for a generated workspace on a fixed clock, so changes to
    /// how the audit holds its findings cannot change what it writes. On a mismatch the output is written beside the snapshot
    /// as *.received.tsv; to accept a deliberate change, review the difference and rename it over the snapshot.
    /// </summary>
    public class AuditOutputSnapshotTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
        private static readonly string[] Columns =
        {
            "Rule", "Severity", "ProjectId", "ProjectTitle", "Owner", "Cadence", "RunsPerWeek", "RecommendedCadence",
            "EstimatedRunsSavedPerWeek", "EstimatedMonthlySavings", "Evidence", "DetectedAt",
        };

        [Fact]
        public async Task A_whole_workspace_audit_writes_the_snapshot()
        {
            await using var world = await GeneratedWorld();
            var session = await world.SessionAsync(o => o.Time = (FakeTimeProvider)world.Emulator.Options.Time);
            using var host = new PsHost();
            var findings = host.Run("Get-HexScheduleAudit -Session $args[0]", session).ThrowIfErrors().Output;
            AssertMatchesSnapshot("generated-workspace.tsv", findings);
        }

        [Fact]
        public async Task An_audit_of_piped_projects_writes_the_snapshot()
        {
            await using var world = await GeneratedWorld();
            var session = await world.SessionAsync(o => o.Time = (FakeTimeProvider)world.Emulator.Options.Time);
            var piped = world.Workspace.Projects.Where((p, i) => i % 7 == 0).Select(p => p.Id).ToArray();
            using var host = new PsHost();
            var findings = host.Run("$args[1] | Get-HexScheduleAudit -Session $args[0]", session, piped).ThrowIfErrors().Output;
            AssertMatchesSnapshot("generated-workspace-piped.tsv", findings);
        }

        /// <summary>Seed 42's first 600 projects, plus duplicates, a crowded minute and idle seats, which the generator rarely makes.</summary>
        private static async Task<HexWorld> GeneratedWorld()
        {
            var world = await HexWorld.StartAsync(o =>
            {
                o.Time = new FakeTimeProvider(Now);
                o.ProjectCount = 600;
            });
            var id = 0;
            EmulatorProject Add(string title, int views, params EmulatorSchedule[] schedules) => world.Workspace.AddProject(title, p =>
            {
                p.Schedules = schedules;
                p.AppViews = new EmulatorAppViews(views, views, views, views);
                p.LastViewedAt = Now.AddDays(-2);
                p.CreatedAt = Now.AddDays(-100 + id);
            }, $"00000000-0000-4000-8000-{++id:000000000000}");
            Add("Revenue dashboard", 50, EmulatorSchedule.Daily(6, 0));
            Add("Copy of Revenue Dashboard", 3, EmulatorSchedule.Daily(7, 0));
            Add("Revenue dashboard (2)", 3, EmulatorSchedule.Hourly(10));
            Add("Ops report", 9, EmulatorSchedule.Daily(6, 0));
            Add("Ops report 2", 9, EmulatorSchedule.Daily(6, 0));
            Add("Finance close", 5, EmulatorSchedule.Hourly(5), EmulatorSchedule.Weekly("FRIDAY", 17, 0), EmulatorSchedule.Daily(9, 0));
            Add("Finance close (copy)", 30, EmulatorSchedule.Daily(9, 15), EmulatorSchedule.Hourly(20), EmulatorSchedule.Monthly(1, 6, 0));
            for (var i = 0; i < 8; i++) Add("Standup numbers " + (char)('A' + i), 20, EmulatorSchedule.Daily(8, 30));
            world.Workspace.AddUser("Idle Ed", "idle.ed@example.com", "EDITOR", Now.AddDays(-45));
            world.Workspace.AddUser("Never Manager", "never@example.com", "MANAGER", null);
            return world;
        }

        private static void AssertMatchesSnapshot(string name, List<PSObject> findings)
        {
            var lines = findings.Select(f => string.Join("\t", Columns.Select(c => Cell(f.Properties[c]?.Value)))).Prepend(string.Join("\t", Columns)).ToList();
            var path = Path.Combine(Repo.Root, "tests", "HexCost.Tests", "Audit", "Snapshots", name);
            var received = Path.ChangeExtension(path, ".received.tsv");
            var expected = File.Exists(path) ? File.ReadAllLines(path) : Array.Empty<string>();
            if (expected.SequenceEqual(lines))
            {
                File.Delete(received);
                return;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllLines(received, lines);
            var firstDifference = Enumerable.Range(0, Math.Max(expected.Length, lines.Count))
                .First(i => i >= expected.Length || i >= lines.Count || expected[i] != lines[i]);
            Assert.Fail($"The audit's output differs from {path} at line {firstDifference + 1} ({lines.Count - 1} findings, {Math.Max(0, expected.Length - 1)} expected); it is in {received}.\n"
                        + $"expected: {(firstDifference < expected.Length ? expected[firstDifference] : "(end)")}\n"
                        + $"received: {(firstDifference < lines.Count ? lines[firstDifference] : "(end)")}");
        }

        private static string Cell(object? value)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            return value switch
            {
                null => "<null>",
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString()!.Replace("\t", "\\t").Replace("\n", "\\n"),
            };
        }
    }
}
