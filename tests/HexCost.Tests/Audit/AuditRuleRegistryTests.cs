using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using System.Xml.Linq;
using HexCost.Audit;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Audit
{
    /// <summary>Adding a rule is one place: AuditRules declares it, and -Rule's completion and validation, the findings and
    /// the docs follow (the docs through these tests).</summary>
    public class AuditRuleRegistryTests
    {
        private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";

        [Fact]
        public void The_registry_holds_each_rule_once_in_the_order_declared()
        {
            Assert.Equal(AuditRules.All.Count, AuditRules.All.Select(r => r.Name.ToUpperInvariant()).Distinct().Count());
            Assert.Equal(Enumerable.Range(0, AuditRules.All.Count), AuditRules.All.Select(r => r.Order));
            Assert.Same(AuditRules.OverScheduled, AuditRules.All[0]);
            Assert.Same(AuditRules.DuplicateProject, AuditRules.Find(" duplicateproject\n"));
            Assert.Null(AuditRules.Find("Nope"));
            Assert.Null(AuditRules.Find(" "));
            Assert.All(AuditRules.All, r => Assert.False(string.IsNullOrWhiteSpace(r.Finds)));
        }

        [Fact]
        public void Rule_completes_and_validates_from_the_registry_with_no_ValidateSet_to_drift()
        {
            using var host = new PsHost();
            var attributes = host.Run("(Get-Command Get-HexScheduleAudit).Parameters['Rule'].Attributes | ForEach-Object { $_.GetType().Name }")
                .ThrowIfErrors().Output.Select(o => (string)o.BaseObject).ToList();
            Assert.DoesNotContain("ValidateSetAttribute", attributes);
            Assert.Contains("ValidateAuditRuleAttribute", attributes);
            foreach (var rule in AuditRules.All)
            {
                var line = "Get-HexScheduleAudit -Rule " + rule.Name.Substring(0, 5).ToLowerInvariant();
                var completion = (CommandCompletion)host.Run("TabExpansion2 -inputScript $args[0] -cursorColumn $args[0].Length", line).ThrowIfErrors().Output.Single().BaseObject;
                var match = Assert.Single(completion.CompletionMatches, m => m.CompletionText == rule.Name);
                Assert.Equal(rule.Name + ": " + rule.Finds, match.ToolTip);
            }
            var refused = host.Run("Get-HexScheduleAudit -Rule OverScheduled, Nope");
            Assert.StartsWith("ParameterArgumentValidationError,", refused.Terminating?.FullyQualifiedErrorId);
            Assert.Contains("'Nope' is not an audit rule. -Rule takes " + AuditRules.Names, refused.Terminating!.Exception.Message);
        }

        [Fact]
        public async Task Every_rule_binds_and_only_its_own_findings_come_back()
        {
            await using var world = await HexWorld.StartAsync();
            using var host = world.Connected();
            var all = host.Run("Get-HexScheduleAudit").ThrowIfErrors().Output;
            Assert.All(all, f => Assert.NotNull(AuditRules.Find(f.Prop<string>("Rule"))));
            foreach (var rule in AuditRules.All)
            {
                var findings = host.Run("Get-HexScheduleAudit -Rule $args[0]", rule.Name.ToUpperInvariant()).ThrowIfErrors().Output;
                Assert.All(findings, f => Assert.Equal(rule.Name, f.Prop<string>("Rule")));
            }
        }

        [Fact]
        public void Every_rule_is_in_the_README_rule_table_and_the_Rule_help()
        {
            var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
            var start = readme.IndexOf("## Schedule audit", System.StringComparison.Ordinal);
            var section = readme.Substring(start, readme.IndexOf("\n## ", start, System.StringComparison.Ordinal) - start);
            var tableRules = Regex.Matches(section, @"^\| (\w+) \| ", RegexOptions.Multiline).Cast<Match>().Select(m => m.Groups[1].Value).Where(name => name != "rule");
            Assert.Equal(AuditRules.All.Select(r => r.Name), tableRules);

            var maml = XDocument.Load(Path.Combine(Repo.Root, "module", "en-US", "HexCost.Commands.dll-Help.xml"));
            var command = maml.Root!.Elements(Command + "command").Single(c => (string)c.Element(Command + "details")!.Element(Command + "name")! == "Get-HexScheduleAudit");
            var syntaxRule = command.Descendants(Command + "syntaxItem").Single().Elements(Command + "parameter").Single(p => (string)p.Element(Maml + "name")! == "Rule");
            Assert.Equal(AuditRules.All.Select(r => r.Name), syntaxRule.Element(Command + "parameterValueGroup")!.Elements(Command + "parameterValue").Select(v => v.Value));
            var description = string.Join(" ", syntaxRule.Element(Maml + "description")!.Elements(Maml + "para").Select(p => p.Value));
            Assert.All(AuditRules.All, r => Assert.Contains(r.Name, description));
        }
    }
}
