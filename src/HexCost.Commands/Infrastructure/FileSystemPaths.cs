using System;
using System.Globalization;
using System.Management.Automation;

namespace HexCost.Commands.Infrastructure
{
    /// <summary>Paths the user gives, read as PowerShell reads them: relative to $PWD, with ~ and PSDrives, not against the
    /// process's directory.</summary>
    internal static class FileSystemPaths
    {
        /// <summary>The file system path <paramref name="path"/> means (it need not exist yet).</summary>
        /// <exception cref="ArgumentException">Empty, text no file name should hold, or not a file system path; the message
        /// starts with <paramref name="source"/> (e.g. -StatePath) and says what to give instead.</exception>
        public static string Resolve(PSCmdlet cmdlet, string? path, string source)
        {
            var problem = TextProblem(path);
            if (problem != null) throw new ArgumentException($"{source} {problem}.");
            string resolved;
            ProviderInfo provider;
            try
            {
                resolved = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is ProviderNotFoundException
                                       || ex is DriveNotFoundException || ex is ProviderInvocationException || ex is PSInvalidOperationException)
            {
                throw new ArgumentException($"{source} '{path}' is not a path PowerShell can resolve ({ex.Message}). Give a file system path, e.g. ~/hexcost.", ex);
            }
            if (!string.Equals(provider.Name, "FileSystem", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"{source} '{path}' is a path of PowerShell's {provider.Name} provider, not of the file system. Give a folder or file path, e.g. ~/hexcost.");
            }
            return resolved;
        }

        /// <summary>Why <paramref name="path"/> cannot be meant as a path (empty, a line break or control character, a broken
        /// Unicode character); null when it can.</summary>
        public static string? TextProblem(string? path)
        {
            if (string.IsNullOrWhiteSpace(path)) return "is empty; give a path, or leave the parameter out for the default";
            for (var i = 0; i < path!.Length; i++)
            {
                var c = path[i];
                var position = (i + 1).ToString(CultureInfo.InvariantCulture);
                if (char.IsControl(c))
                {
                    return $"'{Printable(path)}' holds a control character (a line break or tab, as Get-Content -Raw leaves) at position {position}; remove it";
                }
                var lone = char.IsHighSurrogate(c) ? i + 1 >= path.Length || !char.IsLowSurrogate(path[i + 1])
                    : char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(path[i - 1]));
                if (lone) return $"'{Printable(path)}' holds half of a Unicode character (a lone surrogate) at position {position}, which no file name can hold";
            }
            return null;
        }

        private static string Printable(string text)
        {
            var builder = new System.Text.StringBuilder(text.Length);
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (c == '\n') builder.Append("`n");
                else if (c == '\r') builder.Append("`r");
                else if (c == '\t') builder.Append("`t");
                else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) builder.Append(c).Append(text[++i]);
                else if (char.IsControl(c) || char.IsSurrogate(c)) builder.Append("`u{").Append(((int)c).ToString("X", CultureInfo.InvariantCulture)).Append('}');
                else builder.Append(c);
            }
            return builder.ToString();
        }
    }
}
