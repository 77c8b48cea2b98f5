using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using HexCost.Emulator;
using HexCost.Ledger;
using HexCost.Model;
using HexCost.Reports;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Reports
{
    /// <summary>Export-HexCostReport against the emulator: one self-contained, encoded, token-free page that Chromium renders.</summary>
    public class ReportTests
    {
        private const string EvilTitle = "<b>Evil & \"quoted\"</b>";
        private static readonly Regex Links = new Regex(@"\b(?:src|href|xlink:href|action|poster|data)\s*=\s*(?:""([^""]*)""|'([^']*)'|([^\s>]+))", RegexOptions.IgnoreCase);

        [Fact]
        public async Task The_report_is_one_self_contained_page_with_every_section_and_renders_in_Chromium()
        {
            var chromium = Chromium(); // fail first, not after a minute of setup, when it is missing
            await using var world = await HexWorld.StartAsync();
            var evil = world.NewProject(EvilTitle, p =>
            {
                p.Schedules = new[] { EmulatorSchedule.Hourly(5) };
                p.AppViews = new EmulatorAppViews(100, 10, 20, 40);
                p.LastViewedAt = TestClock.Now.AddDays(-1);
            });
            var failing = world.NewProject("Failing nightly load", p => p.RunOutcome = "ERRORED");
            var heavy = world.Workspace.AddUser("Heavy User", "heavy.user@example.com", "EDITOR", TestClock.Now);
            world.Workspace.AddThread(heavy.Id, 65, TestClock.Now.AddMinutes(-20));
            using var host = world.Connected();
            host.Run("Set-HexSpendLimit -MonthlyAddOnLimit 50 -WeeklyRunBudget 200 -MaxRunsPerProjectPerWeek 40").ThrowIfErrors();
            host.Run("Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait | Out-Null; Invoke-HexRun -ProjectId $args[0] -SourceVersion v1 -Wait | Out-Null", evil.Id).ThrowIfErrors();
            var failed = host.Run("Invoke-HexRun -ProjectId $args[0] -Wait", failing.Id);
            Assert.StartsWith("HexRunFailed,", Assert.Single(failed.Errors).FullyQualifiedErrorId);
            SeedHistory(world, evil.Id, failing.Id);

            var path = Path.Combine(world.State.Path, "report.html");
            var result = host.Run("Export-HexCostReport -Path $args[0] -Plan Team -Days 7 -PassThru", path);
            result.ThrowIfErrors();

            var written = Assert.Single(result.Output);
            Assert.Contains("HexCost.CostReport", written.TypeNames);
            Shape.AssertFlat(written);
            Assert.Equal(path, written.Prop<string>("Path"));
            Assert.Equal(new FileInfo(path).Length, written.Prop<long>("Bytes"));
            Assert.True(written.Prop<int>("Findings") >= 2, "the demo workspace and the hourly project give findings");
            Assert.Equal(world.Workspace.Users.Count, written.Prop<int>("Users"));
            Assert.Equal("Threads", written.Prop<string>("CreditSource"));
            Assert.Contains(result.Progress, p => p.Activity == "Exporting HexCost report" && p.RecordType == System.Management.Automation.ProgressRecordType.Completed);

            var html = File.ReadAllText(path);
            Assert.StartsWith("<!DOCTYPE html>", html);
            Assert.Contains("<meta charset=\"utf-8\">", html);

            // Self-contained: no script at all, no style sheet, font or image from elsewhere; the only http(s) links are Hex run links.
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<iframe", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
            var runLink = new Regex("^" + Regex.Escape(world.Emulator.BaseUri.GetLeftPart(UriPartial.Authority)) + "/hex/[^/]+/run/[^/]+$");
            var links = Links.Matches(html).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value).ToList();
            Assert.All(links, link => Assert.True(link.StartsWith("#", StringComparison.Ordinal) || runLink.IsMatch(link), $"unexpected link {link}"));
            Assert.Contains(links, link => runLink.IsMatch(link) && link.Contains(failing.Id, StringComparison.Ordinal));
            var api = world.Emulator.BaseUri.AbsoluteUri.TrimEnd('/');
            foreach (Match m in Regex.Matches(html, @"https?://[^\s""'<>]+")) // in text too: run links, and the API base the header names
                Assert.True(runLink.IsMatch(m.Value) || m.Value.TrimEnd('/') == api, $"unexpected address {m.Value}");

            // Every section, with charts.
            foreach (var section in new[] { "id=\"audit\"", "id=\"credits\"", "id=\"policy\"", "id=\"runs\"" }) Assert.Contains(section, html);
            foreach (var heading in new[] { "Schedule audit", "AI credits", "Spend policy", "Runs over time" }) Assert.Contains(heading, html);
            Assert.True(Regex.Matches(html, "<svg").Count >= 3, "a chart for the audit, the credits and the runs");
            Assert.Contains("Runs saved per week by rule", html);
            Assert.Contains("Credits used against each user", html);
            Assert.Contains("Runs per day", html);
            Assert.Contains("OverScheduled", html);
            Assert.Contains("heavy.user@example.com", html);
            Assert.Contains("Monthly add-on limit", html);
            Assert.Contains("Settings &gt; Billing &amp; Credits", html); // the policy's "set in Hex" line, encoded
            Assert.Contains("Failing nightly load", html);                // a ledger project named from its title
            Assert.Contains("ERRORED", html);

            // User data is encoded wherever it appears (tables, SVG labels and tooltips).
            Assert.Contains("&lt;b&gt;Evil &amp; &quot;quoted&quot;&lt;/b&gt;", html);
            Assert.DoesNotContain("<b>Evil", html);
            Assert.DoesNotContain("Evil & \"", html);

            // No secret of the session.
            Assert.DoesNotContain(world.Emulator.Token, html);
            Assert.DoesNotContain("Bearer", html, StringComparison.OrdinalIgnoreCase);

            // Chromium renders it into a screenshot that is not blank.
            var png = Path.Combine(world.State.Path, "report.png");
            Screenshot(chromium, path, png, world.State.Path);
            var image = Png.Read(png);
            Assert.True(new FileInfo(png).Length > 10 * 1024, $"the screenshot is only {new FileInfo(png).Length} bytes");
            Assert.Equal((1280, 2000), (image.Width, image.Height));
            Assert.True(image.DistinctColors > 50, $"the screenshot has only {image.DistinctColors} colours");
            Assert.True(image.DominantShare < 0.95, $"{image.DominantShare:P0} of the screenshot is one colour");
            Assert.True(image.RowsWithInk(0, 1000) > 300 && image.RowsWithInk(1000, 2000) > 300, "text and charts fill the page from top to bottom");
            Keep(path, png);
        }

        [Fact]
        public async Task Without_the_Manager_role_credits_come_from_imported_usage_and_the_page_says_so()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 3);
            world.Workspace.SetUser(world.Workspace.TokenUser with { Role = "EDITOR" });
            var csv = Path.Combine(world.State.Path, "usage.csv");
            File.WriteAllText(csv, "Date,Email,Credits\n" + TestClock.Now.AddMinutes(-10).ToString("o") + "," + world.Workspace.TokenUser.Email + ",7\n");
            using var host = world.Connected();
            host.Run("Import-HexCreditUsage $args[0]", csv).ThrowIfErrors();

            var path = Path.Combine(world.State.Path, "editor.html");
            var result = host.Run("Export-HexCostReport $args[0] -PassThru", path);
            result.ThrowIfErrors();
            Assert.Contains(result.Warnings, w => w.Contains("ListThreads (403)", StringComparison.Ordinal));
            var written = Assert.Single(result.Output);
            Assert.Equal("Import", written.Prop<string>("CreditSource"));
            Assert.True(written.Prop<int>("Users") > 0);

            var html = File.ReadAllText(path);
            Assert.Contains("Hex refused ListThreads (403)", html);
            Assert.Contains("UsageOnly", html);
            Assert.Contains("imported usage exports", html);
            Assert.Contains("(assumed: pass -Plan to set it)", html);
            Assert.DoesNotContain(world.Emulator.Token, html);
        }

        [Fact]
        public async Task WhatIf_writes_nothing_and_asks_Hex_nothing()
        {
            await using var world = await HexWorld.StartAsync(o => o.ProjectCount = 2);
            using var host = world.Connected();
            var before = world.Stats.RequestsFor("ListProjects");
            var path = Path.Combine(world.State.Path, "whatif.html");
            host.Run("Export-HexCostReport -Path $args[0] -WhatIf", path).ThrowIfErrors();
            Assert.False(File.Exists(path));
            Assert.Equal(before, world.Stats.RequestsFor("ListProjects"));

            var missing = host.Run("Export-HexCostReport -Path $args[0]", Path.Combine(world.State.Path, "no-such-folder", "r.html"));
            Assert.StartsWith("HexReportPathInvalid,", missing.Terminating?.FullyQualifiedErrorId);
        }

        [Fact]
        public void Credentials_in_the_base_URI_and_run_links_never_reach_the_page_and_only_http_links_survive()
        {
            var now = TestClock.Now;
            var data = new CostReportData
            {
                GeneratedAt = now,
                OrgId = "org-1",
                BaseUri = "https://admin:s3cret-pass@hex.example.com/api/v1?token=query-secret#frag",
                Findings = new[] { new ScheduleFinding { Rule = "OverScheduled", Severity = "Critical", ProjectId = "p1", ProjectTitle = "<script>alert(1)</script>", EstimatedRunsSavedPerWeek = 5, Evidence = "x' onmouseover='y" } },
                CreditsNote = "failed at https://bob:hunter2@hex.example.com/api/v1/threads",
                Policy = new SpendPolicy(),
                Runs = RunLedgerSummary.FromLedger(new[]
                {
                    new LedgerRecord { Type = LedgerRecordTypes.Complete, At = now, ProjectId = "p1", RunId = "r1", Status = "ERRORED", RunUrl = "https://u:pw-in-link@app.hex.tech/org/hex/p1/run/r1" },
                    new LedgerRecord { Type = LedgerRecordTypes.Complete, At = now, ProjectId = "p1", RunId = "r2", Status = "KILLED", RunUrl = "javascript:alert(2)" },
                }, now, 3),
            };
            var html = CostReportHtml.Render(data);
            foreach (var secret in new[] { "s3cret-pass", "admin:", "query-secret", "frag", "hunter2", "bob:", "pw-in-link", "u:pw", "javascript:", "<script" })
                Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
            Assert.Contains("https://hex.example.com/api/v1", html);
            Assert.Contains("href=\"https://app.hex.tech/org/hex/p1/run/r1\"", html);
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
            Assert.Contains("x&#39; onmouseover=&#39;y", html);
            Assert.Contains("Credit balances could not be computed: failed at https://hex.example.com/api/v1/threads", html);
        }

        [Fact]
        public void The_ledger_is_counted_per_UTC_day_the_way_Get_HexRunReport_counts()
        {
            var now = new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
            LedgerRecord R(string type, double daysAgo, string? outcome = null, string? status = null, string? note = null) =>
                new LedgerRecord { Type = type, At = now.AddDays(-daysAgo), ProjectId = "p", Outcome = outcome, Status = status, Note = note };
            var summary = RunLedgerSummary.FromLedger(new[]
            {
                R(LedgerRecordTypes.Trigger, 0, TriggerOutcomes.Created),
                R(LedgerRecordTypes.Trigger, 0, TriggerOutcomes.Created, note: "DryRun"),
                R(LedgerRecordTypes.Trigger, 0, TriggerOutcomes.Rejected),
                R(LedgerRecordTypes.Adopt, 1),
                R(LedgerRecordTypes.CacheHit, 1),
                R(LedgerRecordTypes.Complete, 1, status: "COMPLETED"),
                R(LedgerRecordTypes.Complete, 2.4, status: "KILLED"),
                R(LedgerRecordTypes.Trigger, 2.6, TriggerOutcomes.Created), // 2026-03-07 21:36: before the 3-day window
            }, now, 3);
            Assert.Equal(new[] { new DateTime(2026, 3, 8), new DateTime(2026, 3, 9), new DateTime(2026, 3, 10) }, summary.Days.Select(d => d.Day));
            Assert.Equal(new[] { 0, 1, 1 }, summary.Days.Select(d => d.Triggered));
            Assert.Equal(new[] { 0, 1, 0 }, summary.Days.Select(d => d.CacheHits));
            Assert.Equal(new[] { 0, 1, 0 }, summary.Days.Select(d => d.Completed));
            Assert.Equal(new[] { 1, 0, 0 }, summary.Days.Select(d => d.Failed));
            Assert.Equal((2, 1, 1), (summary.Projects.Single().Triggered, summary.Projects.Single().CacheHits, summary.Projects.Single().Failed));
        }

        [Fact]
        public void A_long_period_is_charted_as_lines_and_sections_that_failed_say_why()
        {
            var now = TestClock.Now;
            var records = Enumerable.Range(0, 90).SelectMany(d => Enumerable.Range(0, d % 7 + 1).Select(i =>
                new LedgerRecord { Type = i % 3 == 2 ? LedgerRecordTypes.CacheHit : LedgerRecordTypes.Trigger, At = now.AddDays(-d), ProjectId = "p", Outcome = TriggerOutcomes.Created }));
            var html = CostReportHtml.Render(new CostReportData
            {
                GeneratedAt = now, OrgId = "org-1", Runs = RunLedgerSummary.FromLedger(records, now, 90),
                AuditNote = "Hex answered 500", CreditsNote = "Hex refused ListUsers (403)", PolicyNote = "The spend policy file is damaged",
            });
            Assert.Equal(3, Regex.Matches(html, "<polyline").Count);
            Assert.DoesNotContain("<h3>Per day</h3>", html);
            Assert.Contains("The schedule audit could not run: Hex answered 500.", html);
            Assert.Contains("Credit balances could not be computed: Hex refused ListUsers (403).", html);
            Assert.Contains("The spend policy could not be read: The spend policy file is damaged.", html);
            Assert.Contains("<svg", html);
            var keep = Path.Combine(Path.GetTempPath(), "hexcost-long-" + Guid.NewGuid().ToString("N") + ".html");
            File.WriteAllText(keep, html);
            Keep(keep);
            File.Delete(keep);
        }

        /// <summary>A week of earlier runs through HexCost, written by "another process" into the same ledger.</summary>
        private static void SeedHistory(HexWorld world, string projectId, string failingId)
        {
            var dir = Path.Combine(world.State.Path, "workspaces", world.Workspace.OrgId);
            var today = TestClock.Now.UtcDateTime.Date;
            for (var day = 1; day < 7; day++)
            {
                var at = new DateTimeOffset(today.AddDays(-day).AddHours(9), TimeSpan.Zero);
                for (var i = 0; i < 2 + day % 3; i++)
                {
                    LedgerFile.AppendRaw(dir, new LedgerRecord { Type = LedgerRecordTypes.Trigger, At = at.AddMinutes(i), ProjectId = projectId, RunId = $"seed-{day}-{i}", Outcome = TriggerOutcomes.Created });
                    LedgerFile.AppendRaw(dir, new LedgerRecord { Type = LedgerRecordTypes.Complete, At = at.AddMinutes(i + 1), ProjectId = projectId, RunId = $"seed-{day}-{i}", Status = "COMPLETED" });
                }
                for (var i = 0; i < day % 4; i++)
                    LedgerFile.AppendRaw(dir, new LedgerRecord { Type = LedgerRecordTypes.CacheHit, At = at.AddHours(1).AddMinutes(i), ProjectId = projectId });
                if (day % 3 == 0)
                    LedgerFile.AppendRaw(dir, new LedgerRecord { Type = LedgerRecordTypes.Complete, At = at.AddHours(2), ProjectId = failingId, RunId = $"seed-fail-{day}", Status = "KILLED" });
            }
        }

        /// <summary>Debian's chromium first (what CI installs); elsewhere $env:HEXCOST_CHROMIUM, or Chrome or Edge, which
        /// render the same way headless.</summary>
        private static string Chromium()
        {
            var candidates = new List<string>();
            var configured = Environment.GetEnvironmentVariable("HEXCOST_CHROMIUM");
            if (!string.IsNullOrWhiteSpace(configured)) candidates.Add(configured);
            candidates.Add("/usr/bin/chromium");
            var names = OperatingSystem.IsWindows()
                ? new[] { "chromium.exe", "chrome.exe", "msedge.exe" }
                : new[] { "chromium", "chromium-browser", "google-chrome", "microsoft-edge" };
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                candidates.AddRange(names.Select(name => Path.Combine(dir, name)));
            if (OperatingSystem.IsWindows())
            {
                foreach (var root in new[] { Environment.SpecialFolder.ProgramFiles, Environment.SpecialFolder.ProgramFilesX86 }.Select(Environment.GetFolderPath))
                    candidates.AddRange(new[] { Path.Combine(root, "Google", "Chrome", "Application", "chrome.exe"), Path.Combine(root, "Microsoft", "Edge", "Application", "msedge.exe") });
            }
            if (OperatingSystem.IsMacOS()) candidates.Add("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome");
            var found = candidates.FirstOrDefault(File.Exists);
            if (found == null)
                Assert.Fail("Chromium is not installed, and the report test renders the page in it: install it with `apt-get install -y chromium` " +
                    "(Debian; .ci/run does this when it is missing), or point $env:HEXCOST_CHROMIUM at Chrome or Edge.");
            return found!;
        }

        private static void Screenshot(string chromium, string html, string png, string scratch)
        {
            var profile = Path.Combine(scratch, "chromium-profile-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(profile);
            var start = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + profile, "--screenshot=" + png,
                         "--window-size=1280,2000", new Uri(html).AbsoluteUri,
                     })
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("Chromium did not finish the screenshot within 2 minutes:\n" + output);
            }
            process.WaitForExit();
            Assert.True(File.Exists(png), $"Chromium (exit code {process.ExitCode}) wrote no screenshot:\n{output}");
        }

        /// <summary>With HEXCOST_KEEP_REPORT set to a folder, keeps the page and its screenshot there to look at.</summary>
        private static void Keep(params string[] files)
        {
            var folder = Environment.GetEnvironmentVariable("HEXCOST_KEEP_REPORT");
            if (string.IsNullOrEmpty(folder)) return;
            Directory.CreateDirectory(folder);
            foreach (var file in files) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        }

        /// <summary>Just enough PNG (8-bit RGB or RGBA, not interlaced, as Chromium writes) to tell a page from a blank.</summary>
        private sealed class Png
        {
            private Png(int width, int height, byte[][] rows, int channels)
            {
                Width = width;
                Height = height;
                var counts = new Dictionary<int, int>();
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var i = x * channels;
                        var rgb = (rows[y][i] << 16) | (rows[y][i + 1] << 8) | rows[y][i + 2];
                        counts[rgb] = counts.TryGetValue(rgb, out var n) ? n + 1 : 1;
                    }
                var dominant = counts.OrderByDescending(c => c.Value).First();
                DistinctColors = counts.Count;
                DominantShare = (double)dominant.Value / ((long)width * height);
                _inkRows = rows.Select(row => Enumerable.Range(0, width).Any(x => IsInk(row, x * channels))).ToArray();
            }

            private readonly bool[] _inkRows;
            public int Width { get; }
            public int Height { get; }
            public int DistinctColors { get; }
            public double DominantShare { get; }

            /// <summary>Rows in [from, to) with a dark pixel (text, bars, lines).</summary>
            public int RowsWithInk(int from, int to) => _inkRows.Skip(from).Take(to - from).Count(b => b);

            private static bool IsInk(byte[] row, int i) => row[i] + row[i + 1] + row[i + 2] < 3 * 160;

            public static Png Read(string path)
            {
                var bytes = File.ReadAllBytes(path);
                Assert.True(bytes.Length > 33 && bytes.Take(8).SequenceEqual(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }), "not a PNG file");
                int width = 0, height = 0, channels = 0;
                using var idat = new MemoryStream();
                for (var offset = 8; offset + 8 <= bytes.Length;)
                {
                    var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
                    var type = System.Text.Encoding.ASCII.GetString(bytes, offset + 4, 4);
                    var body = bytes.AsSpan(offset + 8, length);
                    if (type == "IHDR")
                    {
                        width = BinaryPrimitives.ReadInt32BigEndian(body);
                        height = BinaryPrimitives.ReadInt32BigEndian(body.Slice(4));
                        Assert.Equal(8, body[8]);
                        channels = body[9] switch { 2 => 3, 6 => 4, _ => throw new NotSupportedException($"PNG colour type {body[9]}") };
                        Assert.Equal(0, body[12]);
                    }
                    else if (type == "IDAT") idat.Write(body);
                    else if (type == "IEND") break;
                    offset += 12 + length;
                }
                idat.Position = 0;
                using var inflated = new MemoryStream();
                using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(inflated);
                var data = inflated.ToArray();
                var stride = width * channels;
                Assert.Equal((long)height * (stride + 1), data.Length);
                var rows = new byte[height][];
                var previous = new byte[stride];
                for (var y = 0; y < height; y++)
                {
                    var filter = data[y * (stride + 1)];
                    var row = new byte[stride];
                    Array.Copy(data, y * (stride + 1) + 1, row, 0, stride);
                    for (var i = 0; i < stride; i++)
                    {
                        int a = i >= channels ? row[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
                        row[i] = (byte)(row[i] + filter switch
                        {
                            0 => 0,
                            1 => a,
                            2 => b,
                            3 => (a + b) / 2,
                            4 => Paeth(a, b, c),
                            _ => throw new NotSupportedException($"PNG filter {filter}"),
                        });
                    }
                    rows[y] = row;
                    previous = row;
                }
                return new Png(width, height, rows, channels);
            }

            private static int Paeth(int a, int b, int c)
            {
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
        }
    }
}
