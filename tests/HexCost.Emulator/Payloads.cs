using System;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace HexCost.Emulator;

/// <summary>Response shapes, serialised camelCase with every key present (nulls included).</summary>
internal static class Payloads
{
    public static string? Iso(DateTimeOffset? t) =>
        t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static object User(EmulatorUser u) => new { id = u.Id, name = u.Name, email = u.Email, role = u.Role, lastLoginDate = Iso(u.LastLoginDate) };

    public static object DataConnection(EmulatorDataConnection c) => new { id = c.Id, name = c.Name, type = c.Type, description = c.Description };

    public static Dictionary<string, object?> Project(EmulatorProject p, DateTimeOffset? publishedResultsUpdatedAt, bool includeSharing)
    {
        var body = new Dictionary<string, object?>
        {
            ["id"] = p.Id,
            ["title"] = p.Title,
            ["description"] = p.Description,
            ["type"] = p.Type,
            ["creator"] = new { email = p.CreatorEmail },
            ["owner"] = new { email = p.OwnerEmail },
            ["status"] = p.Status is null ? null : new { name = p.Status },
            ["categories"] = p.Categories.Select(c => new { name = c, description = (string?)null }).ToArray(),
            ["reviews"] = new { required = p.ReviewsRequired },
            ["analytics"] = new
            {
                publishedResultsUpdatedAt = Iso(publishedResultsUpdatedAt),
                lastViewedAt = Iso(p.LastViewedAt),
                appViews = new
                {
                    allTime = p.AppViews.AllTime,
                    lastSevenDays = p.AppViews.LastSevenDays,
                    lastFourteenDays = p.AppViews.LastFourteenDays,
                    lastThirtyDays = p.AppViews.LastThirtyDays,
                },
            },
            ["lastEditedAt"] = Iso(p.LastEditedAt),
            ["lastPublishedAt"] = Iso(p.LastPublishedAt),
            ["createdAt"] = Iso(p.CreatedAt),
            ["archivedAt"] = Iso(p.ArchivedAt),
            ["trashedAt"] = Iso(p.TrashedAt),
            ["schedules"] = p.Schedules.Select(Schedule).ToArray(),
        };
        if (includeSharing)
        {
            body["sharing"] = new
            {
                users = new[] { new { user = new { email = p.OwnerEmail }, access = "FULL_ACCESS" } },
                collections = Array.Empty<object>(),
                groups = Array.Empty<object>(),
                workspace = new { access = "CAN_VIEW" },
                publicWeb = new { access = "NONE" },
                support = new { access = "NONE" },
            };
        }
        return body;
    }

    public static object Schedule(EmulatorSchedule s) => new
    {
        cadence = s.Cadence,
        enabled = s.Enabled,
        hourly = s.Cadence == "HOURLY" ? new { timezone = s.Timezone, minute = s.Minute } : null,
        daily = s.Cadence == "DAILY" ? new { timezone = s.Timezone, hour = s.Hour, minute = s.Minute } : null,
        weekly = s.Cadence == "WEEKLY" ? new { timezone = s.Timezone, dayOfWeek = s.DayOfWeek, hour = s.Hour, minute = s.Minute } : null,
        monthly = s.Cadence == "MONTHLY" ? new { timezone = s.Timezone, day = s.Day, hour = s.Hour, minute = s.Minute } : null,
        custom = s.Cadence == "CUSTOM" ? new { timezone = s.Timezone, cron = s.Cron } : null,
    };

    public static object Run(EmulatorRun run, DateTimeOffset now, string runUrl)
    {
        var state = run.At(now);
        return new
        {
            projectId = run.ProjectId,
            projectVersion = run.ProjectVersion,
            runId = run.RunId,
            runUrl,
            status = state.Status,
            runTrigger = run.RunTrigger,
            startTime = Iso(state.StartTime),
            endTime = Iso(state.EndTime),
            elapsedTime = state.ElapsedTime,
            traceId = run.TraceId,
        };
    }
}

/// <summary>Reads query parameters, remembering the first validation error.</summary>
internal sealed class QueryReader(IQueryCollection query)
{
    public string? Error { get; private set; }

    public string? String(string name) => query.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

    public string[] Many(string name) =>
        query.TryGetValue(name, out var v) ? v.Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToArray() : [];

    /// <summary>A comma-separated list (repeated keys are joined), trimmed, empty entries dropped.</summary>
    public string[] List(string name) =>
        query.TryGetValue(name, out var v)
            ? v.SelectMany(s => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray()
            : [];

    public int Int(string name, int fallback, int min, int max)
    {
        var raw = String(name);
        if (raw is null)
            return fallback;
        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            return value;
        Fail(max == int.MaxValue ? $"'{name}' must be an integer greater than or equal to {min}" : $"'{name}' must be an integer between {min} and {max}");
        return fallback;
    }

    public bool Bool(string name)
    {
        var raw = String(name);
        if (raw is null)
            return false;
        if (bool.TryParse(raw, out var value))
            return value;
        Fail($"'{name}' must be a boolean");
        return false;
    }

    public string? OneOf(string name, string? fallback, IReadOnlyList<string> allowed)
    {
        var raw = String(name);
        if (raw is null)
            return fallback;
        if (allowed.Contains(raw))
            return raw;
        Fail($"'{name}' must be one of {string.Join(", ", allowed)}");
        return fallback;
    }

    public void Fail(string message) => Error ??= message;
}

internal readonly record struct KeysetEntry<T>(string Key, string Id, T Item);

/// <summary>
/// Cursor pagination over (sort key, id). Cursors are opaque and bound to the listing and sort they came from, and they
/// name a position rather than an index, so inserts and deletes between pages neither skip nor repeat items.
/// </summary>
internal static class Keyset
{
    public sealed record Page<T>(IReadOnlyList<T> Values, string? After, string? Before);

    public static KeysetEntry<T>[] Sort<T>(IEnumerable<T> source, Func<T, string> keyOf, Func<T, string> idOf)
    {
        var entries = source.Select(x => new KeysetEntry<T>(keyOf(x), idOf(x), x)).ToArray();
        Array.Sort(entries, (a, b) => Compare(a.Key, a.Id, b.Key, b.Id));
        return entries;
    }

    /// <summary>Pages <paramref name="ascending"/> (sorted by <see cref="Sort"/>), keeping only items that pass <paramref name="include"/>.</summary>
    public static bool TryPage<T>(KeysetEntry<T>[] ascending, Func<T, bool> include, bool descending, int limit,
        string? after, string? before, string scope, out Page<T> page)
    {
        page = new Page<T>([], null, null);
        var n = ascending.Length;
        KeysetEntry<T> At(int i) => ascending[descending ? n - 1 - i : i];
        int CompareAt(int i, string key, string id)
        {
            var e = At(i);
            var c = Compare(e.Key, e.Id, key, id);
            return descending ? -c : c;
        }
        int FirstPosition(Func<int, bool> isAtOrBeyond)
        {
            int lo = 0, hi = n;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (isAtOrBeyond(mid))
                    hi = mid;
                else
                    lo = mid + 1;
            }
            return lo;
        }
        bool AnyMatch(int from, int step)
        {
            for (var i = from; i >= 0 && i < n; i += step)
                if (include(At(i).Item))
                    return true;
            return false;
        }

        var picked = new List<int>(limit);
        bool moreAfter, moreBefore;
        if (before is not null)
        {
            if (!TryDecode(before, scope, out var key, out var id))
                return false;
            var end = FirstPosition(i => CompareAt(i, key, id) >= 0);
            var i = end - 1;
            for (; i >= 0 && picked.Count < limit; i--)
                if (include(At(i).Item))
                    picked.Add(i);
            picked.Reverse();
            moreBefore = AnyMatch(i, -1);
            moreAfter = picked.Count > 0 && AnyMatch(picked[^1] + 1, 1);
        }
        else
        {
            var key = "";
            var id = "";
            if (after is not null && !TryDecode(after, scope, out key, out id))
                return false;
            var start = after is null ? 0 : FirstPosition(i => CompareAt(i, key, id) > 0);
            var i = start;
            for (; i < n && picked.Count < limit; i++)
                if (include(At(i).Item))
                    picked.Add(i);
            moreAfter = AnyMatch(i, 1);
            moreBefore = picked.Count > 0 && AnyMatch(picked[0] - 1, -1);
        }
        if (picked.Count == 0)
            return true;
        var first = At(picked[0]);
        var last = At(picked[^1]);
        page = new Page<T>(picked.Select(i => At(i).Item).ToArray(),
            moreAfter ? Encode(scope, last.Key, last.Id) : null,
            moreBefore ? Encode(scope, first.Key, first.Id) : null);
        return true;
    }

    public static string TicksKey(DateTimeOffset? t) => t is { } v ? v.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) : "~";

    private static int Compare(string ak, string aid, string bk, string bid)
    {
        var c = string.CompareOrdinal(ak, bk);
        return c != 0 ? c : string.CompareOrdinal(aid, bid);
    }

    private static string Encode(string scope, string key, string id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{scope}\u001f{key}\u001f{id}"));

    private static bool TryDecode(string cursor, string scope, out string key, out string id)
    {
        key = id = "";
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('\u001f');
            if (parts.Length != 3 || parts[0] != scope)
                return false;
            (key, id) = (parts[1], parts[2]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
