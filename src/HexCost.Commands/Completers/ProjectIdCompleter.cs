using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using HexCost.Api;
using HexCost.Commands.Infrastructure;
using HexCost.Session;

namespace HexCost.Commands.Completers
{
    /// <summary>
    /// Completes -ProjectId from the titles (and ids) of the projects Get-HexProject has listed for the session's
    /// account: the list shows the title, the inserted text is the id. Never calls the API: with nothing listed
    /// yet (or not connected) it offers nothing, and PowerShell falls back to its default completion.
    /// </summary>
    public sealed class ProjectIdCompleter : IArgumentCompleter
    {
        /// <summary>At most this many completions (a workspace can have thousands of projects).</summary>
        internal const int MaxResults = 500;

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                var account = FindAccount(fakeBoundParameters);
                if (account == null) return Array.Empty<CompletionResult>();
                return Complete(account.ProjectNames.Snapshot(), wordToComplete ?? "");
            }
            catch (Exception error) when (!(error is OutOfMemoryException))
            {
                // A completer must never break the prompt.
                return Array.Empty<CompletionResult>();
            }
        }

        /// <summary>The completions for <paramref name="wordToComplete"/> among <paramref name="projects"/> (id → title).</summary>
        internal static IEnumerable<CompletionResult> Complete(IEnumerable<KeyValuePair<string, string?>> projects, string wordToComplete)
        {
            var (word, quote) = Unquote(wordToComplete);
            var pattern = new WildcardPattern(WildcardPattern.Escape(word).Replace("`*", "*").Replace("`?", "?") + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
            var matches = projects
                .Where(p => pattern.IsMatch(p.Key) || (p.Value != null && pattern.IsMatch(p.Value)))
                .OrderBy(p => string.IsNullOrEmpty(p.Value) ? 1 : 0)
                .ThenBy(p => p.Value ?? p.Key, StringComparer.CurrentCultureIgnoreCase)
                .ThenBy(p => p.Key, StringComparer.OrdinalIgnoreCase)
                .Take(MaxResults)
                .ToList();
            var duplicateTitles = new HashSet<string>(
                matches.Where(p => !string.IsNullOrEmpty(p.Value)).GroupBy(p => p.Value!, StringComparer.CurrentCultureIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key),
                StringComparer.CurrentCultureIgnoreCase);
            foreach (var project in matches)
            {
                var title = string.IsNullOrEmpty(project.Value) ? null : project.Value!;
                var listItem = title == null ? project.Key
                    : duplicateTitles.Contains(title) ? $"{title} ({Short(project.Key)})"
                    : title;
                var toolTip = title == null ? project.Key : $"{title} ({project.Key})";
                yield return new CompletionResult(Quote(project.Key, quote), listItem, CompletionResultType.ParameterValue, toolTip);
            }
        }

        private static HexAccount? FindAccount(IDictionary? fakeBoundParameters)
        {
            var session = SessionFrom(fakeBoundParameters) ?? SessionStore.GetDefault();
            if (session == null || !session.IsConnected) return null;
            try
            {
                return session.GetAccount();
            }
            catch (HexException)
            {
                return null;
            }
        }

        /// <summary>The -Session already on the command line, when PowerShell could evaluate it (e.g. a variable).</summary>
        private static HexSession? SessionFrom(IDictionary? fakeBoundParameters)
        {
            if (fakeBoundParameters == null) return null;
            foreach (DictionaryEntry entry in fakeBoundParameters)
            {
                if (!string.Equals(entry.Key as string, "Session", StringComparison.OrdinalIgnoreCase)) continue;
                var value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
                return value as HexSession;
            }
            return null;
        }

        private static (string Word, char? Quote) Unquote(string word)
        {
            if (word.Length == 0) return (word, null);
            var first = word[0];
            if (!IsQuote(first)) return (word, null);
            var inner = word.Substring(1);
            if (inner.Length > 0 && IsQuote(inner[inner.Length - 1])) inner = inner.Substring(0, inner.Length - 1);
            return (inner, IsSingleQuote(first) ? '\'' : '"');
        }

        private static string Quote(string id, char? quote)
        {
            if (quote == '"') return "\"" + id.Replace("`", "``").Replace("$", "`$").Replace("\"", "`\"") + "\"";
            if (quote == '\'' || NeedsQuotes(id)) return "'" + CodeGeneration.EscapeSingleQuotedStringContent(id) + "'";
            return id;
        }

        private static bool NeedsQuotes(string text)
        {
            if (text.Length == 0) return true;
            foreach (var c in text)
            {
                if (char.IsWhiteSpace(c) || IsQuote(c) || "`$&@(){}[];,|<>#".IndexOf(c) >= 0) return true;
            }
            return text[0] == '-';
        }

        private static bool IsQuote(char c) => IsSingleQuote(c) || c == '"' || c == '\u201C' || c == '\u201D' || c == '\u201E';

        private static bool IsSingleQuote(char c) => c == '\'' || c == '\u2018' || c == '\u2019' || c == '\u201A' || c == '\u201B';

        private static string Short(string id) => id.Length > 8 ? id.Substring(0, 8) : id;
    }
}
