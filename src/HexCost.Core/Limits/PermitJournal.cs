using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;

namespace HexCost.Limits
{
    /// <summary>
    /// Permits taken by every process that shares a state directory, so their limiters add up to one budget. Each
    /// process, under an exclusive lock file, reads what the others took since it last looked, then takes its own
    /// permit and appends it. Entries go to one file per hour (permits-yyyyMMddHH.log); files older than two hours
    /// are deleted. Not durable on purpose: it only has to outlive the longest window.
    /// </summary>
    public sealed class PermitJournal
    {
        private static readonly TimeSpan Keep = TimeSpan.FromHours(2);
        private readonly string _directory;
        private readonly string _lockPath;
        private readonly string _me = Guid.NewGuid().ToString("N").Substring(0, 12);
        private readonly Dictionary<string, long> _offsets = new Dictionary<string, long>(StringComparer.Ordinal);

        public PermitJournal(string directory)
        {
            _directory = directory;
            Directory.CreateDirectory(directory);
            _lockPath = Path.Combine(directory, "permits.lock");
        }

        private long _sequence;

        /// <summary>A permit another process took (key: its owner and number) or answered (its response time).</summary>
        public interface IRemote
        {
            void Taken(string key, DateTimeOffset at, RequestKind kind);
            void Answered(string key, DateTimeOffset at);
        }

        /// <summary>Under the lock: <paramref name="remote"/> hears of every permit other processes took or got answers for
        /// since the last call, then <paramref name="take"/> decides; a kind it returns is appended as ours, and its number
        /// is returned for <see cref="Answered"/>.</summary>
        public T Exclusive<T>(DateTimeOffset now, IRemote remote, Func<(T Result, RequestKind? Taken)> take, out long? number)
        {
            number = null;
            using (HexCost.Ledger.StateFiles.AcquireLock(_lockPath, "permit journal"))
            {
                foreach (var file in CurrentFiles(now)) ReadNew(file, remote);
                var (result, taken) = take();
                if (taken.HasValue)
                {
                    number = Interlocked.Increment(ref _sequence);
                    Append(now, (taken.Value == RequestKind.RunProject ? "T" : taken.Value == RequestKind.Read ? "R" : "O") + " " + number.Value.ToString(CultureInfo.InvariantCulture));
                }
                return result;
            }
        }

        /// <summary>Our permit <paramref name="number"/> got its response at <paramref name="at"/>: others count it from then.</summary>
        public void Answered(long number, DateTimeOffset at)
        {
            using (HexCost.Ledger.StateFiles.AcquireLock(_lockPath, "permit journal")) Append(at, "D " + number.ToString(CultureInfo.InvariantCulture));
        }

        private IEnumerable<string> CurrentFiles(DateTimeOffset now)
        {
            var files = new List<string>();
            foreach (var path in Directory.GetFiles(_directory, "permits-*.log"))
            {
                var stamp = Path.GetFileNameWithoutExtension(path).Substring("permits-".Length);
                if (DateTime.TryParseExact(stamp, "yyyyMMddHH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var hour)
                    && now.UtcDateTime - hour > Keep + TimeSpan.FromHours(1))
                {
                    try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                    _offsets.Remove(path);
                    continue;
                }
                files.Add(path);
            }
            files.Sort(StringComparer.Ordinal);
            return files;
        }

        private void ReadNew(string path, IRemote remote)
        {
            _offsets.TryGetValue(path, out var offset);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= offset) return;
            stream.Seek(offset, SeekOrigin.Begin);
            var bytes = new byte[stream.Length - offset];
            var read = 0;
            while (read < bytes.Length)
            {
                var n = stream.Read(bytes, read, bytes.Length - read);
                if (n == 0) break;
                read += n;
            }
            var text = Encoding.ASCII.GetString(bytes, 0, read);
            var end = text.LastIndexOf('\n');
            if (end < 0) return;
            _offsets[path] = offset + end + 1;
            foreach (var line in text.Substring(0, end).Split('\n'))
            {
                var parts = line.Split(' ');
                if (parts.Length != 4 || parts[0] == _me) continue;
                if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) || ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) continue;
                var at = new DateTimeOffset(ticks, TimeSpan.Zero);
                var key = parts[0] + "/" + parts[3];
                if (parts[2] == "D") remote.Answered(key, at);
                else remote.Taken(key, at, parts[2] == "T" ? RequestKind.RunProject : parts[2] == "R" ? RequestKind.Read : RequestKind.Other);
            }
        }

        private void Append(DateTimeOffset now, string what)
        {
            var path = Path.Combine(_directory, "permits-" + now.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture) + ".log");
            var line = Encoding.ASCII.GetBytes(_me + " " + now.UtcTicks.ToString(CultureInfo.InvariantCulture) + " " + what + "\n");
            var isNew = !File.Exists(path);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            if (isNew) HexCost.Ledger.StateFiles.RestrictToOwner(path, isDirectory: false);
            stream.Write(line, 0, line.Length);
            // Our own line needs no reading back, provided nothing unread stands before it.
            var before = stream.Position - line.Length;
            if (_offsets.TryGetValue(path, out var offset) ? offset == before : before == 0) _offsets[path] = stream.Position;
        }
    }
}
