using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using HexCost.Ledger;
using StackExchange.Redis;

namespace HexCost.State
{
    /// <summary>
    /// The shared state store on a Redis server (6.0 or newer; Redis Cluster works, a workspace lives in one slot). Layout,
    /// every key under <c>hexcost:{orgId}:</c>: <c>ledger</c> (a stream; a record is field r of an entry, the cursor is the
    /// entry id), <c>versions</c> and <c>entries</c> (hashes of the index), <c>owners</c> (sorted set of lease ends),
    /// <c>runs</c> and <c>runs:PROJECT</c> (sorted sets of budget runs by start), <c>reservations:owner</c> and
    /// <c>reservations:project</c> (hashes by reservation id), <c>pause</c>, <c>permits:WINDOW</c> and
    /// <c>inflight:WINDOW</c> (a window's log by expiry, and its unanswered permits), <c>doc:NAME</c>.
    /// Each operation is one script (<see cref="RedisScript"/>) run by EVALSHA, timed by the server's clock.
    /// StackExchange.Redis stays out of every public signature: the Redis client loads only when a store is connected.
    /// </summary>
    public sealed class RedisStateStore : IHexStateStore
    {
        private static readonly Regex SimpleName = new Regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant);
        private const long UnixEpochTicks = 621355968000000000L;

        private readonly ConnectionMultiplexer _connection;
        private readonly IDatabase _db;
        private readonly RedisEndpoint _endpoint;
        private readonly TimeSpan _operationTimeout;
        private readonly string _prefix;
        private readonly HashSet<string> _cached = new HashSet<string>(StringComparer.Ordinal);
        private int _disposed;

        private RedisStateStore(ConnectionMultiplexer connection, RedisEndpoint endpoint, string orgId, TimeSpan operationTimeout)
        {
            _connection = connection;
            _endpoint = endpoint;
            _operationTimeout = operationTimeout;
            _db = connection.GetDatabase(endpoint.Database);
            _prefix = "hexcost:{" + KeyPart(orgId) + "}:";
        }

        /// <summary>The server, without user or password (<c>redis://host:port[/db]</c>).</summary>
        public string Location => _endpoint.Location;

        /// <summary>Connects to the server of <paramref name="options"/> for workspace <paramref name="orgId"/>.</summary>
        /// <exception cref="StateStoreUnavailableException">The server cannot be reached or refused the credentials (there is
        /// no fallback to a local file).</exception>
        public static async Task<RedisStateStore> ConnectAsync(RedisStoreOptions options, string orgId, CancellationToken cancellationToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrEmpty(orgId)) throw new ArgumentException("A workspace (org id) is required.", nameof(orgId));
            var endpoint = options.Parse();
            var connectTimeout = options.ConnectTimeout > TimeSpan.Zero ? options.ConnectTimeout : TimeSpan.FromSeconds(5);
            var operationTimeout = options.OperationTimeout > TimeSpan.Zero ? options.OperationTimeout : TimeSpan.FromSeconds(10);
            var config = new ConfigurationOptions
            {
                AbortOnConnectFail = true,
                ConnectRetry = 1,
                ConnectTimeout = Milliseconds(connectTimeout),
                AsyncTimeout = Milliseconds(operationTimeout),
                SyncTimeout = Milliseconds(operationTimeout),
                AllowAdmin = true, // CONFIG GET, for DurabilityWarningsAsync only
                ClientName = "HexCost",
                DefaultDatabase = endpoint.Database,
                Ssl = endpoint.Tls,
                User = endpoint.User,
                Password = endpoint.Password,
            };
            config.EndPoints.Add(endpoint.Host, endpoint.Port);
            if (endpoint.Tls)
            {
                config.SslHost = endpoint.Host;
                if (!string.IsNullOrEmpty(options.TrustedCertificateAuthorityPath)) config.TrustIssuer(options.TrustedCertificateAuthorityPath!);
            }

            // Resolving, connecting and finding the cause of a failure share one deadline: the timeout and a second's grace.
            var deadline = DateTime.UtcNow + connectTimeout + TimeSpan.FromSeconds(1);
            TimeSpan Left() => Max(deadline - DateTime.UtcNow, TimeSpan.FromMilliseconds(200));
            await ResolveAsync(endpoint, connectTimeout, cancellationToken).ConfigureAwait(false);
            // The client's log, only searched for the cause of a failure (its exception does not say); never shown.
            var logText = new StringWriter(CultureInfo.InvariantCulture);
            var log = TextWriter.Synchronized(logText);
            string Logged()
            {
                lock (log) return logText.ToString();
            }
            var connecting = ConnectionMultiplexer.ConnectAsync(config, log);
            ConnectionMultiplexer connection;
            try
            {
                // The client's own timeout covers each attempt; this bounds TLS too.
                connection = await WithCancellation(connecting, Left(), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException ex)
            {
                _ = connecting.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
                throw Unreachable(endpoint, NoAnswer(endpoint, connectTimeout), ex);
            }
            catch (OperationCanceledException)
            {
                _ = connecting.ContinueWith(t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
                throw;
            }
            catch (Exception ex) when (ex is RedisException || ex is SocketException || ex is AuthenticationException || ex is AggregateException)
            {
                var cause = CauseIn(Logged(), endpoint) ?? CauseOf(ex, endpoint)
                            ?? await DiagnoseAsync(endpoint, connectTimeout, Left(), cancellationToken).ConfigureAwait(false)
                            ?? "no connection could be made (a wrong host or port, a firewall, or a server that does not speak Redis" + (endpoint.Tls ? " over TLS" : "") + ")";
                throw Unreachable(endpoint, cause, ex);
            }

            var store = new RedisStateStore(connection, endpoint, orgId, operationTimeout);
            try
            {
                await store.CheckUserAsync(cancellationToken).ConfigureAwait(false);
                await store.NowAsync(cancellationToken).ConfigureAwait(false);
                return store;
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        /// <summary>A client whose AUTH failed can stay connected as the default user (when that one needs no password): with
        /// credentials given, the server must say it is that user.</summary>
        private async Task CheckUserAsync(CancellationToken cancellationToken)
        {
            if (_endpoint.User == null && _endpoint.Password == null) return;
            string? who;
            try
            {
                who = (string?)await CallAsync("check the user", db => db.ExecuteAsync("ACL", "WHOAMI"), cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreException ex) when (ex.InnerException is RedisServerException server)
            {
                if (IsAuthError(server.Message)) throw Unreachable(_endpoint, AuthFailed, ex);
                return; // a server before ACLs (Redis 5), or a user that may not ask: AUTH either worked or the next call says NOAUTH
            }
            if (!string.Equals(who, _endpoint.User ?? "default", StringComparison.Ordinal)) throw Unreachable(_endpoint, AuthFailed, null);
        }

        private static async Task ResolveAsync(RedisEndpoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (System.Net.IPAddress.TryParse(endpoint.Host, out _)) return;
            try
            {
                var addresses = await WithCancellation(System.Net.Dns.GetHostAddressesAsync(endpoint.Host), timeout, cancellationToken).ConfigureAwait(false);
                if (addresses.Length == 0) throw Unreachable(endpoint, "the host name " + endpoint.Host + " does not resolve (DNS)", null);
            }
            catch (TimeoutException ex)
            {
                throw Unreachable(endpoint, "the host name " + endpoint.Host + " did not resolve within " + Seconds(timeout) + " s (DNS)", ex);
            }
            catch (SocketException ex)
            {
                throw Unreachable(endpoint, "the host name " + endpoint.Host + " does not resolve (DNS: " + ex.SocketErrorCode + ")", ex);
            }
        }

        /// <summary>What could lose or evict this store's state on the server: append-only file off or not flushed on every
        /// write, an eviction policy other than noeviction; or one warning that CONFIG GET is not allowed, so nothing could be
        /// checked. Empty when the server keeps every commit.</summary>
        public async Task<IReadOnlyList<string>> DurabilityWarningsAsync(CancellationToken cancellationToken)
        {
            string appendOnly, appendFsync, policy;
            try
            {
                appendOnly = await ConfigGetAsync("appendonly", cancellationToken).ConfigureAwait(false);
                appendFsync = await ConfigGetAsync("appendfsync", cancellationToken).ConfigureAwait(false);
                policy = await ConfigGetAsync("maxmemory-policy", cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreException ex) when (!(ex is StateStoreUnavailableException) && !(ex is StateStoreBusyException))
            {
                return new[]
                {
                    $"HexCost could not check how the Redis server at {_endpoint.HostPort} keeps its data: CONFIG GET is not allowed ({ex.InnerException?.Message ?? ex.Message}). "
                    + "Make sure it runs with appendonly yes, appendfsync always (or everysec) and maxmemory-policy noeviction, or records may be lost.",
                };
            }
            var warnings = new List<string>();
            if (!string.Equals(appendOnly, "yes", StringComparison.OrdinalIgnoreCase))
                warnings.Add($"The Redis server at {_endpoint.HostPort} runs without its append-only file (appendonly {appendOnly}): ledger records and index entries written since its last snapshot are lost when it stops. Set appendonly yes with appendfsync always.");
            else if (string.Equals(appendFsync, "no", StringComparison.OrdinalIgnoreCase))
                warnings.Add($"The Redis server at {_endpoint.HostPort} leaves flushing its append-only file to the operating system (appendfsync no): a crash of the machine can lose the last 30 s or so of records. Set appendfsync always.");
            else if (string.Equals(appendFsync, "everysec", StringComparison.OrdinalIgnoreCase))
                warnings.Add($"The Redis server at {_endpoint.HostPort} flushes its append-only file once a second (appendfsync everysec): a crash of the machine can lose about the last second of records. Set appendfsync always to lose none.");
            if (!string.Equals(policy, "noeviction", StringComparison.OrdinalIgnoreCase))
                warnings.Add($"The Redis server at {_endpoint.HostPort} evicts keys when its memory is full (maxmemory-policy {policy}): HexCost's ledger, index or leases could be deleted. Set maxmemory-policy noeviction.");
            return warnings;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
            _connection.Dispose();
        }

        public async Task<DateTimeOffset> NowAsync(CancellationToken cancellationToken)
        {
            var result = await RunAsync(RedisScript.Now, "read the server's clock", Array.Empty<RedisKey>(), Array.Empty<RedisValue>(), cancellationToken).ConfigureAwait(false);
            return Instant((long)result);
        }

        // ---- Index entries and the ledger -----------------------------------------------------------------------------

        public async Task<StoreView> ReadAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
        {
            if (keys == null) throw new ArgumentNullException(nameof(keys));
            var distinct = keys.Distinct(StringComparer.Ordinal).ToList();
            if (distinct.Any(k => k == null)) throw new ArgumentException("An index key is null.", nameof(keys));
            var result = (RedisResult[])(await RunAsync(RedisScript.Read, "read the index",
                new RedisKey[] { Key("versions"), Key("entries"), Key("owners") }, distinct.Select(k => (RedisValue)k).ToArray(), cancellationToken).ConfigureAwait(false))!;
            var now = Instant((long)result[0]);
            var owners = ((RedisResult[])result[1]!).Select(o => (string)o!).ToList();
            var entries = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
            for (var i = 0; i < distinct.Count; i++)
            {
                var version = long.Parse((string)result[2 + 2 * i]!, NumberStyles.Integer, CultureInfo.InvariantCulture);
                var value = result[3 + 2 * i];
                entries[distinct[i]] = new StoreEntry(distinct[i], value.IsNull ? null : (string?)value, version);
            }
            return new StoreView(now, entries, owners);
        }

        public async Task<CommitResult> CommitAsync(StoreCommit commit, CancellationToken cancellationToken)
        {
            if (commit == null) throw new ArgumentNullException(nameof(commit));
            var records = Serialize(commit.Records);
            var keys = new List<RedisKey>
            {
                Key("ledger"), Key("versions"), Key("entries"), Key("runs"), Key("reservations:owner"), Key("reservations:project"), Key("recent"),
            };
            var args = new List<RedisValue> { Micros(FileStateStore.BudgetRetention), records.Count };
            for (var r = 0; r < records.Count; r++)
            {
                args.Add(commit.Records[r].Id);
                args.Add(records[r]);
            }
            args.Add(commit.Expect.Count);
            foreach (var expect in commit.Expect)
            {
                if (expect.Key == null) throw new ArgumentException("An expected key is null.", nameof(commit));
                args.Add(expect.Key);
                args.Add(expect.Value);
            }
            args.Add(commit.Writes.Count);
            foreach (var write in commit.Writes)
            {
                if (write.Key == null) throw new ArgumentException("A written key is null.", nameof(commit));
                args.Add(write.Key);
                args.Add(write.Value == null ? "0" : "1");
                args.Add(write.Value ?? "");
            }
            args.Add(commit.BudgetAdds.Count);
            var projectKeys = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var add in commit.BudgetAdds)
            {
                var project = ProjectKey(add.ProjectId);
                if (!projectKeys.TryGetValue(project, out var index))
                {
                    keys.Add(Key("runs:" + project));
                    projectKeys[project] = index = keys.Count;
                }
                args.Add(add.Id);
                args.Add(index);
                args.Add(Micros(add.At));
            }
            args.Add(commit.EndReservation != null ? "1" : "0");
            args.Add(commit.EndReservation ?? "");
            var result = (RedisResult[])(await RunAsync(RedisScript.Commit, "commit", keys.ToArray(), args.ToArray(), cancellationToken).ConfigureAwait(false))!;
            var committed = (long)result[0] == 1;
            if (committed && commit.Records.Count > 0) await WaitForReplicasAsync(cancellationToken).ConfigureAwait(false);
            return new CommitResult(committed, Instant((long)result[1]));
        }

        private int _replicas = -1;

        /// <summary>A server with replicas: a commit returns once one replica has it too (WAIT, up to half a second), so a
        /// failover to that replica keeps a claim made just before a trigger. A server without replicas: nothing to wait for.</summary>
        private async Task WaitForReplicasAsync(CancellationToken cancellationToken)
        {
            if (_replicas < 0)
            {
                try
                {
                    var info = (string?)await CallAsync("read the replication state", db => db.ExecuteAsync("INFO", "replication"), cancellationToken).ConfigureAwait(false) ?? "";
                    var line = info.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("connected_slaves:", StringComparison.Ordinal));
                    _replicas = line != null && int.TryParse(line.Substring("connected_slaves:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
                }
                catch (StateStoreException denied) when (!(denied is StateStoreUnavailableException) && !(denied is StateStoreBusyException))
                {
                    // An ACL user without INFO: nothing to wait for that HexCost can see (said by DurabilityWarningsAsync's check).
                    _replicas = 0;
                }
            }
            if (_replicas == 0) return;
            try
            {
                await CallAsync("wait for a replica", db => db.ExecuteAsync("WAIT", 1, 500), cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreException denied) when (!(denied is StateStoreUnavailableException) && !(denied is StateStoreBusyException))
            {
                _replicas = 0;
            }
        }

        public async Task<RecordPage> ReadRecordsAsync(string? after, int max, CancellationToken cancellationToken)
        {
            if (max < 1) throw new ArgumentOutOfRangeException(nameof(max), max, "A page holds at least one record.");
            var start = after == null ? "-" : NextId(after);
            var entries = await CallAsync("read the ledger", db => db.StreamRangeAsync(Key("ledger"), start, "+", max), cancellationToken).ConfigureAwait(false);
            var records = new List<LedgerRecord>(entries.Length);
            var skipped = 0;
            var next = after;
            foreach (var entry in entries)
            {
                next = (string?)entry.Id;
                var value = entry["r"];
                var bytes = value.IsNull ? null : (byte[]?)value;
                var record = bytes == null ? null : FileStateStore.ParseRecord(bytes, 0, bytes.Length);
                if (record == null) skipped++;
                else records.Add(record);
            }
            return new RecordPage(records, next, skipped);
        }

        public async Task<string?> EndCursorAsync(CancellationToken cancellationToken)
        {
            var last = await CallAsync("read the ledger", db => db.StreamRangeAsync(Key("ledger"), "-", "+", 1, Order.Descending), cancellationToken).ConfigureAwait(false);
            return last.Length == 0 ? "0-0" : (string?)last[0].Id;
        }

        // ---- Owners ---------------------------------------------------------------------------------------------------

        public Task RenewOwnerAsync(string owner, TimeSpan ttl, CancellationToken cancellationToken)
        {
            RequireText(owner, nameof(owner));
            return RunAsync(RedisScript.RenewOwner, "renew the lease of " + owner, new RedisKey[] { Key("owners") }, new RedisValue[] { owner, Micros(ttl) }, cancellationToken);
        }

        public Task EndOwnerAsync(string owner, CancellationToken cancellationToken)
        {
            RequireText(owner, nameof(owner));
            return RunAsync(RedisScript.EndOwner, "end the lease of " + owner,
                new RedisKey[] { Key("owners"), Key("reservations:owner"), Key("reservations:project") }, new RedisValue[] { owner }, cancellationToken);
        }

        // ---- Rate permits ---------------------------------------------------------------------------------------------

        public async Task<PermitDecision> TakePermitAsync(PermitRequest request, CancellationToken cancellationToken)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            foreach (var window in request.Windows)
            {
                if (window.Limit < 1) throw new ArgumentOutOfRangeException(nameof(request), window.Limit, $"Window {window.Key} must allow at least one permit.");
            }
            var keys = new List<RedisKey> { Key("pause") };
            var args = new List<RedisValue> { request.PermitId, Micros(request.InFlight) };
            foreach (var window in request.Windows)
            {
                keys.Add(Key("permits:" + window.Key));
                keys.Add(Key("inflight:" + window.Key));
                args.Add(window.Limit);
                args.Add(Micros(window.Hold));
            }
            var result = (RedisResult[])(await RunAsync(RedisScript.TakePermit, "take a rate permit", keys.ToArray(), args.ToArray(), cancellationToken).ConfigureAwait(false))!;
            var now = Instant((long)result[1]);
            if ((long)result[0] != 1)
            {
                var paused = (long)result[3] == 1;
                var blocker = (int)(long)result[4];
                return new PermitDecision
                {
                    Now = now,
                    RetryAt = Instant((long)result[2]),
                    Paused = paused,
                    Blocker = paused ? null : request.Windows[blocker - 1].Key,
                    BlockedByInFlight = (long)result[5] == 1,
                };
            }
            var counts = (RedisResult[])result[6]!;
            var remaining = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < request.Windows.Count; i++) remaining[request.Windows[i].Key] = (int)(long)counts[i];
            return new PermitDecision { Granted = true, Now = now, Remaining = remaining };
        }

        public Task AnswerPermitAsync(string permitId, IReadOnlyList<PermitWindow> windows, CancellationToken cancellationToken)
        {
            if (windows == null) throw new ArgumentNullException(nameof(windows));
            if (windows.Count == 0) return Task.CompletedTask;
            var keys = new List<RedisKey>();
            var args = new List<RedisValue> { permitId };
            foreach (var window in windows)
            {
                keys.Add(Key("permits:" + window.Key));
                keys.Add(Key("inflight:" + window.Key));
                args.Add(Micros(window.Hold));
            }
            return RunAsync(RedisScript.AnswerPermit, "answer a rate permit", keys.ToArray(), args.ToArray(), cancellationToken);
        }

        public Task PauseUntilAsync(DateTimeOffset until, CancellationToken cancellationToken) =>
            RunAsync(RedisScript.PauseUntil, "pause the workspace's permits", new RedisKey[] { Key("pause") }, new RedisValue[] { MicrosUp(until) }, cancellationToken);

        // ---- Run budget -----------------------------------------------------------------------------------------------

        public async Task<BudgetDecision> ReserveRunAsync(BudgetRequest request, CancellationToken cancellationToken)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            RequireText(request.ReservationId, nameof(request.ReservationId));
            var project = ProjectKey(request.ProjectId);
            var result = (RedisResult[])(await RunAsync(RedisScript.ReserveRun, "reserve a run",
                new RedisKey[] { Key("owners"), Key("runs"), Key("runs:" + project), Key("reservations:owner"), Key("reservations:project") },
                new RedisValue[]
                {
                    request.ReservationId, request.Owner ?? "", project, Micros(request.Window), request.WeeklyLimit ?? -1, request.ProjectLimit ?? -1,
                    request.Force ? "1" : "0", Micros(FileStateStore.BudgetRetention), request.Now.HasValue ? Micros(request.Now.Value) : -1,
                }, cancellationToken).ConfigureAwait(false))!;
            return new BudgetDecision
            {
                Reserved = (long)result[0] == 1,
                Total = (int)(long)result[1],
                Project = (int)(long)result[2],
                OverLimit = (long)result[3] == 1,
                Now = Instant((long)result[4]),
            };
        }

        public Task ReleaseRunAsync(string reservationId, CancellationToken cancellationToken) =>
            RunAsync(RedisScript.ReleaseRun, "release a run reservation", new RedisKey[] { Key("reservations:owner"), Key("reservations:project") },
                new RedisValue[] { reservationId ?? "" }, cancellationToken);

        // ---- Documents ------------------------------------------------------------------------------------------------

        public async Task<string?> ReadDocumentAsync(string name, CancellationToken cancellationToken)
        {
            var key = DocumentKey(name);
            var value = await CallAsync("read the document " + name, db => db.StringGetAsync(key), cancellationToken).ConfigureAwait(false);
            return value.IsNull ? null : (string?)value;
        }

        public Task WriteDocumentAsync(string name, string content, IReadOnlyList<LedgerRecord> records, CancellationToken cancellationToken)
        {
            var key = DocumentKey(name);
            if (content == null) throw new ArgumentNullException(nameof(content));
            var args = new List<RedisValue> { content };
            args.AddRange(Serialize(records ?? Array.Empty<LedgerRecord>()).Select(r => (RedisValue)r));
            return RunAsync(RedisScript.WriteDocument, "write the document " + name, new[] { Key("ledger"), key }, args.ToArray(), cancellationToken);
        }

        // ---- Calls ----------------------------------------------------------------------------------------------------

        private async Task<RedisResult> RunAsync(RedisScript script, string what, RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
        {
            bool cached;
            lock (_cached) cached = _cached.Contains(script.Name);
            try
            {
                var result = await CallAsync(what, db => cached ? db.ScriptEvaluateAsync(script.Sha1, keys, args) : db.ScriptEvaluateAsync(script.Text, keys, args), cancellationToken).ConfigureAwait(false);
                if (!cached) lock (_cached) _cached.Add(script.Name);
                return result;
            }
            catch (StateStoreException ex) when (ex.InnerException is RedisServerException server && server.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // The server lost its script cache (a restart, SCRIPT FLUSH, another node of a cluster): send the script again.
                lock (_cached) _cached.Remove(script.Name);
                var result = await CallAsync(what, db => db.ScriptEvaluateAsync(script.Text, keys, args), cancellationToken).ConfigureAwait(false);
                lock (_cached) _cached.Add(script.Name);
                return result;
            }
        }

        /// <summary>One call to the server, bounded by the cancellation token; retried while the server is loading its data or
        /// busy with a script (up to the operation timeout); failures as <see cref="StateStoreException"/>s.</summary>
        private async Task<T> CallAsync<T>(string what, Func<IDatabase, Task<T>> call, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _disposed) == 1) throw new ObjectDisposedException(nameof(RedisStateStore));
            cancellationToken.ThrowIfCancellationRequested();
            var started = DateTime.UtcNow;
            var delay = 20;
            while (true)
            {
                try
                {
                    return await WithCancellation(call(_db), null, cancellationToken).ConfigureAwait(false);
                }
                catch (RedisServerException ex) when (IsTransient(ex) && DateTime.UtcNow - started < _operationTimeout)
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = Math.Min(delay * 2, 250);
                }
                catch (RedisServerException ex) when (IsTransient(ex))
                {
                    throw new StateStoreBusyException(
                        $"The Redis state store at {_endpoint.HostPort} stayed busy for {Seconds(_operationTimeout)} s ({ex.Message}) when HexCost tried to {what}. Try again when it has finished.", ex);
                }
                catch (RedisServerException ex) when (IsAuthError(ex.Message))
                {
                    throw Unreachable(_endpoint, AuthFailed, ex);
                }
                catch (RedisServerException ex)
                {
                    throw new StateStoreException(ServerError(ex, what), ex);
                }
                catch (RedisTimeoutException ex) when (_connection.IsConnected)
                {
                    throw new StateStoreBusyException(
                        $"The Redis state store at {_endpoint.HostPort} did not answer within {Seconds(_operationTimeout)} s when HexCost tried to {what}. "
                        + "It may be overloaded; whether this step was applied is known only once it answers again. Try again later.", ex);
                }
                catch (Exception ex) when (ex is RedisConnectionException || ex is RedisTimeoutException || ex is SocketException)
                {
                    throw new StateStoreUnavailableException(
                        $"The Redis state store at {_endpoint.HostPort} went away when HexCost tried to {what} ({CauseOf(ex, _endpoint) ?? "the connection is down"}). "
                        + "HexCost stopped here: there is no fallback to a local file, and a step in flight may or may not have been applied. Run the command again once Redis is back.", ex);
                }
            }
        }

        private async Task<string> ConfigGetAsync(string name, CancellationToken cancellationToken)
        {
            var result = await CallAsync("read CONFIG " + name, db => db.ExecuteAsync("CONFIG", "GET", name), cancellationToken).ConfigureAwait(false);
            var pair = (RedisResult[])result!;
            return pair.Length >= 2 ? (string?)pair[1] ?? "" : "";
        }

        private static bool IsTransient(RedisServerException ex) =>
            ex.Message.StartsWith("LOADING", StringComparison.Ordinal) || ex.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || ex.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal) || ex.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal);

        private string ServerError(RedisServerException ex, string what)
        {
            var message = ex.Message;
            if (message.StartsWith("NOPERM", StringComparison.Ordinal))
                return $"The Redis user may not {what} on {_endpoint.HostPort} ({message}). Give it +@read +@write +@scripting +@stream and the keys hexcost:*.";
            if (message.StartsWith("OOM", StringComparison.Ordinal))
                return $"The Redis server at {_endpoint.HostPort} is out of memory (maxmemory) and refused to {what}: nothing was written. Free memory or raise maxmemory.";
            if (message.StartsWith("READONLY", StringComparison.Ordinal))
                return $"The Redis server at {_endpoint.HostPort} is a read-only replica and refused to {what}. Point HexCost at the primary.";
            return $"The Redis server at {_endpoint.HostPort} refused to {what}: {message}";
        }

        private static async Task<T> WithCancellation<T>(Task<T> task, TimeSpan? timeout, CancellationToken cancellationToken)
        {
            if (task.IsCompleted || (!cancellationToken.CanBeCanceled && timeout == null)) return await task.ConfigureAwait(false);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout.HasValue) stop.CancelAfter(timeout.Value);
            var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (stop.Token.Register(() => stopped.TrySetResult(true)))
            {
                if (await Task.WhenAny(task, stopped.Task).ConfigureAwait(false) == task) return await task.ConfigureAwait(false);
            }
            _ = task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException();
        }

        // ---- Connection failures --------------------------------------------------------------------------------------

        private const string AuthFailed = "the server refused the user name or password (check the credential and the ACL user)";

        private static bool IsAuthError(string message) =>
            message.StartsWith("WRONGPASS", StringComparison.Ordinal) || message.StartsWith("NOAUTH", StringComparison.Ordinal)
            || message.IndexOf("invalid username-password", StringComparison.OrdinalIgnoreCase) >= 0;

        private static string NoAnswer(RedisEndpoint endpoint, TimeSpan timeout) =>
            $"no answer within {Seconds(timeout)} s (a wrong host or port, a firewall that drops the connection, or a server that does not speak Redis{(endpoint.Tls ? " over TLS" : "")})";

        /// <summary>The cause a failed connection's log names, if it names one.</summary>
        private static string? CauseIn(string log, RedisEndpoint endpoint)
        {
            if (endpoint.Tls && (log.IndexOf("AuthenticationException", StringComparison.Ordinal) >= 0 || log.IndexOf("certificate", StringComparison.OrdinalIgnoreCase) >= 0
                                 || log.IndexOf("SSL", StringComparison.Ordinal) >= 0))
                return TlsFailed(endpoint);
            if (log.IndexOf("WRONGPASS", StringComparison.Ordinal) >= 0 || log.IndexOf("NOAUTH", StringComparison.Ordinal) >= 0
                || (!endpoint.Tls && log.IndexOf("AuthenticationFailure", StringComparison.Ordinal) >= 0))
                return AuthFailed;
            if (log.IndexOf("Connection refused", StringComparison.OrdinalIgnoreCase) >= 0 || log.IndexOf("ConnectionRefused", StringComparison.Ordinal) >= 0)
                return Refused;
            return null;
        }

        private const string Refused = "the connection was refused (nothing listens on that port, or a firewall rejects it)";

        private static string TlsFailed(RedisEndpoint endpoint) =>
            "the TLS handshake failed (the server's certificate is not trusted or does not name " + endpoint.Host + ", or the server does not speak TLS)";

        private static StateStoreUnavailableException Unreachable(RedisEndpoint endpoint, string cause, Exception? inner) =>
            new StateStoreUnavailableException(
                $"HexCost could not reach the Redis state store at {endpoint.HostPort}: {cause}. There is no fallback to a local file: "
                + "fix the connection (or the credentials), or open the session without the Redis store.", inner);

        /// <summary>The client does not always say why it could not connect: a plain TCP connection (and TLS handshake) says.</summary>
        private static async Task<string?> DiagnoseAsync(RedisEndpoint endpoint, TimeSpan connectTimeout, TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var client = new TcpClient();
            try
            {
                await WithCancellation(client.ConnectAsync(endpoint.Host, endpoint.Port).ContinueWith(t =>
                {
                    t.GetAwaiter().GetResult();
                    return true;
                }, TaskScheduler.Default), timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return NoAnswer(endpoint, connectTimeout);
            }
            catch (SocketException ex)
            {
                return CauseOf(ex, endpoint);
            }
            if (!endpoint.Tls) return null;
            var errors = System.Net.Security.SslPolicyErrors.None;
            using var tls = new System.Net.Security.SslStream(client.GetStream(), false, (_, _, _, e) =>
            {
                errors = e;
                return true;
            });
            try
            {
                await WithCancellation(tls.AuthenticateAsClientAsync(endpoint.Host).ContinueWith(t =>
                {
                    t.GetAwaiter().GetResult();
                    return true;
                }, TaskScheduler.Default), timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException || ex is AuthenticationException || ex is TimeoutException)
            {
                return "the TLS handshake failed (does the server speak TLS on that port?)";
            }
            if ((errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                return "the TLS handshake failed: the server's certificate does not name " + endpoint.Host;
            if ((errors & System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                return "the TLS handshake failed: the server's certificate is not trusted (give the certificate of the authority that issued it)";
            return null;
        }

        private static string? CauseOf(Exception ex, RedisEndpoint endpoint)
        {
            for (var e = ex; e != null; e = e.InnerException)
            {
                if (e is RedisConnectionException rce && rce.FailureType == ConnectionFailureType.AuthenticationFailure && !endpoint.Tls) return AuthFailed;
                if (e is AuthenticationException) return TlsFailed(endpoint);
                if (e is SocketException socket)
                {
                    switch (socket.SocketErrorCode)
                    {
                        case SocketError.ConnectionRefused: return Refused;
                        case SocketError.HostNotFound:
                        case SocketError.TryAgain:
                        case SocketError.NoData: return "the host name " + endpoint.Host + " does not resolve (DNS)";
                        case SocketError.TimedOut: return "no answer (a wrong host, or a firewall that drops the connection)";
                        case SocketError.NetworkUnreachable:
                        case SocketError.HostUnreachable: return "the network cannot reach that host";
                        case SocketError.ConnectionReset: return "the server closed the connection";
                    }
                }
            }
            var text = Flatten(ex);
            if (text.IndexOf("WRONGPASS", StringComparison.Ordinal) >= 0 || text.IndexOf("NOAUTH", StringComparison.Ordinal) >= 0) return AuthFailed;
            if (text.IndexOf("refused", StringComparison.OrdinalIgnoreCase) >= 0) return Refused;
            return null;
        }

        private static string Flatten(Exception ex)
        {
            var text = new StringBuilder();
            for (var e = ex; e != null; e = e.InnerException) text.Append(e.Message).Append(' ');
            if (ex is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions) text.Append(Flatten(inner));
            }
            return text.ToString();
        }

        // ---- Keys and values ------------------------------------------------------------------------------------------

        private RedisKey Key(string name) => _prefix + name;

        private RedisKey DocumentKey(string name)
        {
            if (name == null || !SimpleName.IsMatch(name))
                throw new ArgumentException($"'{name}' is not a document name: use letters, digits, '-' and '_' (at most 64), such as spend-policy.", nameof(name));
            return Key("doc:" + name);
        }

        /// <summary>Projects compare case-insensitively (as the file store's OrdinalIgnoreCase does).</summary>
        private static string ProjectKey(string? projectId) => (projectId ?? "").ToUpperInvariant();

        /// <summary>A key part that cannot end the hash tag early: '{', '}' and '%' are escaped.</summary>
        private static string KeyPart(string value) => value.Replace("%", "%25").Replace("{", "%7B").Replace("}", "%7D");

        private static List<string> Serialize(IReadOnlyList<LedgerRecord> records)
        {
            var lines = new List<string>(records.Count);
            foreach (var record in records)
            {
                if (record == null) throw new ArgumentException("A record is null.", nameof(records));
                if (string.IsNullOrEmpty(record.Id)) record.Id = Guid.NewGuid().ToString("N");
                lines.Add(JsonSerializer.Serialize(record, FileStateStore.LedgerJson));
            }
            return lines;
        }

        /// <summary>The first stream id after <paramref name="cursor"/> (XRANGE's start is inclusive).</summary>
        private static string NextId(string cursor)
        {
            var dash = cursor.IndexOf('-');
            if (dash > 0 && ulong.TryParse(cursor.Substring(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                && ulong.TryParse(cursor.Substring(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                return seq == ulong.MaxValue
                    ? (ms + 1).ToString(CultureInfo.InvariantCulture) + "-0"
                    : ms.ToString(CultureInfo.InvariantCulture) + "-" + (seq + 1).ToString(CultureInfo.InvariantCulture);
            }
            throw new ArgumentException($"'{cursor}' is not a cursor of this store (a Redis stream id).", nameof(cursor));
        }

        private static long Micros(TimeSpan span) => span.Ticks <= 0 ? 0 : (span.Ticks + 9) / 10;

        private static long Micros(DateTimeOffset instant) => (instant.UtcTicks - UnixEpochTicks) / 10;

        private static long MicrosUp(DateTimeOffset instant) => (instant.UtcTicks - UnixEpochTicks + 9) / 10;

        private static DateTimeOffset Instant(long micros) => new DateTimeOffset(UnixEpochTicks + micros * 10, TimeSpan.Zero);

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

        private static int Milliseconds(TimeSpan span) => (int)Math.Min(int.MaxValue, Math.Max(1, Math.Ceiling(span.TotalMilliseconds)));

        private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);

        private static void RequireText(string value, string name)
        {
            if (string.IsNullOrEmpty(value)) throw new ArgumentException(name + " is required.", name);
        }
    }
}
