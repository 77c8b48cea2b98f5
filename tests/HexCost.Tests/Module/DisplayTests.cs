using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using System.Xml;
using HexCost.Api;
using HexCost.Credits;
using HexCost.Model;
using HexCost.Reports;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// Display: module/HexCost.Format.ps1xml (a view per output type, tables that fit an 80-column console) and the
    /// -ProjectId argument completer. The engine the tests host has no Microsoft.PowerShell.Utility (so no
    /// Get-FormatData, Format-Table or Out-String): views are read from the file, checked by the engine's own
    /// loader (FormatTable, Import-Module) and rendered through Out-Host into 80- and 120-column test hosts.
    /// tests/Pester/Display.Tests.ps1 renders the cmdlets' own output in real pwsh, and in a real 80-column console.
    /// </summary>
    public class DisplayTests
    {
        private const int ConsoleWidth = 80;

        /// <summary>What an 80-column console gives a table: Out-Host formats for the buffer width minus one, keeping
        /// the console's last column free (Out-String -Width 80 uses all 80).</summary>
        private const int TableBudget = ConsoleWidth - 1;

        private const int WideConsoleWidth = 120;

        private static string FormatFile => Path.Combine(Repo.Root, "module", "HexCost.Format.ps1xml");

        /// <summary>Every PSTypeName HexCost writes, with the class behind it and the view kind it gets.</summary>
        private static readonly (string TypeName, Type Model, string Control)[] OutputTypes =
        {
            ("HexCost.Project", typeof(HexProject), "TableControl"),
            ("HexCost.Run", typeof(HexRun), "TableControl"),
            ("HexCost.Session", typeof(HexSession), "TableControl"),
            ("HexCost.ScheduleFinding", typeof(ScheduleFinding), "TableControl"),
            ("HexCost.CreditBalance", typeof(CreditBalance), "TableControl"),
            ("HexCost.CreditSummary", typeof(CreditSummary), "ListControl"),
            ("HexCost.SpendPolicy", typeof(SpendPolicy), "ListControl"),
            ("HexCost.SpendPolicyChange", typeof(SpendPolicyChange), "TableControl"),
            ("HexCost.RunReport", typeof(RunReport), "TableControl"),
            ("HexCost.CreditUsageImport", typeof(CreditUsageImport), "TableControl"),
            ("HexCost.CostReport", typeof(CostReportFile), "TableControl"),
            ("HexCost.StateCopy", typeof(HexCost.State.StateCopyResult), "TableControl"),
        };

        // ---- (a) a view for every output type, accepted by the engine ----

        [Fact]
        public void Every_output_type_has_a_view()
        {
            var views = Views();
            foreach (var (typeName, _, control) in OutputTypes)
            {
                var view = Assert.Single(views, v => v.TypeName == typeName);
                Assert.Equal(control, view.Control);
            }
        }

        [Fact]
        public void Every_type_name_a_cmdlet_writes_has_a_view()
        {
            var written = Directory.GetFiles(Path.Combine(Repo.Root, "src", "HexCost.Commands"), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"WriteTypedObject\([^;]*?""(HexCost\.[A-Za-z]+)""\)").Select(m => m.Groups[1].Value))
                .Distinct().OrderBy(n => n).ToArray();
            Assert.NotEmpty(written);
            var viewed = Views().Select(v => v.TypeName).ToHashSet();
            Assert.All(written, name => Assert.Contains(name, viewed));
            Assert.All(written, name => Assert.Contains(OutputTypes, t => t.TypeName == name));
        }

        [Fact]
        public void Views_name_only_properties_the_objects_have()
        {
            foreach (var view in Views())
            {
                var model = OutputTypes.Single(t => t.TypeName == view.TypeName).Model;
                var names = model.GetProperties().Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
                foreach (var item in view.Items)
                {
                    var referenced = item.Property != null ? new[] { item.Property } : Regex.Matches(item.Script!, @"\$_\.(\w+)").Select(m => m.Groups[1].Value).ToArray();
                    Assert.NotEmpty(referenced);
                    Assert.All(referenced, name => Assert.True(names.Contains(name), $"{view.TypeName}: {model.Name} has no property {name}."));
                }
            }
        }

        [Fact]
        public void The_engine_loads_the_format_file_and_the_manifest_ships_it()
        {
            // The engine's own loader: throws FormatTableLoadException, listing every error, on a bad file.
            var table = new FormatTable(new[] { FormatFile });
            Assert.NotNull(table);

            using var host = new PsHost(import: false);
            var shipped = Path.Combine(Repo.ModuleDir, "HexCost.Format.ps1xml");
            var manifest = host.Run("Test-ModuleManifest -Path $args[0] -ErrorAction Stop", Path.Combine(Repo.ModuleDir, "HexCost.psd1")).ThrowIfErrors().Output.Single();
            var declared = ((System.Collections.IEnumerable)manifest.Prop<object>("ExportedFormatFiles")).Cast<object>().Select(o => o.ToString()!).ToArray();
            Assert.Equal(shipped, Path.GetFullPath(Assert.Single(declared)));

            host.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest).ThrowIfErrors();
            var loaded = host.Run("(Get-Module HexCost).ExportedFormatFiles").ThrowIfErrors().Output.Select(o => o.ToString()).ToArray();
            Assert.Equal(shipped, Path.GetFullPath(Assert.Single(loaded)));
            Assert.Equal(File.ReadAllBytes(FormatFile), File.ReadAllBytes(shipped));
        }

        [Fact]
        public void The_package_step_ships_the_format_file_beside_the_manifest()
        {
            // The build assembles module/HexCost (the PackageModule target of HexCost.Commands.csproj; build.ps1 -Task Package checks it).
            var package = Repo.ModuleDir;
            Assert.Equal(File.ReadAllBytes(FormatFile), File.ReadAllBytes(Path.Combine(package, "HexCost.Format.ps1xml")));
            Assert.Matches(@"(?m)^\s*FormatsToProcess\s*=\s*@\('HexCost\.Format\.ps1xml'\)", File.ReadAllText(Path.Combine(package, "HexCost.psd1")));
        }

        // ---- (b) tables fit an 80-column console, and look the same at 120 ----

        [Fact]
        public void Table_views_fit_an_80_column_console_and_their_comments_state_their_width()
        {
            var comments = ViewComments();
            foreach (var view in Views().Where(v => v.Control == "TableControl"))
            {
                Assert.NotEmpty(view.Headers);
                Assert.Equal(view.Headers.Count, view.Items.Count);
                Assert.All(view.Headers, h => Assert.True(h.Width > 0, $"{view.TypeName}: column {h.Label} has no width (it would take the rest of the line)."));
                // A label wider than its column wraps onto a second header line.
                Assert.All(view.Headers, h => Assert.True(h.Label.Length <= h.Width, $"{view.TypeName}: label {h.Label} is wider than its column ({h.Width}), so the header would wrap."));
                // One space between columns; a console keeps its last column free.
                var total = view.Headers.Sum(h => h.Width) + view.Headers.Count - 1;
                Assert.True(total <= TableBudget, $"{view.TypeName}: the columns need {total} characters, more than the {TableBudget} an {ConsoleWidth}-column console gives a table.");
                Assert.Contains($"({total} columns)", comments[view.TypeName]);
                // Each column is as wide as the widest realistic value it shows.
                foreach (var header in view.Headers)
                {
                    Assert.True(RealisticWidths.TryGetValue((view.TypeName, header.Label), out var needed), $"{view.TypeName}: no realistic width known for column {header.Label}; add it to RealisticWidths.");
                    Assert.True(header.Width >= needed, $"{view.TypeName}: column {header.Label} is {header.Width} wide; realistic values need {needed}.");
                }
            }
        }

        [Fact]
        public void List_views_leave_room_for_their_values_and_wrap_long_texts_to_fit_80_columns()
        {
            foreach (var view in Views().Where(v => v.Control == "ListControl"))
            {
                // ListWriter pads every label to the longest and adds " : ".
                var labels = view.Items.Select(i => i.Label).ToList();
                var labelColumns = labels.Max(l => l.Length) + 3;
                Assert.True(labelColumns <= ConsoleWidth / 2, $"{view.TypeName}: labels take {labelColumns} of {ConsoleWidth} columns.");
                // The texts longer than a line (Out-Host would break them mid-word) are word-wrapped by the view.
                foreach (var label in LongTexts[view.TypeName])
                    Assert.True(view.Items.Single(i => i.Label == label).Script != null, $"{view.TypeName}: {label} is a long text, but the view does not word-wrap it.");
                foreach (var item in view.Items.Where(i => i.Script != null))
                {
                    // The texts a list view word-wraps: at a width that fits beside the labels in a console's 79 columns.
                    var wrap = Regex.Match(item.Script!, @"-gt (\d+)\)");
                    Assert.True(wrap.Success, $"{view.TypeName}: {item.Label} is a script but not a word wrap.");
                    Assert.True(labelColumns + int.Parse(wrap.Groups[1].Value, CultureInfo.InvariantCulture) <= TableBudget, $"{view.TypeName}: {item.Label} wraps at {wrap.Groups[1].Value}, too wide beside {labelColumns} columns of labels.");
                }
            }
        }

        [Fact]
        public async Task Out_Host_at_80_and_120_columns_uses_each_view_with_one_header_line_and_realistic_values_whole()
        {
            await using var world = await HexWorld.StartAsync();
            using var console80 = new TestConsole(ConsoleWidth);
            using var console120 = new TestConsole(WideConsoleWidth);
            console120.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest);
            console80.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest);
            var session = console80.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru",
                HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path, HexWorld.FastLimits).Single();
            var projects = console80.Run("Get-HexProject").ToArray();

            var samples = RealisticSamples(session, projects);
            Assert.Equal(OutputTypes.Select(t => t.TypeName).OrderBy(n => n), samples.Keys.OrderBy(n => n));

            foreach (var console in new[] { console80, console120 })
            {
                foreach (var view in Views())
                {
                    var (rows, values) = samples[view.TypeName];
                    Assert.All(rows, r => Assert.Contains(view.TypeName, PSObject.AsPSObject(r).TypeNames));
                    var lines = console.Render(rows);
                    var where = $"{view.TypeName} at {console.Width} columns:\n{string.Join("\n", lines)}";
                    Assert.All(lines, line => Assert.True(line.Length <= console.Width - 1, $"{where}\na line of {line.Length} characters: {line}"));
                    Assert.DoesNotContain(lines, line => line.Contains('\u2026'));
                    if (view.Control == "TableControl")
                    {
                        // One table: one dashes line, the header right above it and a blank line above that (a wrapped
                        // header would leave its first part there).
                        var dashes = Enumerable.Range(0, lines.Count).Where(i => Regex.IsMatch(lines[i], @"^\s*-+(\s+-+)*\s*$")).ToList();
                        var d = Assert.Single(dashes);
                        Assert.True(d >= 2 && lines[d - 2].Trim().Length == 0, $"{where}\nthe header is more than one line.");
                        var header = lines[d - 1];
                        var at = 0;
                        foreach (var column in view.Headers)
                        {
                            var found = header.IndexOf(column.Label, at, StringComparison.Ordinal);
                            Assert.True(found >= 0, $"{where}\nno column {column.Label} in '{header}'.");
                            at = found + column.Label.Length;
                        }
                        // Every column was kept.
                        Assert.Equal(view.Headers.Count, lines[d].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
                        // One line per object, with its values whole.
                        var body = lines.Skip(d + 1).Where(l => l.Trim().Length > 0).ToList();
                        Assert.Equal(rows.Length, body.Count);
                        for (var r = 0; r < rows.Length; r++)
                            foreach (var value in values[r])
                                Assert.True(body[r].Contains(value, StringComparison.Ordinal), $"{where}\nrow {r} does not show '{value}' whole: {body[r]}");
                    }
                    else
                    {
                        var labels = lines.Where(l => l.Length > 0 && l[0] != ' ' && l.Contains(" :", StringComparison.Ordinal)).Select(l => l.Substring(0, l.IndexOf(" :", StringComparison.Ordinal)).Trim()).ToArray();
                        Assert.Equal(view.Items.Select(i => i.Label).ToArray(), labels);
                        // Long texts are wrapped between words: each shown line is a whole run of words of the value.
                        var words = Regex.Matches(string.Join("\n", lines), @"\S+").Select(m => m.Value).ToList();
                        foreach (var value in values[0])
                        {
                            var valueWords = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                            var shown = Enumerable.Range(0, Math.Max(0, words.Count - valueWords.Length + 1)).Any(i => words.Skip(i).Take(valueWords.Length).SequenceEqual(valueWords));
                            Assert.True(shown, $"{where}\n'{value}' is not shown word by word (a word was broken across lines).");
                        }
                    }
                }
            }

            // The run view shows the duration as hh:mm:ss, hours past a day counted on.
            var run = string.Join("\n", console80.Render(samples["HexCost.Run"].Rows));
            Assert.Contains("01:06:40", run);
            Assert.Contains("25:01:01", run);

            // Views only change the display: the objects keep every property.
            var properties = console80.Run("$args[0].PSObject.Properties.Name", samples["HexCost.ScheduleFinding"].Rows[0]).Select(o => o.ToString()).ToArray();
            Assert.Equal(typeof(ScheduleFinding).GetProperties().Select(p => p.Name).OrderBy(n => n), properties.OrderBy(n => n));
        }

        [Fact]
        public void Out_Host_at_80_columns_keeps_every_column_and_one_header_line_even_for_values_too_long_to_show()
        {
            using var console = new TestConsole(ConsoleWidth);
            console.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest);
            var samples = OverlongSamples();
            foreach (var view in Views().Where(v => v.Control == "TableControl"))
            {
                var lines = console.Render(samples[view.TypeName]);
                var where = $"{view.TypeName}:\n{string.Join("\n", lines)}";
                Assert.All(lines, line => Assert.True(line.Length <= TableBudget, $"{where}\na line of {line.Length} characters: {line}"));
                var d = Assert.Single(Enumerable.Range(0, lines.Count), i => Regex.IsMatch(lines[i], @"^\s*-+(\s+-+)*\s*$"));
                Assert.True(d >= 2 && lines[d - 2].Trim().Length == 0, $"{where}\nthe header is more than one line.");
                Assert.Equal(view.Headers.Count, lines[d].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
                Assert.Single(lines.Skip(d + 1), l => l.Trim().Length > 0);
            }
        }

        /// <summary>The properties of the list views whose values run to several lines at 80 columns.</summary>
        private static readonly Dictionary<string, string[]> LongTexts = new Dictionary<string, string[]>
        {
            ["HexCost.CreditSummary"] = new[] { "Evidence" },
            ["HexCost.SpendPolicy"] = new[] { "HexEnforced", "SetInHex" },
        };

        /// <summary>
        /// The widest value each table column shows in realistic use. Ids are 36-character GUIDs; run statuses go up to
        /// UNABLE_TO_ALLOCATE_KERNEL; credits, money and counts get room for figures such as 12345.6; emails ~27 characters.
        /// </summary>
        private static readonly Dictionary<(string View, string Label), int> RealisticWidths = new Dictionary<(string, string), int>
        {
            [("HexCost.Project", "Title")] = 26, // "Pricing experiment (draft)"; longer titles are cut
            [("HexCost.Project", "ProjectId")] = 36,
            [("HexCost.Project", "Cadences")] = 14, // "MONTHLY;CUSTOM"
            [("HexCost.Run", "ProjectId")] = 36,
            [("HexCost.Run", "Status")] = 25, // UNABLE_TO_ALLOCATE_KERNEL
            [("HexCost.Run", "Elapsed")] = 8, // 25:01:01
            [("HexCost.Run", "Cached")] = 5, // False
            [("HexCost.Session", "UserEmail")] = 27,
            [("HexCost.Session", "Role")] = 8, // EXPLORER
            [("HexCost.Session", "BaseUri")] = 29, // http://127.0.0.1:65535/api/v1, https://acme.hex.tech/api/v1
            [("HexCost.Session", "IsConnected")] = 5,
            [("HexCost.ScheduleFinding", "Severity")] = 8, // Critical
            [("HexCost.ScheduleFinding", "Rule")] = 20, // ScheduledButArchived
            [("HexCost.ScheduleFinding", "Project/Owner")] = 27, // a title, or an owner's email
            [("HexCost.ScheduleFinding", "Saved/wk")] = 6, // 2016 (every 5 minutes), 161.3
            [("HexCost.ScheduleFinding", "Saved/mo")] = 9, // 12,345.67
            [("HexCost.CreditBalance", "Email")] = 27,
            [("HexCost.CreditBalance", "SeatType")] = 8, // Explorer
            [("HexCost.CreditBalance", "Used")] = 7, // 12345.6
            [("HexCost.CreditBalance", "Remaining")] = 7,
            [("HexCost.CreditBalance", "FromPool")] = 7,
            [("HexCost.CreditBalance", "Projected")] = 8, // 123456.7
            [("HexCost.SpendPolicyChange", "ChangedAt")] = 17, // 2025-03-04 05:06Z
            [("HexCost.SpendPolicyChange", "Field")] = 24, // MaxRunsPerProjectPerWeek
            [("HexCost.SpendPolicyChange", "OldValue")] = 15, // 60,70,80,90,100
            [("HexCost.SpendPolicyChange", "NewValue")] = 15,
            [("HexCost.RunReport", "ProjectId")] = 36,
            [("HexCost.RunReport", "Triggered")] = 6,
            [("HexCost.RunReport", "CacheHits")] = 6,
            [("HexCost.RunReport", "Failed")] = 5,
            [("HexCost.RunReport", "Forced")] = 5,
            [("HexCost.RunReport", "%Budget")] = 7, // 12345.6
            [("HexCost.CreditUsageImport", "Path")] = 24, // the end of the path: .../hex-usage-2025-03.csv
            [("HexCost.CreditUsageImport", "Imported")] = 7,
            [("HexCost.CreditUsageImport", "Duplicates")] = 7,
            [("HexCost.CreditUsageImport", "Rejected")] = 7,
            [("HexCost.CreditUsageImport", "CreditsImported")] = 11, // 1,234,567.5
            [("HexCost.CostReport", "Path")] = 24,
            [("HexCost.CostReport", "Findings")] = 5,
            [("HexCost.CostReport", "Users")] = 4,
            [("HexCost.CostReport", "Saved/wk")] = 7, // 12345.7
            [("HexCost.CostReport", "CreditSource")] = 14, // Threads+Import
            [("HexCost.StateCopy", "Destination")] = 38, // rediss://hexcost-state.internal:6380/2, or a path's end
            [("HexCost.StateCopy", "Copied")] = 7, // 1234567
            [("HexCost.StateCopy", "Earlier")] = 7,
            [("HexCost.StateCopy", "Docs")] = 1,
            [("HexCost.StateCopy", "Kept")] = 1,
        };

        /// <summary>Rows of every output type with the widest realistic values, and per row the texts it must show whole.</summary>
        private static Dictionary<string, (object[] Rows, string[][] Values)> RealisticSamples(PSObject session, PSObject[] projects)
        {
            string Guid() => System.Guid.NewGuid().ToString();
            var statuses = new[] { "PENDING", "RUNNING", "ERRORED", "COMPLETED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL" };
            var runs = statuses.Select((s, i) => new HexRun
            {
                ProjectId = Guid(), RunId = Guid(), Status = s, StartTime = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc),
                ElapsedSeconds = new double?[] { null, 59.6, 4000.4, 86399, 90061, 0.4 }[i], FromCache = i % 2 == 0,
            }).ToArray();
            var findings = new[]
            {
                new ScheduleFinding
                {
                    Rule = "ScheduledButArchived", Severity = "Critical", ProjectId = Guid(), ProjectTitle = "Weekly revenue by region (EU)", Cadence = "HOURLY;DAILY;WEEKLY",
                    RunsPerWeek = 2016, RecommendedCadence = "DISABLED", EstimatedRunsSavedPerWeek = 2016, Evidence = new string('e', 300),
                },
                new ScheduleFinding
                {
                    Rule = "IdleEditorSeat", Severity = "Warning", Owner = "priya.natarajan@example.com", EstimatedMonthlySavings = 12345.67m, Evidence = "idle",
                },
                new ScheduleFinding
                {
                    Rule = "DuplicateProject", Severity = "Info", ProjectId = Guid(), ProjectTitle = "Churn model (copy)", Cadence = "DAILY", RunsPerWeek = 7,
                    RecommendedCadence = "Consolidate into " + Guid(), EstimatedRunsSavedPerWeek = 161.25, Evidence = "duplicate",
                },
            };
            var balances = new[]
            {
                new CreditBalance
                {
                    UserId = Guid(), Email = "priya.natarajan@example.com", SeatType = "Explorer", MonthlyGrant = 10, CreditsUsed = 12345.6m, GrantRemaining = 0,
                    DrawnFromPool = 12335.6m, ProjectedCycleUse = 123456.7m, UsageSource = "Threads+Import",
                },
                new CreditBalance { UserId = Guid(), Email = "sam.okafor@example.com", SeatType = "Editor", MonthlyGrant = 12345.6m, CreditsUsed = 0.4m, GrantRemaining = 12345.2m },
            };
            var policy = new SpendPolicy { MonthlyAddOnLimit = 12345.6m, AlertThreshold = "60,70,80,90,100", WeeklyRunBudget = 12345, MaxRunsPerProjectPerWeek = 20, ChangedBy = "priya.natarajan@example.com" };
            SpendPolicyStore.Describe(policy);
            var summary = new CreditSummary
            {
                Plan = "Enterprise", EditorSeats = 1234, TotalGrant = 12345.6m, TotalUsed = 12345.6m, AlertLevel = "90%",
                Evidence = "Day 2 of 31: 12345.6 credits used against 170 granted (Import); 12305.6 drawn from the pool (90.8 rolled over), 124 packs of 100 bought for 1240 on add-ons (no limit set); at this pace add-ons reach 19220 by 2027-01-01 (an estimate: Hex has no balance API; pack 100 for 10).",
            };
            var changes = new[]
            {
                new SpendPolicyChange { ChangedAt = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc), ChangedBy = "priya.natarajan@example.com", Field = "MaxRunsPerProjectPerWeek", OldValue = null, NewValue = "12345" },
                new SpendPolicyChange { ChangedAt = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc), ChangedBy = "priya.natarajan@example.com", Field = "AlertThreshold", OldValue = "60,70,80,90,100", NewValue = "80,90,100" },
                new SpendPolicyChange { ChangedAt = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc), ChangedBy = "priya.natarajan@example.com", Field = "MonthlyAddOnLimit", OldValue = "12345.6", NewValue = "500" },
            };
            var report = new RunReport { ProjectId = Guid(), Triggered = 123456, CacheHits = 123456, Adopted = 12, Completed = 123456, Failed = 12345, Forced = 12345, ThrottledSeconds = 12345.67, PercentOfBudget = 12345.6 };
            var import = new CreditUsageImport { Path = "/home/finance/exports/2025/hex-usage-2025-03.csv", Rows = 1234579, Imported = 1234567, Duplicates = 1234567, Rejected = 1234567, CreditsImported = 1234567.5m };
            var file = new CostReportFile { Path = "/home/finance/reports/2025/hex-cost-2025-03.html", Bytes = 1234567890, Findings = 12345, Users = 1234, RunsSavedPerWeek = 12345.67, CreditSource = "Threads+Import" };
            var copy = new HexCost.State.StateCopyResult { Source = "/home/ops/.local/share/HexCost/workspaces/" + Guid(), Destination = "rediss://hexcost-state.internal:6380/2", RecordsCopied = 1234567, RecordsAlreadyCopied = 1234567, DocumentsCopied = 2, DocumentsKept = 2 };

            (object[], string[][]) Of<T>(string typeName, T[] rows, Func<T, string?[]> values) =>
                (rows.Select(r => (object)Typed(r!, typeName)).ToArray(), rows.Select(r => values(r).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToArray()).ToArray());
            string N(decimal? d, string format) => d.HasValue ? d.Value.ToString(format, CultureInfo.InvariantCulture) : "";
            string D(double? d, string format) => d.HasValue ? d.Value.ToString(format, CultureInfo.InvariantCulture) : "";

            return new Dictionary<string, (object[], string[][])>
            {
                ["HexCost.Project"] = (projects.Cast<object>().ToArray(), projects.Select(p => new[] { p.Prop<string>("Title"), p.Prop<string>("ProjectId"), p.Prop<string>("Cadences") }.Where(v => !string.IsNullOrEmpty(v)).ToArray()).ToArray()),
                ["HexCost.Session"] = (new object[] { session }, new[] { new[] { session.Prop<string>("UserEmail"), session.Prop<string>("Role"), session.Prop<string>("BaseUri"), "True" } }),
                ["HexCost.Run"] = Of("HexCost.Run", runs, r => new[] { r.ProjectId, r.Status, r.FromCache ? "True" : "False" }),
                ["HexCost.ScheduleFinding"] = Of("HexCost.ScheduleFinding", findings, f => new[] { f.Severity, f.Rule, f.ProjectTitle ?? f.Owner, D(f.EstimatedRunsSavedPerWeek, "0.#"), N(f.EstimatedMonthlySavings, "N2") }),
                ["HexCost.CreditBalance"] = Of("HexCost.CreditBalance", balances, b => new[] { b.Email, b.SeatType, N(b.CreditsUsed, "0.#"), N(b.GrantRemaining, "0.#"), N(b.DrawnFromPool, "0.#"), N(b.ProjectedCycleUse, "0.#") }),
                ["HexCost.CreditSummary"] = Of("HexCost.CreditSummary", new[] { summary }, s => new[] { s.Evidence }),
                ["HexCost.SpendPolicy"] = Of("HexCost.SpendPolicy", new[] { policy }, p => new[] { p.HexEnforced, p.SetInHex }),
                ["HexCost.SpendPolicyChange"] = Of("HexCost.SpendPolicyChange", changes, c => new[] { "2025-03-04 05:06Z", c.Field, c.OldValue, c.NewValue }),
                ["HexCost.RunReport"] = Of("HexCost.RunReport", new[] { report }, r => new[] { r.ProjectId, "123456", "12345", D(r.PercentOfBudget, "0.#") }),
                ["HexCost.CreditUsageImport"] = Of("HexCost.CreditUsageImport", new[] { import }, i => new[] { "/hex-usage-2025-03.csv", "1234567", N(i.CreditsImported, "N1") }),
                ["HexCost.CostReport"] = Of("HexCost.CostReport", new[] { file }, f => new[] { "/hex-cost-2025-03.html", "12345", "1234", D(f.RunsSavedPerWeek, "0.#"), f.CreditSource }),
                ["HexCost.StateCopy"] = Of("HexCost.StateCopy", new[] { copy }, c => new[] { c.Destination, "1234567", "2" }),
            };
        }

        /// <summary>One row per table type with values longer than anything realistic.</summary>
        private static Dictionary<string, object> OverlongSamples()
        {
            string Guid() => System.Guid.NewGuid().ToString();
            var longEmail = new string('x', 60) + "@example.com";
            return new Dictionary<string, object>
            {
                ["HexCost.Project"] = Typed(new ProjectRow(new string('T', 80), Guid() + Guid(), "HOURLY;DAILY;WEEKLY;MONTHLY;CUSTOM"), "HexCost.Project"),
                ["HexCost.Session"] = Typed(new { UserEmail = longEmail, Role = "EMBEDDED_USER", BaseUri = "https://" + new string('h', 80) + "/api/v1", IsConnected = true }, "HexCost.Session"),
                ["HexCost.Run"] = Typed(new HexRun { ProjectId = Guid() + Guid(), Status = new string('S', 40), ElapsedSeconds = 1e9, FromCache = true }, "HexCost.Run"),
                ["HexCost.ScheduleFinding"] = Typed(new ScheduleFinding
                {
                    Rule = new string('R', 40), Severity = new string('S', 20), ProjectTitle = new string('T', 80), EstimatedRunsSavedPerWeek = 1e12, EstimatedMonthlySavings = 1e15m,
                }, "HexCost.ScheduleFinding"),
                ["HexCost.CreditBalance"] = Typed(new CreditBalance
                {
                    Email = longEmail, SeatType = new string('S', 20), CreditsUsed = 1e15m, GrantRemaining = 1e15m, DrawnFromPool = 1e15m, ProjectedCycleUse = 1e15m,
                }, "HexCost.CreditBalance"),
                ["HexCost.SpendPolicyChange"] = Typed(new SpendPolicyChange
                {
                    ChangedAt = DateTime.UtcNow, Field = new string('F', 40), OldValue = new string('1', 40), NewValue = new string('2', 40),
                }, "HexCost.SpendPolicyChange"),
                ["HexCost.RunReport"] = Typed(new RunReport
                {
                    ProjectId = Guid() + Guid(), Triggered = int.MaxValue, CacheHits = int.MaxValue, Failed = int.MaxValue, Forced = int.MaxValue, PercentOfBudget = 1e12,
                }, "HexCost.RunReport"),
                ["HexCost.CreditUsageImport"] = Typed(new CreditUsageImport
                {
                    Path = "/very/long/path/" + new string('d', 80) + "/hex-usage-2025-03.csv", Imported = int.MaxValue, Duplicates = int.MaxValue, Rejected = int.MaxValue, CreditsImported = 1e15m,
                }, "HexCost.CreditUsageImport"),
                ["HexCost.CostReport"] = Typed(new CostReportFile
                {
                    Path = "/very/long/path/" + new string('d', 80) + "/hex-cost-2025-03.html", Findings = int.MaxValue, Users = int.MaxValue, RunsSavedPerWeek = 1e12, CreditSource = new string('C', 40),
                }, "HexCost.CostReport"),
                ["HexCost.StateCopy"] = Typed(new HexCost.State.StateCopyResult
                {
                    Destination = "/very/long/path/" + new string('d', 80), RecordsCopied = int.MaxValue, RecordsAlreadyCopied = int.MaxValue, DocumentsCopied = int.MaxValue, DocumentsKept = int.MaxValue,
                }, "HexCost.StateCopy"),
            };
        }

        /// <summary>HexProject is built from an API resource; for display only its shown properties matter.</summary>
        private sealed record ProjectRow(string Title, string ProjectId, string Cadences);

        // ---- (c) -ProjectId completes titles to ids ----

        [Fact]
        public async Task ProjectId_completes_titles_to_ids_once_Get_HexProject_has_listed_them()
        {
            await using var world = await HexWorld.StartAsync();
            var revenue = world.Workspace.Projects.Single(p => p.Title == "Revenue dashboard");
            using var host = world.Connected();

            // Nothing listed yet: no project ids offered (and no API call made).
            var requests = world.Stats.TotalRequests;
            Assert.DoesNotContain(Complete(host, "Invoke-HexRun -ProjectId Rev"), c => c.CompletionText == revenue.Id);
            Assert.Equal(requests, world.Stats.TotalRequests);

            host.Run("$null = Get-HexProject").ThrowIfErrors();
            requests = world.Stats.TotalRequests;

            var matches = Complete(host, "Invoke-HexRun -ProjectId Rev");
            var match = Assert.Single(matches);
            Assert.Equal(revenue.Id, match.CompletionText);
            Assert.Equal("Revenue dashboard", match.ListItemText);
            Assert.Contains("Revenue dashboard", match.ToolTip);
            Assert.Equal(CompletionResultType.ParameterValue, match.ResultType);

            // Every -ProjectId that names one project; case-insensitive; by id prefix; wildcards; quoted input.
            foreach (var command in new[] { "Get-HexRun", "Stop-HexRun", "Get-HexProject", "Get-HexScheduleAudit" })
                Assert.Equal(revenue.Id, Assert.Single(Complete(host, command + " -ProjectId rEV")).CompletionText);
            Assert.Equal(revenue.Id, Assert.Single(Complete(host, "Get-HexRun " + revenue.Id.Substring(0, 8))).CompletionText);
            Assert.Contains(Complete(host, "Get-HexRun -ProjectId *dashboard"), c => c.CompletionText == revenue.Id);
            Assert.Equal("'" + revenue.Id + "'", Assert.Single(Complete(host, "Get-HexRun -ProjectId 'Revenue d")).CompletionText);
            Assert.Equal("\"" + revenue.Id + "\"", Assert.Single(Complete(host, "Get-HexRun -ProjectId \"revenue")).CompletionText);
            var all = Complete(host, "Get-HexProject -ProjectId ");
            Assert.Equal(world.Workspace.Projects.Count(p => p.ArchivedAt == null && p.TrashedAt == null && p.Type == "PROJECT"), all.Count);
            Assert.Equal(all.Select(c => c.ListItemText).OrderBy(t => t, StringComparer.CurrentCultureIgnoreCase), all.Select(c => c.ListItemText));
            Assert.Equal(requests, world.Stats.TotalRequests);

            // The titles belong to the account: another runspace connected to it completes them too.
            using var other = world.Connected();
            Assert.Equal(revenue.Id, Assert.Single(Complete(other, "Invoke-HexRun -ProjectId Rev")).CompletionText);
        }

        [Fact]
        public async Task A_title_needing_quotes_still_inserts_the_bare_id_and_duplicates_are_told_apart()
        {
            await using var world = await HexWorld.StartAsync();
            var first = world.NewProject("Zeta's $pecial (ops) report");
            var second = world.NewProject("Zeta's $pecial (ops) report");
            using var host = world.Connected();
            host.Run("$null = Get-HexProject").ThrowIfErrors();
            var matches = Complete(host, "Invoke-HexRun -ProjectId zeta");
            Assert.Equal(new[] { first.Id, second.Id }.OrderBy(i => i), matches.Select(m => m.CompletionText).OrderBy(i => i));
            Assert.All(matches, m => Assert.StartsWith("Zeta's $pecial (ops) report (", m.ListItemText));
            Assert.Equal(2, matches.Select(m => m.ListItemText).Distinct().Count());
        }

        [Fact]
        public void ProjectId_completion_without_a_session_offers_no_ids()
        {
            using var host = new PsHost();
            var result = host.Run("TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length", "Invoke-HexRun -ProjectId Rev");
            Assert.Empty(result.AllErrors);
            var matches = (CommandCompletion)result.Output.Single().BaseObject;
            Assert.All(matches.CompletionMatches, m => Assert.NotEqual(CompletionResultType.ParameterValue, m.ResultType));
        }

        // ---- (d) -Rule and -Plan complete through their ValidateSet ----

        [Fact]
        public void Rule_and_Plan_complete_from_their_ValidateSet()
        {
            using var host = new PsHost();
            Assert.Equal("OverScheduled", Assert.Single(Complete(host, "Get-HexScheduleAudit -Rule Over")).CompletionText);
            Assert.Contains(Complete(host, "Get-HexScheduleAudit -Rule OverScheduled, Dup"), c => c.CompletionText == "DuplicateProject");
            Assert.Equal("Team", Assert.Single(Complete(host, "Get-HexCreditBalance -Plan Te")).CompletionText);
        }

        // ---- the account's cache ----

        [Fact]
        public void ProjectNameCache_is_thread_safe_case_insensitive_and_bounded()
        {
            var cache = new ProjectNameCache(capacity: 1000);
            Parallel.For(0, 2000, i => cache.Remember("ID-" + (i % 1500), "Title " + i));
            Assert.Equal(1000, cache.Count);
            var known = cache.Snapshot()[0].Key;
            cache.Remember(known.ToLowerInvariant(), "Renamed");
            Assert.Equal(1000, cache.Count);
            Assert.True(cache.TryGetTitle(known, out var title));
            Assert.Equal("Renamed", title);
            cache.Remember("", "ignored");
            cache.Remember(null, "ignored");
            Assert.Equal(1000, cache.Count);
            Assert.True(cache.Forget(known));
            Assert.Equal(999, cache.Count);
        }

        // ---- helpers ----

        private static List<CompletionResult> Complete(PsHost host, string input)
        {
            var result = host.Run("TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length", input).ThrowIfErrors();
            return ((CommandCompletion)result.Output.Single().BaseObject).CompletionMatches.ToList();
        }

        private static PSObject Typed(object value, string typeName)
        {
            var wrapped = PSObject.AsPSObject(value);
            wrapped.TypeNames.Insert(0, typeName);
            return wrapped;
        }

        private sealed record Header(string Label, int Width);

        private sealed record Item(string? Property, string? Script, string Label);

        private sealed record View(string TypeName, string Control, List<Header> Headers, List<Item> Items);

        private static List<View> Views()
        {
            var document = new XmlDocument();
            document.Load(FormatFile);
            var views = new List<View>();
            foreach (XmlElement view in document.SelectNodes("/Configuration/ViewDefinitions/View")!)
            {
                var typeNames = view.SelectNodes("ViewSelectedBy/TypeName")!.Cast<XmlElement>().Select(e => e.InnerText.Trim()).ToList();
                var control = view.SelectSingleNode("TableControl|ListControl|WideControl|CustomControl") as XmlElement;
                Assert.NotNull(control);
                var headers = view.SelectNodes("TableControl/TableHeaders/TableColumnHeader")!.Cast<XmlElement>()
                    .Select(h => new Header(h["Label"]?.InnerText ?? "", int.TryParse(h["Width"]?.InnerText, NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : 0))
                    .ToList();
                var items = view.SelectNodes("TableControl/TableRowEntries/TableRowEntry/TableColumnItems/TableColumnItem|ListControl/ListEntries/ListEntry/ListItems/ListItem")!
                    .Cast<XmlElement>().Select(i => new Item(i["PropertyName"]?.InnerText.Trim(), i["ScriptBlock"]?.InnerText, (i["Label"]?.InnerText ?? i["PropertyName"]?.InnerText ?? "").Trim())).ToList();
                foreach (var typeName in typeNames) views.Add(new View(typeName, control!.Name, headers, items));
            }
            return views;
        }

        /// <summary>The comment before each view (each states a table's width, "(N columns)").</summary>
        private static Dictionary<string, string> ViewComments()
        {
            var document = new XmlDocument();
            document.Load(FormatFile);
            var comments = new Dictionary<string, string>();
            foreach (XmlElement view in document.SelectNodes("/Configuration/ViewDefinitions/View")!)
            {
                var before = view.PreviousSibling;
                while (before is XmlWhitespace) before = before.PreviousSibling;
                var text = before is XmlComment comment ? Regex.Replace(comment.Value ?? "", @"\s+", " ") : "";
                foreach (XmlElement typeName in view.SelectNodes("ViewSelectedBy/TypeName")!) comments[typeName.InnerText.Trim()] = text;
            }
            return comments;
        }

        /// <summary>A runspace whose host is a console of the given width that records what Out-Host writes.</summary>
        private sealed class TestConsole : IDisposable
        {
            private readonly ConsoleHost _host;
            private readonly Runspace _runspace;

            public TestConsole(int width)
            {
                Width = width;
                _host = new ConsoleHost(width);
                _runspace = RunspaceFactory.CreateRunspace(_host, InitialSessionState.CreateDefault2());
                _runspace.Open();
            }

            public int Width { get; }

            public List<PSObject> Run(string script, params object?[] args)
            {
                using var ps = System.Management.Automation.PowerShell.Create();
                ps.Runspace = _runspace;
                ps.AddScript(script);
                foreach (var arg in args) ps.AddArgument(arg);
                var output = ps.Invoke().ToList();
                if (ps.Streams.Error.Count > 0) throw new InvalidOperationException("PowerShell error: " + ps.Streams.Error[0]);
                return output;
            }

            public List<string> Render(object value)
            {
                _host.Ui.Text.Clear();
                // One argument (an array is piped as its elements).
                Run("$args[0] | Out-Host", new object?[] { value });
                var text = Regex.Replace(_host.Ui.Text.ToString(), "\u001b\\[[0-9;?]*[A-Za-z]", "");
                return text.Replace("\r\n", "\n").Split('\n').ToList();
            }

            public void Dispose() => _runspace.Dispose();
        }

        private sealed class ConsoleHost : PSHost
        {
            private readonly Guid _id = Guid.NewGuid();

            public ConsoleHost(int width) => Ui = new ConsoleUi(width);

            public ConsoleUi Ui { get; }
            public override PSHostUserInterface UI => Ui;
            public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
            public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
            public override Guid InstanceId => _id;
            public override string Name => "HexCost.Tests.ConsoleHost";
            public override Version Version => new Version(1, 0);
            public override void EnterNestedPrompt() => throw new NotSupportedException();
            public override void ExitNestedPrompt() => throw new NotSupportedException();
            public override void NotifyBeginApplication() { }
            public override void NotifyEndApplication() { }
            public override void SetShouldExit(int exitCode) { }
        }

        private sealed class ConsoleUi : PSHostUserInterface
        {
            private readonly ConsoleRawUi _raw;

            public ConsoleUi(int width) => _raw = new ConsoleRawUi(width);

            public StringBuilder Text { get; } = new StringBuilder();
            public override PSHostRawUserInterface RawUI => _raw;
            public override void Write(string value) => Text.Append(value);
            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Text.Append(value);
            public override void WriteLine(string value) => Text.Append(value).Append('\n');
            public override void WriteErrorLine(string value) { }
            public override void WriteDebugLine(string message) { }
            public override void WriteProgress(long sourceId, ProgressRecord record) { }
            public override void WriteVerboseLine(string message) { }
            public override void WriteWarningLine(string message) { }
            public override string ReadLine() => throw new NotSupportedException();
            public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
            public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw new NotSupportedException();
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
            public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw new NotSupportedException();
        }

        private sealed class ConsoleRawUi : PSHostRawUserInterface
        {
            private readonly Size _size;

            public ConsoleRawUi(int width) => _size = new Size(width, 50);

            public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
            public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
            public override Size BufferSize { get => new Size(_size.Width, 9999); set { } }
            public override Coordinates CursorPosition { get; set; }
            public override int CursorSize { get; set; } = 1;
            public override bool KeyAvailable => false;
            public override Size MaxPhysicalWindowSize => _size;
            public override Size MaxWindowSize => _size;
            public override Coordinates WindowPosition { get; set; }
            public override Size WindowSize { get => _size; set { } }
            public override string WindowTitle { get; set; } = "";
            public override void FlushInputBuffer() { }
            public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
            public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
            public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();
            public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();
            public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();
        }
    }
}
