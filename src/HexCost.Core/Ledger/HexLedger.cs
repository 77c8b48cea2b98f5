using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using HexCost.Api;

namespace HexCost.Ledger
{
    /// <summary>
    /// Append-only JSON-lines ledger of one workspace. Appends from any thread or process are serialised by an
    /// exclusive lock file; a torn last line (a kill mid-write) is skipped on load and sealed with a newline
    /// before the next append, so it never swallows a later record.
    /// </summary>
    public sealed class HexLedger
    {
        public const string FileName = "ledger.jsonl";
        private static readonly byte[] NewLine = { (byte)'\n' };
        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        };

        private readonly object _readSync = new object();
        private readonly object _appendSync = new object();
        private readonly string _lockPath;
        private long _readOffset;

        public HexLedger(string directory)
        {
            Directory = directory;
            System.IO.Directory.CreateDirectory(directory);
            StateFiles.RestrictToOwner(directory, isDirectory: true);
            FilePath = Path.Combine(directory, FileName);
            _lockPath = Path.Combine(directory, "ledger.lock");
        }

        public string Directory { get; }
        public string FilePath { get; }

        /// <summary>Lines skipped so far because they were not a whole record.</summary>
        public int SkippedLines { get; private set; }

        /// <summary>Every record in the file, from the start.</summary>
        public IReadOnlyList<LedgerRecord> ReadAll()
        {
            lock (_readSync)
            {
                _readOffset = 0;
                SkippedLines = 0;
                return ReadNewLocked();
            }
        }

        /// <summary>Records appended (by anyone) since the last read.</summary>
        public IReadOnlyList<LedgerRecord> ReadNew()
        {
            lock (_readSync) return ReadNewLocked();
        }

        public void Append(LedgerRecord record)
        {
            if (record == null) throw new ArgumentNullException(nameof(record));
            lock (_appendSync)
            {
                using (StateFiles.AcquireLock(_lockPath, "ledger")) AppendLocked(record);
            }
        }

        /// <summary>Runs <paramref name="decide"/> while holding the ledger's exclusive lock (no other process can append
        /// meanwhile) and appends the record it returns, if any: a check-then-append that is atomic across processes.</summary>
        public T Exclusive<T>(Func<Action<LedgerRecord>, T> decide)
        {
            lock (_appendSync)
            {
                using (StateFiles.AcquireLock(_lockPath, "ledger")) return decide(AppendLocked);
            }
        }

        private void AppendLocked(LedgerRecord record)
        {
            var line = JsonSerializer.SerializeToUtf8Bytes(record, Json);
            using var stream = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var isNew = stream.Length == 0;
            if (!isNew)
            {
                stream.Seek(-1, SeekOrigin.End);
                var last = stream.ReadByte();
                stream.Seek(0, SeekOrigin.End);
                if (last != '\n') stream.Write(NewLine, 0, 1);
            }
            var buffer = new byte[line.Length + 1];
            Buffer.BlockCopy(line, 0, buffer, 0, line.Length);
            buffer[line.Length] = (byte)'\n';
            stream.Write(buffer, 0, buffer.Length);
            stream.Flush(flushToDisk: true);
            if (isNew) StateFiles.RestrictToOwner(FilePath, isDirectory: false);
        }

        private IReadOnlyList<LedgerRecord> ReadNewLocked()
        {
            var records = new List<LedgerRecord>();
            if (!File.Exists(FilePath)) return records;
            byte[] bytes;
            using (var stream = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                if (stream.Length <= _readOffset)
                {
                    if (stream.Length < _readOffset) _readOffset = 0;
                    return records;
                }
                stream.Seek(_readOffset, SeekOrigin.Begin);
                bytes = new byte[stream.Length - _readOffset];
                var read = 0;
                while (read < bytes.Length)
                {
                    var n = stream.Read(bytes, read, bytes.Length - read);
                    if (n == 0) break;
                    read += n;
                }
                if (read < bytes.Length) Array.Resize(ref bytes, read);
            }

            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != '\n') continue;
                var record = Parse(bytes, start, i - start);
                if (record != null) records.Add(record);
                else if (i > start) SkippedLines++;
                start = i + 1;
            }
            // An unterminated tail is either being written right now or torn by a kill: leave it for the next read.
            _readOffset += start;
            return records;
        }

        private static LedgerRecord? Parse(byte[] bytes, int offset, int count)
        {
            if (count == 0) return null;
            try
            {
                var record = JsonSerializer.Deserialize<LedgerRecord>(new ReadOnlySpan<byte>(bytes, offset, count), Json);
                return record != null && !string.IsNullOrEmpty(record.Type) && record.At != default ? record : null;
            }
            catch (JsonException)
            {
                return null;
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
    }
}
