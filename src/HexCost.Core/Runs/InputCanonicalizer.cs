using System;
using System.Collections;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace HexCost.Runs
{
    /// <summary>Turns input parameters into the one JSON text that equal inputs always produce:
    /// keys sorted ordinally at every level, no whitespace, numbers and dates culture-invariant.</summary>
    public static class InputCanonicalizer
    {
        /// <summary>How deep input parameters may nest, the inputs object itself being level 1: far more than an app's
        /// inputs need, and well inside what JSON readers take (System.Text.Json's 64, with the request body around it).</summary>
        public const int MaxDepth = 32;

        public static string Canonicalize(IDictionary? inputs)
        {
            if (inputs == null || inputs.Count == 0) return "{}";
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                WriteValue(writer, inputs, "", 1);
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        public static string CacheKey(string projectId, string canonicalInputs, string sourceVersion, bool updatePublishedResults, bool noSqlCache)
        {
            var text = string.Join("\n", projectId, sourceVersion, canonicalInputs,
                updatePublishedResults ? "update-published" : "", noSqlCache ? "no-sql-cache" : "");
            using var sha = SHA256.Create();
            var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
            return string.Concat(hash.Take(16).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }

        /// <summary>The refusal of inputs nested deeper than <see cref="MaxDepth"/>; <paramref name="path"/> is where.</summary>
        public static string TooDeep(string path)
        {
            var where = path.TrimEnd('.');
            if (where.Length > 80) where = where.Substring(0, 80) + "…";
            return $"The input parameters nest deeper than {MaxDepth} levels (at '{where}'), the most HexCost sends; a hashtable or list that contains itself never ends. Give the app's inputs as single values or lists.";
        }

        private static void WriteValue(Utf8JsonWriter writer, object? value, string path, int depth)
        {
            if (depth > MaxDepth && value is IEnumerable && value is not string)
                throw new ArgumentException(TooDeep(path));
            switch (value)
            {
                case null:
                    writer.WriteNullValue();
                    break;
                case string s:
                    writer.WriteStringValue(WellFormed(s, $"The input parameter '{path.TrimEnd('.')}'"));
                    break;
                case char c:
                    WriteValue(writer, c.ToString(), path, depth);
                    break;
                case bool b:
                    writer.WriteBooleanValue(b);
                    break;
                case byte or sbyte or short or ushort or int or uint or long:
                    writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    break;
                case ulong u:
                    writer.WriteNumberValue(u);
                    break;
                case float f:
                    WriteDouble(writer, f, path);
                    break;
                case double d:
                    WriteDouble(writer, d, path);
                    break;
                case decimal m:
                    writer.WriteNumberValue(m);
                    break;
                case DateTime dt:
                    writer.WriteStringValue((dt.Kind == DateTimeKind.Unspecified ? dt : dt.ToUniversalTime()).ToString("o", CultureInfo.InvariantCulture));
                    break;
                case DateTimeOffset dto:
                    writer.WriteStringValue(dto.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture));
                    break;
                case Guid g:
                    writer.WriteStringValue(g.ToString("D"));
                    break;
                case Enum e:
                    writer.WriteStringValue(e.ToString());
                    break;
                case JsonElement element:
                    WriteElement(writer, element, path, depth);
                    break;
                case IDictionary dictionary:
                    writer.WriteStartObject();
                    var keys = dictionary.Keys.Cast<object>()
                        .Select(k => (Key: Convert.ToString(k, CultureInfo.InvariantCulture) ?? "", Original: k))
                        .OrderBy(k => k.Key, StringComparer.Ordinal).ToList();
                    var duplicate = keys.GroupBy(k => k.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                    if (duplicate != null) throw new ArgumentException($"The input parameter '{path}{duplicate.Key}' is given twice.");
                    foreach (var (key, original) in keys)
                    {
                        var under = path.Length > 0 ? " under '" + path.TrimEnd('.') + "'" : "";
                        if (key.Length == 0) throw new ArgumentException($"An input parameter{under} has an empty name.");
                        writer.WritePropertyName(WellFormed(key, $"An input parameter name{under}"));
                        WriteValue(writer, dictionary[original], path + key + ".", depth + 1);
                    }
                    writer.WriteEndObject();
                    break;
                case IEnumerable sequence:
                    writer.WriteStartArray();
                    foreach (var item in sequence) WriteValue(writer, item, path, depth + 1);
                    writer.WriteEndArray();
                    break;
                default:
                    throw new ArgumentException($"The input parameter '{path.TrimEnd('.')}' has a value of type {value.GetType().Name}, which has no JSON form. Use a string, number, boolean, date, array or hashtable.");
            }
        }

        /// <summary>Refuses lone UTF-16 surrogates: they have no UTF-8 form, and Utf8JsonWriter would write each as U+FFFD,
        /// so inputs that differ only there would share a canonical text, a cache key and an idempotency key.</summary>
        private static string WellFormed(string text, string what)
        {
            var problem = LoneSurrogate(text);
            if (problem != null) throw new ArgumentException($"{what} holds {problem}, which is not text and cannot be sent as JSON.");
            return text;
        }

        /// <summary>"a lone UTF-16 surrogate (U+D800 at position 3)" for the first one in <paramref name="text"/>, or null when
        /// it has none. Such a string has no UTF-8 form: the ledger and Hex would get U+FFFD instead.</summary>
        public static string? LoneSurrogate(string text)
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }
                if (char.IsSurrogate(c))
                    return $"a lone UTF-16 surrogate (U+{(int)c:X4} at position {i.ToString(CultureInfo.InvariantCulture)})";
            }
            return null;
        }

        private static void WriteDouble(Utf8JsonWriter writer, double d, string path)
        {
            if (double.IsNaN(d) || double.IsInfinity(d))
                throw new ArgumentException($"The input parameter '{path.TrimEnd('.')}' is {d.ToString(CultureInfo.InvariantCulture)}, which JSON cannot carry.");
            if (d == Math.Floor(d) && Math.Abs(d) < 9e15) writer.WriteNumberValue((long)d);
            else writer.WriteNumberValue(d);
        }

        private static void WriteElement(Utf8JsonWriter writer, JsonElement element, string path, int depth)
        {
            if (depth > MaxDepth && (element.ValueKind == JsonValueKind.Object || element.ValueKind == JsonValueKind.Array))
                throw new ArgumentException(TooDeep(path));
            if (element.ValueKind == JsonValueKind.Object)
            {
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteElement(writer, property.Value, path + property.Name + ".", depth + 1);
                }
                writer.WriteEndObject();
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray()) WriteElement(writer, item, path, depth + 1);
                writer.WriteEndArray();
            }
            else
            {
                element.WriteTo(writer);
            }
        }
    }
}
