using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>One runspace with the module imported, shared by the help tests (Get-Help only reads).</summary>
    public sealed class HelpHost : IDisposable
    {
        internal PsHost Host { get; } = new PsHost();

        public void Dispose() => Host.Dispose();
    }

    /// <summary>
    /// Get-Help works for every exported cmdlet: the MAML in module/en-US (copied beside the DLL by the build, where
    /// Get-Help looks for a nested binary module's help) documents every parameter with the cmdlet's real metadata,
    /// and about_HexCost explains the concepts.
    /// </summary>
    public class HelpTests : IClassFixture<HelpHost>
    {
        private const string MamlFile = "HexCost.Commands.dll-Help.xml";
        private const string AboutFile = "about_HexCost.help.txt";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";

        private readonly PsHost _host;

        public HelpTests(HelpHost fixture) => _host = fixture.Host;

        /// <summary>CmdletsToExport of HexCost.psd1, read from the text so a new cmdlet gets its own test case.</summary>
        public static TheoryData<string> ExportedCmdlets()
        {
            var data = new TheoryData<string>();
            foreach (var name in ManifestCmdlets()) data.Add(name);
            return data;
        }

        private static IReadOnlyList<string> ManifestCmdlets()
        {
            var text = File.ReadAllText(Repo.Manifest);
            var list = Regex.Match(text, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)", RegexOptions.Singleline);
            Assert.True(list.Success, "HexCost.psd1 has no CmdletsToExport = @(...) list.");
            return Regex.Matches(list.Groups["list"].Value, @"'(?<name>[^']+)'").Cast<Match>().Select(m => m.Groups["name"].Value).ToArray();
        }

        private const string HelpScript = @"
$help = Get-Help -Name $args[0] -Full -ErrorAction Stop
function Text($value) { (@($value) | Where-Object { $_ } | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join ""`n"" }
[pscustomobject]@{
    TypeNames   = @($help.pstypenames)
    Synopsis    = [string]$help.Synopsis
    Description = Text $help.description
    SyntaxItems = @($help.syntax.syntaxItem | Where-Object { $_ }).Count
    Examples    = @($help.examples.example | Where-Object { $_ } | ForEach-Object { [string]$_.code })
    Inputs      = @($help.inputTypes.inputType | Where-Object { $_ } | ForEach-Object { [string]$_.type.name })
    Outputs     = @($help.returnValues.returnValue | Where-Object { $_ } | ForEach-Object { [string]$_.type.name })
    Links       = @($help.relatedLinks.navigationLink | Where-Object { $_ } | ForEach-Object { [string]$_.linkText })
    Parameters  = @($help.parameters.parameter | Where-Object { $_ } | ForEach-Object {
        [pscustomobject]@{
            Name          = [string]$_.name
            Description   = Text $_.description
            Required      = [string]$_.required
            Position      = [string]$_.position
            PipelineInput = [string]$_.pipelineInput
            Type          = [string]$_.type.name
            Default       = [string]$_.defaultValue
        }
    })
}";

        [Theory]
        [MemberData(nameof(ExportedCmdlets))]
        public void Get_Help_Full_documents_the_cmdlet(string name)
        {
            var help = _host.Run(HelpScript, name).ThrowIfErrors().Output.Single();
            var cmdlet = (CmdletInfo)_host.Run("Get-Command -Name $args[0] -CommandType Cmdlet", name).ThrowIfErrors().Output.Single().BaseObject;
            var problems = new List<string>();

            // Without a help file, Get-Help makes up a stub whose synopsis is the syntax: that must not be what users get.
            var typeNames = Strings(help, "TypeNames");
            if (!typeNames.Contains("MamlCommandHelpInfo"))
                problems.Add($"Get-Help did not find {MamlFile} (help object is {string.Join(", ", typeNames.Take(2))}).");
            var synopsis = help.Prop<string>("Synopsis").Trim();
            if (synopsis.Length == 0 || synopsis.StartsWith(name + " [", StringComparison.OrdinalIgnoreCase) || synopsis.Contains("<CommonParameters>"))
                problems.Add($"The synopsis is empty or the auto-generated syntax: '{synopsis}'.");
            if (help.Prop<string>("Description").Trim().Length < 40) problems.Add("The description is missing or a stub.");
            if (help.Prop<int>("SyntaxItems") != cmdlet.ParameterSets.Count)
                problems.Add($"{help.Prop<int>("SyntaxItems")} syntax items for {cmdlet.ParameterSets.Count} parameter sets.");

            var examples = Strings(help, "Examples");
            if (examples.Count < 2) problems.Add($"{examples.Count} examples; at least 2 are needed.");
            if (!examples.Any(code => code.Contains("Export-Csv"))) problems.Add("No example pipes into Export-Csv.");
            if (!examples.All(code => code.Contains(name))) problems.Add("An example does not use the cmdlet.");
            if (Strings(help, "Inputs").Count == 0) problems.Add("No INPUTS.");
            if (Strings(help, "Outputs").Count == 0) problems.Add("No OUTPUTS.");
            var links = Strings(help, "Links");
            if (!links.Contains("about_HexCost")) problems.Add("Related links lack about_HexCost.");
            if (!links.Any(l => l != name && l.Contains("-Hex"))) problems.Add("Related links name no other HexCost cmdlet.");

            var documented = ((IEnumerable<object>)help.Prop<object>("Parameters")).Cast<PSObject>()
                .ToDictionary(p => p.Prop<string>("Name"), StringComparer.OrdinalIgnoreCase);
            foreach (var parameter in cmdlet.Parameters.Values.Where(p => !IsCommon(p.Name)))
            {
                if (!documented.TryGetValue(parameter.Name, out var doc))
                {
                    problems.Add($"-{parameter.Name} is not in the help.");
                    continue;
                }
                if (doc.Prop<string>("Description").Trim().Length == 0) problems.Add($"-{parameter.Name} has no description.");
                if (doc.Prop<string>("Default").Trim().Length == 0) problems.Add($"-{parameter.Name} has no default value.");
                var expectedType = (Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType).FullName;
                if (!string.Equals(doc.Prop<string>("Type"), expectedType, StringComparison.Ordinal))
                    problems.Add($"-{parameter.Name} is documented as {doc.Prop<string>("Type")} but is {expectedType}.");

                // Where the parameter sets agree (they do for every HexCost parameter today), the help must say what binding does.
                var sets = parameter.ParameterSets.Values.ToList();
                var first = sets[0];
                if (sets.Any(s => s.IsMandatory != first.IsMandatory || s.Position != first.Position || Pipeline(s) != Pipeline(first))) continue;
                Expect(parameter.Name, "Required", first.IsMandatory ? "true" : "false", doc, problems);
                Expect(parameter.Name, "Position", first.Position >= 0 ? first.Position.ToString(CultureInfo.InvariantCulture) : "named", doc, problems);
                Expect(parameter.Name, "PipelineInput", Pipeline(first), doc, problems);
            }
            foreach (var stale in documented.Keys.Where(p => !cmdlet.Parameters.ContainsKey(p)))
                problems.Add($"The help documents -{stale}, which {name} does not have.");

            Assert.True(problems.Count == 0, $"Get-Help {name} -Full ({MamlFile}):\n  " + string.Join("\n  ", problems));
        }

        [Fact]
        public void About_HexCost_explains_the_concepts_and_names_every_cmdlet()
        {
            var output = _host.Run("Get-Help -Name about_HexCost -ErrorAction Stop").ThrowIfErrors().Output;
            var text = string.Join("\n", output.Select(o => o.BaseObject.ToString()));
            Assert.StartsWith("TOPIC", text.TrimStart());
            foreach (var concept in new[] { "ledger", "rate limit", "cache", "credit", "spend", "Retry-After", "ledger.jsonl", "UsageSource", "HEXCOST_HOME" })
                Assert.True(text.IndexOf(concept, StringComparison.OrdinalIgnoreCase) >= 0, $"about_HexCost does not mention '{concept}'.");
            foreach (var cmdlet in ManifestCmdlets()) Assert.Contains(cmdlet, text);
        }

        [Fact]
        public void The_help_file_covers_exactly_the_exported_cmdlets_and_the_build_ships_it_beside_the_dll()
        {
            var source = Path.Combine(Repo.Root, "module", "en-US");
            var maml = XDocument.Load(Path.Combine(source, MamlFile));
            var commands = maml.Root!.Elements(Command + "command").Select(c => (string)c.Element(Command + "details")!.Element(Command + "name")!).ToList();
            Assert.Equal(commands.Distinct().Count(), commands.Count);
            Assert.Equal(ManifestCmdlets().OrderBy(n => n), commands.OrderBy(n => n));

            // Get-Help reads the copies in the module folder's en-US: they must be what is checked in, not a stale build.
            foreach (var file in new[] { MamlFile, AboutFile })
            {
                var shipped = Path.Combine(Repo.ModuleDir, "en-US", file);
                Assert.True(File.Exists(shipped), $"{shipped} is missing: the PackageModule target of HexCost.Commands.csproj should copy module/en-US there.");
                Assert.Equal(File.ReadAllBytes(Path.Combine(source, file)), File.ReadAllBytes(shipped));
            }
        }

        private static bool IsCommon(string name) =>
            Cmdlet.CommonParameters.Contains(name) || Cmdlet.OptionalCommonParameters.Contains(name);

        private static string Pipeline(ParameterSetMetadata set) =>
            set.ValueFromPipeline && set.ValueFromPipelineByPropertyName ? "True (ByValue, ByPropertyName)"
            : set.ValueFromPipeline ? "True (ByValue)"
            : set.ValueFromPipelineByPropertyName ? "True (ByPropertyName)"
            : "False";

        private static void Expect(string parameter, string field, string expected, PSObject doc, List<string> problems)
        {
            var actual = doc.Prop<string>(field);
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                problems.Add($"-{parameter}: help says {field} '{actual}', the cmdlet says '{expected}'.");
        }

        private static List<string> Strings(PSObject obj, string property) =>
            ((IEnumerable<object>)obj.Prop<object>(property)).Select(o => (o is PSObject p ? p.BaseObject : o)?.ToString() ?? "").ToList();
    }
}
