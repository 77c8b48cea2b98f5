using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>Every error id lives in HexErrors, every ErrorRecord is made there, and every id is documented.</summary>
    public class ErrorIdTests
    {
        private static readonly string HexErrorsFile = Path.Combine(Repo.Root, "src", "HexCost.Commands", "Infrastructure", "HexErrors.cs");

        private static IReadOnlyList<string> DeclaredIds() =>
            Regex.Matches(File.ReadAllText(HexErrorsFile), "new HexErrorId\\(\"(Hex[A-Za-z]+)\"")
                .Cast<Match>().Select(m => m.Groups[1].Value).ToList();

        private static IEnumerable<string> SourceFiles() =>
            Directory.EnumerateFiles(Path.Combine(Repo.Root, "src"), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar)
                            && !f.Contains(Path.DirectorySeparatorChar + "bin" + Path.DirectorySeparatorChar));

        [Fact]
        public void HexErrors_declares_each_id_once()
        {
            var ids = DeclaredIds();
            Assert.True(ids.Count >= 30, $"only {ids.Count} ids found in {HexErrorsFile}");
            Assert.Equal(ids.Count, ids.Distinct().Count());
        }

        [Fact]
        public void No_error_id_or_ErrorRecord_is_made_outside_HexErrors()
        {
            // An id is a string literal "Hex<Word>" (type names like "HexCost.Run" have a dot; cmdlet nouns sit in [Cmdlet]).
            var literal = new Regex("\"(Hex[A-Z][A-Za-z]+)\"");
            var offences = new List<string>();
            foreach (var file in SourceFiles().Where(f => f != HexErrorsFile))
            {
                var lines = File.ReadAllLines(file);
                for (var i = 0; i < lines.Length; i++)
                {
                    var line = lines[i];
                    var where = $"{Path.GetRelativePath(Repo.Root, file)}:{i + 1}";
                    if (line.Contains("new ErrorRecord(")) offences.Add(where + ": new ErrorRecord( (make it with HexErrors)");
                    if (line.TrimStart().StartsWith("[Cmdlet(") || line.TrimStart().StartsWith("///")) continue;
                    foreach (Match m in literal.Matches(line))
                    {
                        if (m.Groups[1].Value != "HexCost") offences.Add($"{where}: \"{m.Groups[1].Value}\"");
                    }
                }
            }
            Assert.True(offences.Count == 0, "Error ids belong in HexErrors:\n" + string.Join("\n", offences));
        }

        [Theory]
        [InlineData("README.md")]
        [InlineData("module/en-US/about_HexCost.help.txt")]
        public void Every_id_is_documented_and_every_documented_id_exists(string doc)
        {
            var text = File.ReadAllText(Path.Combine(Repo.Root, doc));
            var ids = DeclaredIds();
            var missing = ids.Where(id => !Regex.IsMatch(text, "\\b" + id + "\\b")).ToList();
            Assert.True(missing.Count == 0, $"{doc} does not document: {string.Join(", ", missing)}");

            // Anything in the doc's error list that looks like an id must be one (no stale or misspelt ids).
            var section = ErrorSection(text, doc);
            // Cmdlet nouns (Get-HexRun) and type names (HexCost.Api.HexException) are not ids.
            var named = Regex.Matches(section, "(?<![-.\\w])Hex[A-Z][A-Za-z]+(?![.\\w])").Cast<Match>().Select(m => m.Value).Where(n => n != "HexCost").Distinct();
            var unknown = named.Where(n => !ids.Contains(n)).ToList();
            Assert.True(unknown.Count == 0, $"{doc}'s error list names ids HexErrors does not have: {string.Join(", ", unknown)}");
        }

        private static string ErrorSection(string text, string doc)
        {
            var start = doc.EndsWith(".md") ? text.IndexOf("## Error ids") : text.IndexOf("\nERRORS\n");
            Assert.True(start >= 0, $"{doc} has no error id section");
            var end = doc.EndsWith(".md") ? text.IndexOf("\n## ", start + 5) : text.IndexOf("\nEXAMPLES\n", start);
            return end < 0 ? text.Substring(start) : text.Substring(start, end - start);
        }
    }
}
