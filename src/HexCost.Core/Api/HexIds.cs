using System;
using System.Globalization;
using System.Text;

namespace HexCost.Api
{
    /// <summary>
    /// Hex's project and run ids are UUIDs (hyphenated, lower case). Every id a user gives is checked here before any
    /// request, so a typo costs no request and gets an answer that says what an id looks like.
    /// </summary>
    public static class HexIds
    {
        public const string Example = "5a8591dd-4039-49df-9202-96385ba3eff8";

        /// <summary>The id as Hex writes it, from a UUID in any form .NET reads (white space around it, braces, upper
        /// case, no hyphens); null when <paramref name="text"/> is not a UUID.</summary>
        public static string? Normalize(string? text) =>
            text != null && Guid.TryParse(text.Trim(), out var id) ? id.ToString("D") : null;

        /// <summary>The project id as Hex writes it, or a ProjectNotFound error that says what an id looks like.</summary>
        public static string ProjectId(string? text)
        {
            var id = Normalize(text);
            if (id != null) return id;
            throw new HexException(HexErrorKind.ProjectNotFound,
                $"-ProjectId: {Show(text)} is not a Hex project id: ids are UUIDs such as {Example}. Find the ids with Get-HexProject; HexCost sent nothing to Hex.")
            { ProjectId = text };
        }

        /// <summary>The run id as Hex writes it, or a RunNotFound error that says what an id looks like.</summary>
        public static string RunId(string? text, string projectId)
        {
            var id = Normalize(text);
            if (id != null) return id;
            throw new HexException(HexErrorKind.RunNotFound,
                $"-RunId: {Show(text)} is not a Hex run id: ids are UUIDs such as {Example}. Find the runs of the project with Get-HexRun -ProjectId {projectId}; HexCost sent nothing to Hex.")
            { ProjectId = projectId, RunId = text };
        }

        /// <summary>A value quoted for a message: at most 60 characters, control characters and lone surrogates escaped.</summary>
        public static string Show(string? text)
        {
            if (text == null) return "No id";
            if (text.Trim().Length == 0) return text.Length == 0 ? "An empty id" : "An id of only white space";
            var shown = new StringBuilder("'");
            var limit = Math.Min(text.Length, 60);
            if (limit < text.Length && char.IsHighSurrogate(text[limit - 1])) limit--;
            for (var i = 0; i < limit; i++)
            {
                var c = text[i];
                var paired = char.IsHighSurrogate(c) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
                    : char.IsLowSurrogate(c) ? i > 0 && char.IsHighSurrogate(text[i - 1]) : true;
                if (char.IsControl(c) || !paired) shown.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else shown.Append(c);
            }
            if (text.Length > limit) shown.Append("…' (").Append(text.Length.ToString(CultureInfo.InvariantCulture)).Append(" characters)");
            else shown.Append('\'');
            return shown.ToString();
        }
    }
}
