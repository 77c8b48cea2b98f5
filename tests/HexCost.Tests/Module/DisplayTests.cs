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
using HexCost.Model;
using HexCost.Reports;
using HexCost.Session;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// Display: module/HexCost.Format.ps1xml (a view per output type, tables that fit 120 columns) and the
    /// -ProjectId argument completer. The engine the tests host has no Microsoft.PowerShell.Utility (so no
    /// Get-FormatData, Format-Table or Out-String): views are read from the file, checked by the engine's own
    /// loader (FormatTable, Import-Module) and rendered through Out-Host into a 120-column test host.
    /// </summary>
    public class DisplayTests
    {
        private const int ConsoleWidth = 120;

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
            var manifest = host.Run("Test-ModuleManifest -Path $args[0] -ErrorAction Stop", Repo.Manifest).ThrowIfErrors().Output.Single();
            var declared = ((System.Collections.IEnumerable)manifest.Prop<object>("ExportedFormatFiles")).Cast<object>().Select(o => o.ToString()!).ToArray();
            Assert.Equal(Path.GetFullPath(FormatFile), Path.GetFullPath(Assert.Single(declared)));

            host.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest).ThrowIfErrors();
            var loaded = host.Run("(Get-Module HexCost).ExportedFormatFiles").ThrowIfErrors().Output.Select(o => o.ToString()).ToArray();
            Assert.Equal(Path.GetFullPath(FormatFile), Path.GetFullPath(Assert.Single(loaded)));
        }

        [Fact]
        public void The_package_step_ships_the_format_file_beside_the_manifest()
        {
            // The build assembles module/HexCost (the PackageModule target of HexCost.Commands.csproj; build.ps1 -Task Package checks it).
            var package = Path.Combine(Repo.Root, "module", "HexCost");
            Assert.Equal(File.ReadAllBytes(FormatFile), File.ReadAllBytes(Path.Combine(package, "HexCost.Format.ps1xml")));
            Assert.Matches(@"(?m)^\s*FormatsToProcess\s*=\s*@\('HexCost\.Format\.ps1xml'\)", File.ReadAllText(Path.Combine(package, "HexCost.psd1")));
        }

        // ---- (b) tables fit 120 columns ----

        [Fact]
        public void Table_views_fit_120_columns()
        {
            foreach (var view in Views().Where(v => v.Control == "TableControl"))
            {
                Assert.NotEmpty(view.Headers);
                Assert.Equal(view.Headers.Count, view.Items.Count);
                Assert.All(view.Headers, h => Assert.True(h.Width > 0, $"{view.TypeName}: column {h.Label} has no width (it would take the rest of the line)."));
                Assert.All(view.Headers, h => Assert.True(h.Label.Length <= h.Width, $"{view.TypeName}: label {h.Label} is wider than its column ({h.Width})."));
                // Out-Host puts one space between columns.
                var total = view.Headers.Sum(h => h.Width) + view.Headers.Count - 1;
                Assert.True(total <= ConsoleWidth, $"{view.TypeName}: the columns need {total} characters, more than {ConsoleWidth}.");
            }
        }

        [Fact]
        public async Task Out_Host_at_120_columns_uses_each_view_and_shows_every_column()
        {
            await using var world = await HexWorld.StartAsync();
            using var console = new TestConsole(ConsoleWidth);
            console.Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest);
            var session = console.Run("Connect-Hex -Token $args[0] -BaseUri $args[1] -StatePath $args[2] -RateLimit $args[3] -PassThru",
                HexWorld.Secure(world.Emulator.Token), world.Emulator.BaseUri, world.State.Path, HexWorld.FastLimits).Single();
            var project = console.Run("Get-HexProject").First();

            var samples = new Dictionary<string, object>
            {
                ["HexCost.Project"] = project,
                ["HexCost.Session"] = session,
                ["HexCost.Run"] = Typed(new HexRun
                {
                    ProjectId = Guid.NewGuid().ToString(), RunId = Guid.NewGuid().ToString(), Status = "UNABLE_TO_ALLOCATE_KERNEL",
                    StartTime = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc), ElapsedSeconds = 4000.4, FromCache = true,
                }, "HexCost.Run"),
                ["HexCost.ScheduleFinding"] = Typed(new ScheduleFinding
                {
                    Rule = "ScheduledButArchived", Severity = "Critical", ProjectId = Guid.NewGuid().ToString(), ProjectTitle = new string('T', 80),
                    Cadence = "HOURLY;DAILY;WEEKLY", RunsPerWeek = 168.25, RecommendedCadence = "Consolidate into " + Guid.NewGuid(),
                    EstimatedRunsSavedPerWeek = 161.25, EstimatedMonthlySavings = 12345.67m, Evidence = new string('e', 300),
                }, "HexCost.ScheduleFinding"),
                ["HexCost.CreditBalance"] = Typed(new CreditBalance
                {
                    UserId = Guid.NewGuid().ToString(), Email = "someone.with.a.long.name@example.com", SeatType = "Explorer", MonthlyGrant = 40,
                    CreditsUsed = 123456.5m, GrantRemaining = 0, DrawnFromPool = 123416.5m, ProjectedCycleUse = 234567.8m,
                    ProjectedExhaustionDate = new DateTime(2025, 3, 9, 0, 0, 0, DateTimeKind.Utc), UsageSource = "Threads+Import",
                }, "HexCost.CreditBalance"),
                ["HexCost.CreditSummary"] = Typed(new CreditSummary { Plan = "Team", TotalGrant = 400, AlertLevel = "90%", Evidence = "evidence" }, "HexCost.CreditSummary"),
                ["HexCost.SpendPolicy"] = Typed(new SpendPolicy { MonthlyAddOnLimit = 500, HexEnforced = "runs", SetInHex = "limit 500" }, "HexCost.SpendPolicy"),
                ["HexCost.SpendPolicyChange"] = Typed(new SpendPolicyChange
                {
                    ChangedAt = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc), ChangedBy = "someone.with.a.long.name@example.com",
                    Field = "MaxRunsPerProjectPerWeek", OldValue = new string('1', 40), NewValue = new string('2', 40),
                }, "HexCost.SpendPolicyChange"),
                ["HexCost.RunReport"] = Typed(new RunReport
                {
                    ProjectId = Guid.NewGuid().ToString(), Triggered = 123456, CacheHits = 1234567, Adopted = 12, Completed = 123456, Failed = 12,
                    Forced = 12, ThrottledSeconds = 12345.67, PercentOfBudget = 150.25,
                }, "HexCost.RunReport"),
                ["HexCost.CreditUsageImport"] = Typed(new CreditUsageImport
                {
                    Path = "/very/long/path/" + new string('d', 80) + "/hex-usage-2025-03.csv", Rows = 1234567, Imported = 1234567,
                    Duplicates = 12, Rejected = 3, CreditsImported = 1234567.5m,
                }, "HexCost.CreditUsageImport"),
                ["HexCost.CostReport"] = Typed(new CostReportFile
                {
                    Path = "/very/long/path/" + new string('d', 80) + "/hex-cost-2025-03.html", Bytes = 1234567890, Findings = 12345, Users = 1234,
                    RunsSavedPerWeek = 12345.67, CreditSource = "Threads+Import", GeneratedAt = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc),
                }, "HexCost.CostReport"),
            };
            Assert.Equal(OutputTypes.Select(t => t.TypeName).OrderBy(n => n), samples.Keys.OrderBy(n => n));

            foreach (var view in Views())
            {
                var sample = samples[view.TypeName];
                Assert.Contains(view.TypeName, PSObject.AsPSObject(sample).TypeNames);
                var lines = console.Render(sample);
                Assert.All(lines, line => Assert.True(line.Length <= ConsoleWidth, $"{view.TypeName}: a line of {line.Length} characters: {line}"));
                if (view.Control == "TableControl")
                {
                    // The header is this view's labels, in order, and the dashes under it show every column was kept.
                    var header = lines.First(l => l.Trim().Length > 0);
                    var at = 0;
                    foreach (var column in view.Headers)
                    {
                        var found = header.IndexOf(column.Label, at, StringComparison.Ordinal);
                        Assert.True(found >= 0, $"{view.TypeName}: no column {column.Label} in '{header}'.");
                        at = found + column.Label.Length;
                    }
                    var dashes = lines.First(l => l.TrimStart().StartsWith("-", StringComparison.Ordinal));
                    Assert.Equal(view.Headers.Count, dashes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
                }
                else
                {
                    var labels = lines.Where(l => l.Contains(" : ", StringComparison.Ordinal)).Select(l => l.Substring(0, l.IndexOf(" : ", StringComparison.Ordinal)).Trim()).ToArray();
                    Assert.Equal(view.Items.Select(i => i.Property!).ToArray(), labels);
                }
            }

            // The run view shows the start as stored (UTC) and the duration as a time span.
            var run = string.Join("\n", console.Render(samples["HexCost.Run"]));
            Assert.Contains("2025-03-04 05:06", run);
            Assert.Contains("01:06:40", run);

            // Views only change the display: the objects keep every property.
            var properties = console.Run("$args[0].PSObject.Properties.Name", samples["HexCost.ScheduleFinding"]).Select(o => o.ToString()).ToArray();
            Assert.Equal(typeof(ScheduleFinding).GetProperties().Select(p => p.Name).OrderBy(n => n), properties.OrderBy(n => n));
        }

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

        private sealed record Item(string? Property, string? Script);

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
                    .Cast<XmlElement>().Select(i => new Item(i["PropertyName"]?.InnerText.Trim(), i["ScriptBlock"]?.InnerText)).ToList();
                foreach (var typeName in typeNames) views.Add(new View(typeName, control!.Name, headers, items));
            }
            return views;
        }

        /// <summary>A runspace whose host is a 120-column console that records what Out-Host writes.</summary>
        private sealed class TestConsole : IDisposable
        {
            private readonly ConsoleHost _host;
            private readonly Runspace _runspace;

            public TestConsole(int width)
            {
                _host = new ConsoleHost(width);
                _runspace = RunspaceFactory.CreateRunspace(_host, InitialSessionState.CreateDefault2());
                _runspace.Open();
            }

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
                Run("$args[0] | Out-Host", value);
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
