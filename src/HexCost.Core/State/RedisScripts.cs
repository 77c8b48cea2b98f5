using System;
using System.Security.Cryptography;
using System.Text;

namespace HexCost.State
{
    /// <summary>
    /// The Lua scripts of <see cref="RedisStateStore"/>: each operation that reads and then writes is one script, so it is
    /// atomic on the server, and every "now" is the server's TIME in microseconds since 1970 (exact in a Lua number).
    /// Every key a script touches is passed in KEYS and shares the workspace's hash tag (one Redis Cluster slot).
    /// Scripts never call TIME after a write, and check everything before their first write, so an error leaves no half step.
    /// </summary>
    internal sealed class RedisScript
    {
        private RedisScript(string name, string body)
        {
            Name = name;
            Text = Prelude + body;
            using var sha = SHA1.Create();
            Sha1 = sha.ComputeHash(Encoding.UTF8.GetBytes(Text));
        }

        public string Name { get; }
        public string Text { get; }
        public byte[] Sha1 { get; }

        private const string Prelude = @"
if redis.replicate_commands then redis.replicate_commands() end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(x) return string.format('%.0f', x) end
local function prune_permits(log, inflight, now)
  local dead = redis.call('ZRANGEBYSCORE', log, '-inf', num(now))
  if #dead > 0 then
    redis.call('ZREMRANGEBYSCORE', log, '-inf', num(now))
    for _, m in ipairs(dead) do redis.call('SREM', inflight, m) end
  end
end
local function keep_for(key, ms)
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 and ttl < ms then redis.call('PEXPIRE', key, ms) end
  if ttl == -1 then redis.call('PEXPIRE', key, ms) end
end
";

        /// <summary>KEYS: versions, values, owners. ARGV: entry keys. Returns now, the live owners, then version and value of
        /// each key.</summary>
        public static readonly RedisScript Read = new RedisScript("read", @"
local now = now_us()
local out = { now, redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. num(now), '+inf') }
for _, k in ipairs(ARGV) do
  out[#out + 1] = redis.call('HGET', KEYS[1], k) or '0'
  out[#out + 1] = redis.call('HGET', KEYS[2], k)
end
return out
");

        /// <summary>KEYS: ledger, versions, values, runs, reservation owners, reservation projects, recent record ids, then each
        /// project's runs. ARGV: retention µs; record count, (id, record)…; expect count, (key, version)…; write count, (key,
        /// has value, value)…; budget count, (id, KEYS index of its project's runs, at µs)…; has reservation, reservation id.
        /// A commit whose first record the store already holds (a retry of one whose answer was lost) was applied: it counts
        /// as committed and changes nothing. Returns committed (1/0), now.</summary>
        public static readonly RedisScript Commit = new RedisScript("commit", @"
local now = now_us()
local retention = tonumber(ARGV[1])
local records = tonumber(ARGV[2])
if records > 0 and redis.call('ZSCORE', KEYS[7], ARGV[3]) then return { 1, now } end
local i = 3 + 2 * records
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local v = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
  if v ~= tonumber(ARGV[i + 1]) then return { 0, now } end
  i = i + 2
end
for r = 0, records - 1 do
  redis.call('XADD', KEYS[1], '*', 'r', ARGV[4 + 2 * r])
  redis.call('ZADD', KEYS[7], now, ARGV[3 + 2 * r])
end
if records > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. num(now - 86400000000)) end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
  if ARGV[i + 1] == '1' then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2]) else redis.call('HDEL', KEYS[3], ARGV[i]) end
  i = i + 3
end
n = tonumber(ARGV[i]); i = i + 1
local oldest = '(' .. num(now - retention)
local keep = math.floor(retention / 1000) + 1
for _ = 1, n do
  local id, project = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  local at = math.min(tonumber(ARGV[i + 2]), now)
  if not redis.call('ZSCORE', KEYS[4], id) then
    redis.call('ZADD', KEYS[4], at, id)
    redis.call('ZADD', project, at, id)
  end
  redis.call('ZREMRANGEBYSCORE', project, '-inf', oldest)
  redis.call('PEXPIRE', project, keep)
  i = i + 3
end
if n > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', oldest)
  redis.call('PEXPIRE', KEYS[4], keep)
end
if ARGV[i] == '1' then
  redis.call('HDEL', KEYS[5], ARGV[i + 1])
  redis.call('HDEL', KEYS[6], ARGV[i + 1])
end
return { 1, now }
");

        /// <summary>KEYS: ledger, document. ARGV: content, records…</summary>
        public static readonly RedisScript WriteDocument = new RedisScript("document", @"
for i = 2, #ARGV do redis.call('XADD', KEYS[1], '*', 'r', ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[1])
return 1
");

        /// <summary>KEYS: pause, then per window its log and its in-flight set. ARGV: permit id, in-flight µs, then per window
        /// its limit and hold µs. Returns granted, now, retry at µs, paused, blocker (window number), blocked by in-flight,
        /// remaining per window.</summary>
        public static readonly RedisScript TakePermit = new RedisScript("take-permit", @"
local now = now_us()
local id = ARGV[1]
local inflight = tonumber(ARGV[2])
local windows = (#KEYS - 1) / 2
for j = 1, windows do prune_permits(KEYS[2 * j], KEYS[2 * j + 1], now) end
local pause = tonumber(redis.call('GET', KEYS[1]) or '0')
if pause > now then return { 0, now, pause, 1, 0, 0, {} } end
local retry, blocker, blocked_in_flight = nil, 0, 0
for j = 1, windows do
  local log, flying = KEYS[2 * j], KEYS[2 * j + 1]
  local limit = tonumber(ARGV[1 + 2 * j])
  local count = redis.call('ZCARD', log)
  local mine = redis.call('ZSCORE', log, id)
  if mine then count = count - 1 end
  if count >= limit then
    local need = count - limit + 1
    local fetch = need
    if mine then fetch = fetch + 1 end
    local entries = redis.call('ZRANGE', log, 0, fetch - 1, 'WITHSCORES')
    local taken, at, any_in_flight = 0, 0, false
    for k = 1, #entries, 2 do
      if entries[k] ~= id then
        taken = taken + 1
        at = tonumber(entries[k + 1])
        if redis.call('SISMEMBER', flying, entries[k]) == 1 then any_in_flight = true end
        if taken == need then break end
      end
    end
    if retry == nil or at > retry then
      retry, blocker = at, j
      blocked_in_flight = any_in_flight and 1 or 0
    end
  end
end
if retry ~= nil then return { 0, now, retry, 0, blocker, blocked_in_flight, {} } end
local remaining = {}
for j = 1, windows do
  local log, flying = KEYS[2 * j], KEYS[2 * j + 1]
  local hold = tonumber(ARGV[2 + 2 * j])
  redis.call('ZADD', log, now + hold + inflight, id)
  redis.call('SADD', flying, id)
  local keep = math.ceil((hold + inflight) / 1000) + 1000
  keep_for(log, keep)
  keep_for(flying, keep)
  remaining[j] = tonumber(ARGV[1 + 2 * j]) - redis.call('ZCARD', log)
end
return { 1, now, 0, 0, 0, 0, remaining }
");

        /// <summary>KEYS: per window its log and its in-flight set. ARGV: permit id, then per window its hold µs.</summary>
        public static readonly RedisScript AnswerPermit = new RedisScript("answer-permit", @"
local now = now_us()
local id = ARGV[1]
for j = 1, #KEYS / 2 do
  local log, flying = KEYS[2 * j - 1], KEYS[2 * j]
  local hold = tonumber(ARGV[j + 1])
  if redis.call('ZSCORE', log, id) then
    redis.call('ZADD', log, 'XX', now + hold, id)
    keep_for(log, math.ceil(hold / 1000) + 1000)
  end
  redis.call('SREM', flying, id)
  prune_permits(log, flying, now)
end
return now
");

        /// <summary>KEYS: pause. ARGV: until µs. Only extends.</summary>
        public static readonly RedisScript PauseUntil = new RedisScript("pause", @"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local till = tonumber(ARGV[1])
if till > current then
  redis.call('SET', KEYS[1], num(till))
  redis.call('PEXPIREAT', KEYS[1], math.floor(till / 1000) + 1000)
end
return 1
");

        /// <summary>KEYS: owners. ARGV: owner, ttl µs.</summary>
        public static readonly RedisScript RenewOwner = new RedisScript("renew-owner", @"
local now = now_us()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now
");

        /// <summary>KEYS: owners, reservation owners, reservation projects. ARGV: owner.</summary>
        public static readonly RedisScript EndOwner = new RedisScript("end-owner", @"
local now = now_us()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now))
redis.call('ZREM', KEYS[1], ARGV[1])
local owners = redis.call('HGETALL', KEYS[2])
for k = 1, #owners, 2 do
  if owners[k + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[2], owners[k])
    redis.call('HDEL', KEYS[3], owners[k])
  end
end
return now
");

        /// <summary>KEYS: owners, runs, the project's runs, reservation owners, reservation projects. ARGV: reservation id,
        /// owner, project (upper case), window µs, weekly limit (-1: none), project limit (-1: none), force (1/0), retention µs,
        /// the records' clock now in µs (-1: the server's).
        /// Returns reserved, total, project, over limit, now.</summary>
        public static readonly RedisScript ReserveRun = new RedisScript("reserve-run", @"
local now = now_us()
local id, owner, project = ARGV[1], ARGV[2], ARGV[3]
local window, weekly, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local force, retention = ARGV[7] == '1', tonumber(ARGV[8])
-- The budget window is reckoned on the records' clock when the caller gives it (runs are scored by their records' time);
-- leases always on the server's.
local reckon = tonumber(ARGV[9])
if reckon < 0 then reckon = now end
redis.call('HDEL', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
local total, mine = 0, 0
local reservations = redis.call('HGETALL', KEYS[4])
for k = 1, #reservations, 2 do
  local rid, holder = reservations[k], reservations[k + 1]
  local lease = redis.call('ZSCORE', KEYS[1], holder)
  if lease and tonumber(lease) > now then
    total = total + 1
    if redis.call('HGET', KEYS[5], rid) == project then mine = mine + 1 end
  else
    redis.call('HDEL', KEYS[4], rid)
    redis.call('HDEL', KEYS[5], rid)
  end
end
local oldest = '(' .. num(math.min(now, reckon) - retention)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', oldest)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', oldest)
local since = num(reckon - window)
total = total + redis.call('ZCOUNT', KEYS[2], since, '+inf')
mine = mine + redis.call('ZCOUNT', KEYS[3], since, '+inf')
local over = (weekly >= 0 and total + 1 > weekly) or (limit >= 0 and mine + 1 > limit)
local reserved = force or not over
if reserved then
  redis.call('HSET', KEYS[4], id, owner)
  redis.call('HSET', KEYS[5], id, project)
end
return { reserved and 1 or 0, total, mine, over and 1 or 0, now }
");

        /// <summary>KEYS: reservation owners, reservation projects. ARGV: reservation id.</summary>
        public static readonly RedisScript ReleaseRun = new RedisScript("release-run", @"
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
");

        /// <summary>Returns the server's TIME in µs (for <see cref="RedisStateStore.NowAsync"/>).</summary>
        public static readonly RedisScript Now = new RedisScript("now", @"
return now_us()
");
    }
}
