using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace HexCost.Emulator;

/// <summary>
/// Deterministic demo content. Project i depends only on (seed, i), so the first projects are the same for any ProjectCount.
/// Projects 0-11 are hand-written and cover every kind; later ones are generated (mostly published, some unpublished,
/// archived, trashed or components). Run history is generated per project on first use.
/// </summary>
internal static partial class DemoWorkspace
{
    private enum Kind { Published, Unpublished, Archived, Trashed, Component }

    private sealed record Template(string Title, Kind Kind, EmulatorSchedule[] Schedules, string? Status, string[] Categories, string? Description);

    private static readonly Template[] Templates =
    [
        new("Revenue dashboard", Kind.Published, [EmulatorSchedule.Daily(6, 0)], "Approved", ["Finance"], "Daily revenue by region and product line."),
        new("Churn model", Kind.Published, [EmulatorSchedule.Weekly("MONDAY", 7, 30)], null, ["Product"], "Weekly churn propensity scores."),
        new("Marketing attribution", Kind.Published, [EmulatorSchedule.Hourly(15), EmulatorSchedule.Daily(23, 45)], null, ["Marketing"], null),
        new("Failing ETL health check", Kind.Published, [EmulatorSchedule.Daily(2, 30)], "In review", ["Operations"], "Checks the nightly loads; currently broken."),
        new("Sales pipeline forecast", Kind.Published, [EmulatorSchedule.Monthly(1, 8, 0)], "Approved", ["Finance"], null),
        new("Inventory sync", Kind.Published, [EmulatorSchedule.Custom("0 */6 * * *")], null, ["Operations"], "Pushes stock levels to the warehouse system."),
        new("Customer 360", Kind.Published, [EmulatorSchedule.Daily(9, 0, enabled: false)], null, ["Product"], null),
        new("Exec KPI review", Kind.Published, [], "Approved", ["Finance"], "Board-level KPIs, refreshed by hand."),
        new("Pricing experiment (draft)", Kind.Unpublished, [], null, [], null),
        new("Legacy cohort analysis", Kind.Archived, [EmulatorSchedule.Weekly("FRIDAY", 17, 0, enabled: false)], null, ["Product"], null),
        new("Old funnel report", Kind.Trashed, [], null, ["Marketing"], null),
        new("Shared date filters", Kind.Component, [], null, [], "Reusable date-range inputs."),
    ];

    private static readonly string[] Areas = ["Finance", "Marketing", "Sales", "Product", "Support", "Ops", "Growth", "Data quality", "Supply chain", "HR"];
    private static readonly string[] Artifacts = ["dashboard", "report", "model", "forecast", "deep dive", "tracker", "scorecard", "audit", "funnel", "cohorts"];
    private static readonly string[] Statuses = ["Approved", "In review", "Deprecated"];
    private static readonly string[] Days = ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"];
    private static readonly string[] Timezones = ["+00:00", "+00:00", "+00:00", "-05:00", "+01:00", "+08:00"];

    public static List<EmulatorUser> Users(int seed, DateTimeOffset now)
    {
        var r = new Random(Mix(seed, 0, 0x05E2));
        (string? Name, string Email, string Role, bool LoggedIn)[] people =
        [
            ("Morgan Lee", "morgan.lee@example.com", OrgRole.Admin, true),
            ("Priya Natarajan", "priya.natarajan@example.com", OrgRole.Manager, true),
            ("Sam Okafor", "sam.okafor@example.com", OrgRole.Editor, true),
            ("Jordan Kim", "jordan.kim@example.com", OrgRole.Editor, true),
            ("Elena Rossi", "elena.rossi@example.com", OrgRole.Explorer, true),
            ("Chris Walker", "chris.walker@example.com", OrgRole.Member, true),
            ("Taylor Brooks", "taylor.brooks@example.com", OrgRole.Guest, false),
            (null, "embed-service@example.com", OrgRole.EmbeddedUser, false),
        ];
        return people.Select(p => new EmulatorUser(NewGuid(r), p.Name, p.Email, p.Role,
            p.LoggedIn ? Millis(now - TimeSpan.FromMinutes(r.Next(5, 60 * 24 * 20)) - TimeSpan.FromMilliseconds(r.Next(1000))) : null)).ToList();
    }

    /// <summary>The three demo data connections: Snowflake prod, Postgres app, BigQuery marketing (ids from the seed).</summary>
    public static List<EmulatorDataConnection> DataConnections(int seed)
    {
        var r = new Random(Mix(seed, 0, 0x0DC0));
        return
        [
            new(NewGuid(r), "Snowflake prod", DataConnectionType.Snowflake, "Production warehouse (dbt models)."),
            new(NewGuid(r), "Postgres app", DataConnectionType.Postgres, "Read replica of the application database."),
            new(NewGuid(r), "BigQuery marketing", DataConnectionType.BigQuery, null),
        ];
    }

    /// <summary>The fixed set of tables demo projects query, as (index into <see cref="DataConnections"/>, table name).</summary>
    private static readonly (int Connection, string Table)[] DemoTables =
    [
        (0, "ANALYTICS.FINANCE.REVENUE_DAILY"),  // 0
        (0, "ANALYTICS.FINANCE.INVOICES"),       // 1
        (0, "ANALYTICS.CORE.CUSTOMERS"),         // 2
        (0, "ANALYTICS.CORE.ORDERS"),            // 3
        (0, "ANALYTICS.PRODUCT.EVENTS"),         // 4
        (1, "public.accounts"),                  // 5
        (1, "public.subscriptions"),             // 6
        (1, "public.inventory_levels"),          // 7
        (2, "marketing.campaigns"),              // 8
        (2, "marketing.ad_spend"),               // 9
        (2, "marketing.web_sessions"),           // 10
    ];

    /// <summary>Hand-picked tables of the template projects, by title stem.</summary>
    private static readonly Dictionary<string, int[]> TemplateTables = new(StringComparer.Ordinal)
    {
        [TitleStem("Revenue dashboard")] = [0, 1, 2],
        [TitleStem("Churn model")] = [2, 4, 6],
        [TitleStem("Marketing attribution")] = [3, 8, 9],
        [TitleStem("Failing ETL health check")] = [3, 5],
        [TitleStem("Sales pipeline forecast")] = [1, 5],
        [TitleStem("Inventory sync")] = [7],
        [TitleStem("Customer 360")] = [2, 5, 10],
        [TitleStem("Exec KPI review")] = [0, 2],
        [TitleStem("Pricing experiment (draft)")] = [6],
        [TitleStem("Legacy cohort analysis")] = [2, 3],
        [TitleStem("Old funnel report")] = [4, 10],
        [TitleStem("Shared date filters")] = [],
    };

    /// <summary>One record per demo table, bound to the workspace's demo connections (shared by every project).</summary>
    public static EmulatorQueriedTable[] TablePool(IReadOnlyList<EmulatorDataConnection> connections) =>
        DemoTables.Select(t => new EmulatorQueriedTable(connections[t.Connection], t.Table)).ToArray();

    /// <summary>
    /// Tables a project with this title queries: hand-picked for the template titles, otherwise 1-3 of the pool chosen from
    /// (seed, title stem). Titles that differ only in case, punctuation or copy markers get the same tables.
    /// </summary>
    public static IReadOnlyList<EmulatorQueriedTable> QueriedTables(int seed, string title, EmulatorQueriedTable[] pool)
    {
        var stem = TitleStem(title);
        if (TemplateTables.TryGetValue(stem, out var picked))
            return picked.Select(i => pool[i]).ToArray();
        var r = new Random(Mix(seed, StableHash(stem), 0x7AB1));
        var count = 1 + r.Next(3);
        var chosen = new SortedSet<int>();
        while (chosen.Count < count)
            chosen.Add(r.Next(pool.Length));
        return chosen.Select(i => pool[i]).ToArray();
    }

    /// <summary>
    /// A title reduced for duplicate matching: lowercase, copy markers ("Copy of …", "… (copy)", "… (copy 2)", "… - Copy",
    /// "… (2)") removed, runs of anything but letters and digits collapsed to one space.
    /// </summary>
    public static string TitleStem(string title)
    {
        var t = title.ToLowerInvariant().Trim();
        string previous;
        do
        {
            previous = t;
            t = CopyPrefix().Replace(t, "");
            t = CopySuffix().Replace(t, "");
            t = NumberSuffix().Replace(t, "");
        } while (t != previous && t.Length > 0);
        var sb = new StringBuilder(t.Length);
        foreach (var c in t)
        {
            if (char.IsLetterOrDigit(c))
                sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != ' ')
                sb.Append(' ');
        }
        return sb.ToString().TrimEnd();
    }

    [GeneratedRegex(@"^\s*copy\s+of\s+")]
    private static partial Regex CopyPrefix();

    [GeneratedRegex(@"(?:\s*[-_–—]\s*|\s*(?=[\(\[])|\s+|^)[\(\[]?\s*copy(?:\s*\d+)?\s*[\)\]]?\s*$")]
    private static partial Regex CopySuffix();

    [GeneratedRegex(@"\s*\(\d+\)\s*$")]
    private static partial Regex NumberSuffix();

    private static int StableHash(string s)
    {
        unchecked
        {
            var h = 2166136261u;
            foreach (var c in s)
                h = (h ^ c) * 16777619u;
            return (int)(h & 0x7FFFFFFF);
        }
    }

    public static string OrgId(int seed) => NewGuid(new Random(Mix(seed, 0, 0x0060)));

    public static EmulatorProject Project(int seed, int index, DateTimeOffset now, IReadOnlyList<EmulatorUser> users)
    {
        var r = new Random(Mix(seed, index, 0x9A0));
        var t = index < Templates.Length ? Templates[index] : Generated(r, index);
        var authors = users.Where(u => u.Role is OrgRole.Admin or OrgRole.Manager or OrgRole.Editor).ToArray();
        var creator = authors[r.Next(authors.Length)];
        var owner = r.Next(4) == 0 ? authors[r.Next(authors.Length)] : creator;

        var created = Millis(now - TimeSpan.FromDays(180) - TimeSpan.FromHours(5 * index) - TimeSpan.FromMilliseconds(r.NextInt64(1, (long)TimeSpan.FromHours(2.5).TotalMilliseconds)));
        var age = now - created;
        var edited = Millis(created + age * (0.3 + 0.69 * r.NextDouble()));
        DateTimeOffset? published = t.Kind == Kind.Unpublished ? null : Millis(created + (edited - created) * (0.5 + 0.5 * r.NextDouble()));
        var viewed = published is { } pub && r.Next(6) != 0 ? Millis(pub + (now - pub) * r.NextDouble()) : (DateTimeOffset?)null;
        var allTime = published is null ? 0 : r.Next(0, 5000);
        var thirty = Math.Min(allTime, r.Next(0, 400));
        var fourteen = thirty == 0 ? 0 : r.Next(0, thirty + 1);
        var seven = fourteen == 0 ? 0 : r.Next(0, fourteen + 1);

        var project = new EmulatorProject(NewGuid(r), index)
        {
            Title = t.Title,
            Description = t.Description,
            Type = t.Kind == Kind.Component ? "COMPONENT" : "PROJECT",
            CreatorEmail = creator.Email,
            OwnerEmail = owner.Email,
            Status = t.Status,
            Categories = t.Categories,
            ReviewsRequired = r.Next(5) == 0,
            CreatedAt = created,
            LastEditedAt = edited,
            LastPublishedAt = published,
            LastViewedAt = viewed,
            PublishedResultsUpdatedAt = published is { } p2 && t.Schedules.Length > 0 ? Millis(p2 + (now - p2) * r.NextDouble()) : published,
            AppViews = new EmulatorAppViews(allTime, seven, fourteen, thirty),
            Schedules = t.Schedules,
            ProjectVersion = published is null ? 1 : r.Next(1, 40),
            InputNames = t.Kind == Kind.Component ? [] : ["region", "limit"],
            ArchivedAt = t.Kind == Kind.Archived ? Millis(edited + (now - edited) * r.NextDouble()) : null,
            TrashedAt = t.Kind == Kind.Trashed ? Millis(edited + (now - edited) * r.NextDouble()) : null,
        };
        if (project.Title.StartsWith("Failing", StringComparison.Ordinal))
            project.RunOutcome = RunStatus.Errored;
        return project;
    }

    private static Template Generated(Random r, int index)
    {
        var title = $"{Areas[r.Next(Areas.Length)]} {Artifacts[r.Next(Artifacts.Length)]} {index + 1}";
        var roll = r.Next(100);
        var kind = roll switch { < 5 => Kind.Unpublished, < 8 => Kind.Archived, < 10 => Kind.Trashed, < 13 => Kind.Component, _ => Kind.Published };
        EmulatorSchedule[] schedules = [];
        if (kind is Kind.Published or Kind.Archived)
        {
            var enabled = r.Next(10) != 0 && kind == Kind.Published;
            var tz = Timezones[r.Next(Timezones.Length)];
            EmulatorSchedule? s = r.Next(10) switch
            {
                <= 2 => null,
                3 => EmulatorSchedule.Hourly(r.Next(60), enabled),
                <= 6 => EmulatorSchedule.Daily(r.Next(24), r.Next(4) * 15, enabled),
                7 => EmulatorSchedule.Weekly(Days[r.Next(7)], r.Next(24), r.Next(4) * 15, enabled),
                8 => EmulatorSchedule.Monthly(r.Next(1, 29), r.Next(24), 0, enabled),
                _ => EmulatorSchedule.Custom("0 */6 * * *", enabled),
            };
            if (s is not null)
                schedules = [s with { Timezone = tz }];
        }
        var status = r.Next(3) == 0 ? Statuses[r.Next(Statuses.Length)] : null;
        string[] categories = r.Next(2) == 0 ? [Areas[r.Next(Areas.Length)]] : [];
        return new Template(title, kind, schedules, status, categories, r.Next(3) == 0 ? $"Generated demo project {index + 1}." : null);
    }

    /// <summary>
    /// Past runs of a demo project: 3-5 SCHEDULED runs per schedule (runs of disabled schedules predate the switch-off, and
    /// a failing project's runs mostly ERRORED), sometimes an APP_REFRESH run and up to two API runs. All have ended.
    /// </summary>
    public static IEnumerable<EmulatorRun> History(EmulatorProject project, int seed, DateTimeOffset now, TimeProvider time,
        IReadOnlyList<EmulatorUser> users, string apiUserId)
    {
        if (project.DemoIndex is not { } index || !project.IsPublished || project.Type != "PROJECT")
            yield break;
        var r = new Random(Mix(seed, index, 0x5EED));
        var ownerId = users.FirstOrDefault(u => u.Email == project.OwnerEmail)?.Id ?? apiUserId;
        var failing = project.RunOutcome == RunStatus.Errored;

        EmulatorRun Make(string trigger, DateTimeOffset created, string outcome, string userId)
        {
            var start = Millis(created + TimeSpan.FromMilliseconds(r.Next(800, 8000)));
            var end = Millis(start + TimeSpan.FromMilliseconds(r.Next(20_000, 480_000)));
            return new EmulatorRun(time, project.Id, NewGuid(r), trigger, userId, created, start, end, outcome,
                Math.Max(1, project.ProjectVersion - r.Next(3)), NewTraceId(r));
        }

        foreach (var schedule in project.Schedules)
        {
            var offset = schedule.Enabled ? TimeSpan.Zero : TimeSpan.FromDays(14);
            var count = 3 + r.Next(3);
            for (var i = 0; i < count; i++)
            {
                var created = Millis(now - offset - schedule.ApproximateInterval * (i + 1) + TimeSpan.FromMilliseconds(r.Next(0, 30_000)));
                if (created <= project.CreatedAt)
                    break;
                var errored = failing ? r.Next(4) != 0 : (i == 1 && index % 2 == 0) || r.Next(8) == 0;
                yield return Make(RunTrigger.Scheduled, created, errored ? RunStatus.Errored : RunStatus.Completed, ownerId);
            }
        }
        if (r.Next(2) == 0)
        {
            var created = Millis(now - TimeSpan.FromMinutes(r.Next(60, 72 * 60)));
            if (created > project.CreatedAt)
                yield return Make(RunTrigger.AppRefresh, created, RunStatus.Completed, ownerId);
        }
        for (var i = r.Next(3); i > 0; i--)
        {
            var created = Millis(now - TimeSpan.FromMinutes(r.Next(60, 30 * 24 * 60)));
            if (created > project.CreatedAt)
                yield return Make(RunTrigger.Api, created, r.Next(6) == 0 ? RunStatus.Killed : RunStatus.Completed, apiUserId);
        }
    }

    private static readonly string[] ThreadQuestions =
    [
        "Why did revenue dip last week?", "Top 10 customers by ARR", "Churn by plan tier", "Build a cohort retention chart",
        "Explain the ad spend spike", "Which regions missed quota?", "Clean up the orders model", "Forecast Q3 bookings",
        "Compare web sessions to signups", "Find duplicate accounts", "Inventory below reorder point", "Summarise support tickets",
    ];

    /// <summary>
    /// Demo agent threads: 40 threads of the demo users who hold editing or exploring seats (ADMIN, MANAGER, EDITOR, EXPLORER),
    /// round-robin, created over the 60 days before <paramref name="now"/>. Mostly THREADS from HEX; creditsUsed 1-10 with one
    /// decimal, null for every eighth; about one in ten sensitive. Drawn from their own random stream, so no other demo
    /// content changes.
    /// </summary>
    public static List<EmulatorThread> Threads(int seed, DateTimeOffset now, IReadOnlyList<EmulatorUser> users)
    {
        const int count = 40;
        var r = new Random(Mix(seed, 0, 0x7EAD));
        var askers = users.Where(u => u.Role is OrgRole.Admin or OrgRole.Manager or OrgRole.Editor or OrgRole.Explorer).ToArray();
        var threads = new List<EmulatorThread>(count);
        for (var i = 0; i < count; i++)
        {
            var user = askers[i % askers.Length];
            var typeRoll = r.Next(10);
            var type = typeRoll < 7 ? ThreadType.Threads : typeRoll < 9 ? ThreadType.Notebook : ThreadType.Modeling;
            var sourceRoll = r.Next(20);
            var source = sourceRoll < 14 ? ThreadSource.Hex : sourceRoll < 17 ? ThreadSource.Slack : sourceRoll < 19 ? ThreadSource.Mcp : ThreadSource.PublicApi;
            var credits = Math.Round(1 + 9 * r.NextDouble(), 1);
            var created = Millis(now - TimeSpan.FromMilliseconds(r.NextInt64(60_000, (long)TimeSpan.FromDays(60).TotalMilliseconds)));
            var title = ThreadQuestions[r.Next(ThreadQuestions.Length)];
            var sensitive = r.Next(10) == 0;
            threads.Add(new EmulatorThread(NewGuid(r), user.Id, title, i % 8 == 5 ? null : credits, type, source, created, sensitive));
        }
        return threads;
    }

    public static string NewGuid(Random r)
    {
        Span<byte> b = stackalloc byte[16];
        r.NextBytes(b);
        b[7] = (byte)((b[7] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b).ToString();
    }

    public static string NewTraceId(Random r)
    {
        Span<byte> b = stackalloc byte[16];
        r.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    public static DateTimeOffset Millis(DateTimeOffset t) =>
        new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    public static int Mix(int seed, int index, int salt)
    {
        unchecked
        {
            var h = (uint)seed * 0x9E3779B1u ^ (uint)index * 0x85EBCA77u ^ (uint)salt * 0xC2B2AE3Du;
            h ^= h >> 15;
            h *= 0x2C1B3C6Du;
            h ^= h >> 12;
            h *= 0x297A2D39u;
            h ^= h >> 15;
            return (int)(h & 0x7FFFFFFF);
        }
    }
}
