using System;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HexCost.Reports
{
    /// <summary>Encoding for text and attribute values in HTML and inline SVG, and the only way a link gets into a report.</summary>
    public static class Html
    {
        private static readonly Regex UserInfo = new Regex(@"(?<=[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s@?#]*@", RegexOptions.CultureInvariant);

        /// <summary>Encodes &amp; &lt; &gt; " and ' so the value is inert in element content and in quoted attributes alike;
        /// control characters and lone surrogates become U+FFFD.</summary>
        public static string Encode(string? value)
        {
            if (string.IsNullOrEmpty(value)) return "";
            StringBuilder? builder = null;
            for (var i = 0; i < value!.Length; i++)
            {
                var c = value[i];
                string? replacement;
                switch (c)
                {
                    case '&': replacement = "&amp;"; break;
                    case '<': replacement = "&lt;"; break;
                    case '>': replacement = "&gt;"; break;
                    case '"': replacement = "&quot;"; break;
                    case '\'': replacement = "&#39;"; break;
                    default:
                        if ((c < ' ' && c != '\t' && c != '\n' && c != '\r') || (c >= '\u007f' && c <= '\u009f')) replacement = "\uFFFD";
                        else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                        {
                            builder?.Append(c).Append(value[i + 1]);
                            i++;
                            continue;
                        }
                        else if (char.IsSurrogate(c)) replacement = "\uFFFD";
                        else replacement = null;
                        break;
                }
                if (replacement == null)
                {
                    builder?.Append(c);
                    continue;
                }
                if (builder == null)
                {
                    builder = new StringBuilder(value.Length + 16);
                    builder.Append(value, 0, i);
                }
                builder.Append(replacement);
            }
            return builder?.ToString() ?? value;
        }

        /// <summary>Removes "user:password@" from every URL in <paramref name="text"/> (error messages may quote a base URI).</summary>
        public static string Redact(string? text) => string.IsNullOrEmpty(text) ? "" : UserInfo.Replace(text!, "");

        /// <summary>An absolute http(s) URL without user name or password, or null for anything else (javascript:, relative, ...).</summary>
        public static string? SafeUrl(string? url)
        {
            if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url!.Trim(), UriKind.Absolute, out var uri)) return null;
            if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) return null;
            if (uri.UserInfo.Length == 0) return uri.AbsoluteUri;
            return new UriBuilder(uri) { UserName = "", Password = "" }.Uri.AbsoluteUri;
        }

        /// <summary>scheme://host[:port]/path of a base URI: no credentials, no query, no fragment.</summary>
        public static string DisplayUri(string? url)
        {
            if (string.IsNullOrWhiteSpace(url)) return "";
            if (!Uri.TryCreate(url!.Trim(), UriKind.Absolute, out var uri)) return Redact(url);
            return uri.Scheme + "://" + uri.Authority + uri.AbsolutePath; // Authority is host and port: never the user info
        }

        public static string Number(double value, string format = "#,0.##") => value.ToString(format, CultureInfo.InvariantCulture);

        public static string Number(decimal value, string format = "#,0.##") => value.ToString(format, CultureInfo.InvariantCulture);

        public static string Number(int value) => value.ToString("#,0", CultureInfo.InvariantCulture);

        /// <summary>A number for SVG coordinates: invariant, at most two decimals.</summary>
        internal static string Coord(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

        public static string Date(DateTime value) => value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        public static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";

        /// <summary>At most <paramref name="max"/> characters, an ellipsis marking the cut.</summary>
        public static string Truncate(string? value, int max)
        {
            if (string.IsNullOrEmpty(value) || value!.Length <= max) return value ?? "";
            var cut = max - 1;
            if (cut > 0 && char.IsHighSurrogate(value[cut - 1])) cut--;
            return value.Substring(0, cut) + "\u2026";
        }
    }
}
