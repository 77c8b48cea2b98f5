using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;
using HexCost.State;

// Usage: HexCost.StoreHost <script> <location | @file of locations, one a line> [name=value ...]
// Opens the store(s), prints {"op":"ready"}, waits for a line on standard input (so that every process of a race
// starts at once), runs the script and prints one JSON line per result. Scripts:
//   claim    id= rounds=      per round r: read key claim:r, and claim it when absent (Expect 0 + an Intent record)
//   reserve  id=              per location (one per round): renew the owner, reserve with WeeklyLimit 1
//   permit   id= grants= limit= windowMs=   take+answer permits in one window until it was granted that many
//   lease    id= key= ttlMs=  renew the owner, claim key under it, print the lease's end, then wait to be killed
//   append   id=              commit forever: a record, an index write and a budget run per round
//   hold                      hold the file store's lock until standard input closes
//   bench    id= seconds=     take+answer permits (limit never reached) as fast as possible; prints the count
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: HexCost.StoreHost <script> <location|@file> [name=value ...]");
    return 2;
}
var script = args[0];
var locations = args[1].StartsWith('@') ? File.ReadAllLines(args[1].Substring(1)).Where(l => l.Length > 0).ToArray() : new[] { args[1] };
var options = args.Skip(2).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
string Option(string name, string? fallback = null) =>
    options.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"{name}= is required");
int Number(string name, int? fallback = null) => int.Parse(Option(name, fallback?.ToString()), System.Globalization.CultureInfo.InvariantCulture);
void Print(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value));

var ct = CancellationToken.None;
if (script == "hold")
{
    using var held = new FileStream(Path.Combine(locations[0], FileStateStore.LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
    Print(new { op = "ready" });
    await Console.In.ReadToEndAsync();
    return 0;
}

var stores = locations.Select(StoreLocation.Open).ToArray();
var store = stores[0];
foreach (var s in stores) await s.ReadAsync(new[] { "warm-up" }, ct);
Print(new { op = "ready" });
await Console.In.ReadLineAsync();
var id = Option("id", "p" + Environment.ProcessId);

switch (script)
{
    case "claim":
        for (var round = 0; round < Number("rounds"); round++)
        {
            var key = "claim:" + round;
            var view = await store.ReadAsync(new[] { key }, ct);
            var won = false;
            if (!view[key].Exists)
            {
                var commit = new StoreCommit();
                commit.Expect.Add(new KeyValuePair<string, long>(key, view[key].Version));
                commit.Records.Add(new LedgerRecord { Id = Guid.NewGuid().ToString("N"), Type = LedgerRecordTypes.Intent, At = view.Now, IdempotencyKey = key, Note = id, Attempts = round });
                commit.Writes.Add(new KeyValuePair<string, string?>(key, JsonSerializer.Serialize(new { owner = id })));
                won = (await store.CommitAsync(commit, ct)).Committed;
            }
            Print(new { op = "claim", round, won });
        }
        break;

    case "reserve":
        for (var round = 0; round < stores.Length; round++)
        {
            await stores[round].RenewOwnerAsync(id, TimeSpan.FromMinutes(10), ct);
            var decision = await stores[round].ReserveRunAsync(new BudgetRequest
            {
                ReservationId = id + "-" + round, Owner = id, ProjectId = "project", WeeklyLimit = 1,
            }, ct);
            Print(new { op = "reserve", round, reserved = decision.Reserved, total = decision.Total });
        }
        break;

    case "permit":
    {
        var windows = new[] { new PermitWindow("race", TimeSpan.FromMilliseconds(Number("windowMs")), Number("limit")) };
        var granted = 0;
        while (granted < Number("grants"))
        {
            var permitId = Guid.NewGuid().ToString("N");
            var decision = await store.TakePermitAsync(new PermitRequest(permitId, id, windows, TimeSpan.FromSeconds(5)), ct);
            if (decision.Granted)
            {
                granted++;
                Print(new { op = "permit", at = decision.Now.UtcTicks });
                await store.AnswerPermitAsync(permitId, windows, ct);
                continue;
            }
            var wait = (decision.RetryAt ?? decision.Now.AddMilliseconds(10)) - decision.Now;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(wait.TotalMilliseconds, 1, 1000)), ct);
        }
        break;
    }

    case "lease":
    {
        var key = Option("key");
        var ttl = TimeSpan.FromMilliseconds(Number("ttlMs"));
        await store.RenewOwnerAsync(id, ttl, ct);
        var view = await store.ReadAsync(new[] { key }, ct);
        var commit = new StoreCommit();
        commit.Expect.Add(new KeyValuePair<string, long>(key, view[key].Version));
        commit.Records.Add(new LedgerRecord { Id = Guid.NewGuid().ToString("N"), Type = LedgerRecordTypes.Intent, At = view.Now, IdempotencyKey = key, Note = id });
        commit.Writes.Add(new KeyValuePair<string, string?>(key, JsonSerializer.Serialize(new { owner = id })));
        var result = await store.CommitAsync(commit, ct);
        // The lease was renewed before the view was read, so it ends no later than this.
        Print(new { op = "lease", committed = result.Committed, expires = (view.Now + ttl).UtcTicks });
        await Task.Delay(Timeout.Infinite, ct);
        break;
    }

    case "append":
        for (var round = 0; ; round++)
        {
            var name = id + "-" + round;
            var now = await store.NowAsync(ct);
            var commit = new StoreCommit();
            commit.Records.Add(new LedgerRecord { Id = name, Type = LedgerRecordTypes.Trigger, At = now, RunId = name, Note = new string('x', 2000) });
            commit.Writes.Add(new KeyValuePair<string, string?>("run:" + name, "\"" + name + "\""));
            commit.BudgetAdds.Add(new BudgetEntry(name, "project", now));
            await store.CommitAsync(commit, ct);
            Print(new { op = "append", round });
        }

    case "bench":
    {
        var windows = new[] { new PermitWindow("bench", TimeSpan.FromMilliseconds(10), 1_000_000) };
        var clock = Stopwatch.StartNew();
        var seconds = Number("seconds", 3);
        var count = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var permitId = id + "-" + count;
            var decision = await store.TakePermitAsync(new PermitRequest(permitId, id, windows, TimeSpan.FromSeconds(1)), ct);
            if (!decision.Granted) throw new InvalidOperationException("refused: " + decision.Blocker);
            await store.AnswerPermitAsync(permitId, windows, ct);
            count++;
        }
        Print(new { op = "bench", count, seconds = clock.Elapsed.TotalSeconds });
        break;
    }

    default:
        Console.Error.WriteLine("unknown script " + script);
        return 2;
}
foreach (var s in stores) s.Dispose();
return 0;

internal static class StoreLocation
{
    /// <summary>The one place a location string becomes a store: a folder is a FileStateStore; redis:// goes here too.</summary>
    public static IHexStateStore Open(string location)
    {
        if (location.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            // redis://host:port[/db]?workspace=NAME: the workspace (org id) is the test's, so tests sharing a server never collide.
            var query = location.IndexOf("?workspace=", StringComparison.Ordinal);
            if (query < 0) throw new ArgumentException("a redis:// location needs ?workspace=NAME: " + location);
            var options = new RedisStoreOptions(location.Substring(0, query));
            return RedisStateStore.ConnectAsync(options, location.Substring(query + "?workspace=".Length), CancellationToken.None).GetAwaiter().GetResult();
        }
        return new FileStateStore(location);
    }
}
