using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using HexCost.Tests.Infrastructure;
using Xunit;

namespace HexCost.Tests.Module
{
    /// <summary>
    /// This machine has neither pwsh nor Pester, so the Pester suite (tests/Pester) and build.ps1 cannot run here. These
    /// tests read them with PowerShell's own parser and check what can be checked without running them: they parse, every
    /// call to a HexCost cmdlet, an engine cmdlet or a helper of Common.ps1 names parameters that exist, every Should has
    /// one Pester 5 operator, every error id they expect is one the cmdlets write, and the lists they iterate over
    /// (cmdlets, state-changing cmdlets, output types) are the module's.
    /// </summary>
    public class PesterSuiteTests : IClassFixture<HelpHost>
    {
        private static readonly string PesterDir = Path.Combine(Repo.Root, "tests", "Pester");

        // Pester 5's Should operators, and the parameters that go with them.
        private static readonly HashSet<string> ShouldOperators = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "Be", "BeExactly", "BeGreaterThan", "BeGreaterOrEqual", "BeLessThan", "BeLessOrEqual", "BeIn", "BeLike", "BeLikeExactly",
            "BeNullOrEmpty", "BeOfType", "BeTrue", "BeFalse", "Contain", "Exist", "FileContentMatch", "FileContentMatchExactly",
            "FileContentMatchMultiline", "HaveCount", "HaveParameter", "Match", "MatchExactly", "Throw", "BeEmpty",
        };
        private static readonly HashSet<string> ShouldModifiers = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "Not", "Because", "ErrorId", "ExpectedMessage", "ExceptionType", "ExpectedValue", "ActualValue", "ExpectedType", "PassThru",
        };

        private readonly PsHost _host;

        public PesterSuiteTests(HelpHost fixture) => _host = fixture.Host;

        public static TheoryData<string> Scripts()
        {
            var data = new TheoryData<string>();
            foreach (var file in Directory.GetFiles(PesterDir, "*.ps1").OrderBy(f => f, StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
            data.Add("build.ps1");
            data.Add("HexCost.psm1");
            return data;
        }

        private static string PathOf(string name) => name switch
        {
            "build.ps1" => Path.Combine(Repo.Root, name),
            "HexCost.psm1" => Path.Combine(Repo.Root, "module", name),
            _ => Path.Combine(PesterDir, name),
        };

        /// <summary>Windows PowerShell 5.1 runs build.ps1, the module's loader and the Pester suite too, and its parser
        /// knows none of PowerShell 7's operators.</summary>
        [Theory]
        [MemberData(nameof(Scripts))]
        public void The_script_has_no_syntax_Windows_PowerShell_cannot_parse(string name)
        {
            var newer = Parse(name).FindAll(a =>
                a is TernaryExpressionAst || a is PipelineChainAst
                || (a is BinaryExpressionAst b && b.Operator == TokenKind.QuestionQuestion)
                || (a is AssignmentStatementAst s && s.Operator == TokenKind.QuestionQuestionEquals)
                || (a is MemberExpressionAst m && m.NullConditional)
                || (a is IndexExpressionAst i && i.NullConditional)
                || (a is CommandParameterAst p && p.ParameterName == "Parallel"), true).ToList();
            Assert.True(newer.Count == 0, $"{name} uses PowerShell 7 syntax:\n  " + string.Join("\n  ", newer.Select(a => $"line {a.Extent.StartLineNumber}: {a.Extent.Text}")));
        }

        internal static ScriptBlockAst Parse(string name)
        {
            var ast = Parser.ParseFile(PathOf(name), out _, out var errors);
            Assert.True(errors.Length == 0, $"{name} does not parse:\n  " + string.Join("\n  ", errors.Select(e => $"line {e.Extent.StartLineNumber}: {e.Message}")));
            return ast;
        }

        [Theory]
        [MemberData(nameof(Scripts))]
        public void The_script_parses_and_calls_commands_with_parameters_they_have(string name)
        {
            var ast = Parse(name);
            var known = KnownParameters(ast);
            var problems = new List<string>();
            foreach (var command in ast.FindAll(a => a is CommandAst, true).Cast<CommandAst>())
            {
                var commandName = command.GetCommandName();
                if (commandName == null) continue;
                var line = command.Extent.StartLineNumber;
                var parameters = command.CommandElements.OfType<CommandParameterAst>().Select(p => p.ParameterName).ToList();
                if (commandName.Equals("Should", StringComparison.OrdinalIgnoreCase))
                {
                    var operators = parameters.Where(ShouldOperators.Contains).ToList();
                    if (operators.Count != 1) problems.Add($"line {line}: Should needs one Pester 5 operator, has {operators.Count}: {command.Extent.Text}");
                    foreach (var other in parameters.Where(p => !ShouldOperators.Contains(p) && !ShouldModifiers.Contains(p)))
                        problems.Add($"line {line}: Should has no -{other}.");
                    continue;
                }
                if (!known.TryGetValue(commandName, out var names)) continue;
                foreach (var parameter in parameters)
                {
                    var matches = names.Where(n => n.StartsWith(parameter, StringComparison.OrdinalIgnoreCase)).ToList();
                    if (!matches.Any(n => n.Equals(parameter, StringComparison.OrdinalIgnoreCase)) && matches.Count != 1)
                        problems.Add($"line {line}: {commandName} has no parameter -{parameter}" + (matches.Count > 1 ? $" (ambiguous: {string.Join(", ", matches)})" : "") + ".");
                }
            }
            Assert.True(problems.Count == 0, $"{name}:\n  " + string.Join("\n  ", problems));
        }

        [Fact]
        public void Every_error_id_the_suite_expects_is_one_the_cmdlets_write()
        {
            var sourceIds = new HashSet<string>(
                Directory.GetFiles(Path.Combine(Repo.Root, "src", "HexCost.Commands"), "*.cs", SearchOption.AllDirectories)
                    .SelectMany(f => Regex.Matches(File.ReadAllText(f), "\"(?<id>Hex[A-Z][A-Za-z]+)\"").Cast<Match>().Select(m => m.Groups["id"].Value)),
                StringComparer.Ordinal);
            var expected = new List<(string File, int Line, string Id)>();
            foreach (var file in Directory.GetFiles(PesterDir, "*.ps1").Select(Path.GetFileName))
            {
                foreach (var command in Parse(file!).FindAll(a => a is CommandAst c && c.GetCommandName() == "Should", true).Cast<CommandAst>())
                {
                    var elements = command.CommandElements;
                    for (var i = 1; i + 1 < elements.Count; i++)
                    {
                        if (elements[i] is CommandParameterAst p && (p.ParameterName == "ErrorId" || p.ParameterName == "BeLike")
                            && elements[i + 1] is StringConstantExpressionAst value && value.Value.StartsWith("Hex", StringComparison.Ordinal))
                            expected.Add((file!, command.Extent.StartLineNumber, value.Value.TrimEnd('*')));
                    }
                }
            }
            Assert.True(expected.Count >= 15, $"only {expected.Count} error ids are checked by the Pester suite");
            var unknown = expected.Where(e => !sourceIds.Contains(e.Id)).Select(e => $"{e.File} line {e.Line}: {e.Id}").ToList();
            Assert.True(unknown.Count == 0, "The Pester suite expects error ids no cmdlet writes:\n  " + string.Join("\n  ", unknown));
        }

        [Fact]
        public void The_suite_iterates_over_the_modules_own_lists()
        {
            var common = Parse("Common.ps1");
            var cmdlets = _host.Run("Get-Command -Module HexCost -CommandType Cmdlet").ThrowIfErrors().Output.Select(o => (CmdletInfo)o.BaseObject).ToList();

            Assert.Equal(cmdlets.Select(c => c.Name).OrderBy(n => n), StringList(common, "HexCostCmdlets").OrderBy(n => n));
            var stateChanging = cmdlets.Where(c => c.ImplementingType.GetCustomAttributes(typeof(CmdletAttribute), false).Cast<CmdletAttribute>().Single().SupportsShouldProcess);
            Assert.Equal(stateChanging.Select(c => c.Name).OrderBy(n => n), StringList(common, "HexCostStateChangingCmdlets").OrderBy(n => n));

            var format = File.ReadAllText(Path.Combine(Repo.Root, "module", "HexCost.Format.ps1xml"));
            var formatted = Regex.Matches(format, "<TypeName>(?<name>[^<]+)</TypeName>").Cast<Match>().Select(m => m.Groups["name"].Value).Distinct();
            Assert.Equal(formatted.OrderBy(n => n), StringList(common, "HexCostOutputTypes").OrderBy(n => n));

            // Each output type gets a sample in the round-trip test, and the test runs once per type.
            var roundTrip = File.ReadAllText(Path.Combine(PesterDir, "OutputTypes.Tests.ps1"));
            foreach (var type in formatted) Assert.Contains($"$samples['{type}']", roundTrip);
            Assert.Contains("-TestCases $typeCases", roundTrip);
        }

        /// <summary>Parameter names and aliases of the commands the script can call: the module's and the engine's cmdlets,
        /// and the functions defined in the script or in Common.ps1.</summary>
        private Dictionary<string, List<string>> KnownParameters(ScriptBlockAst script)
        {
            var known = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var command in _host.Run("Get-Command -CommandType Cmdlet").ThrowIfErrors().Output.Select(o => (CmdletInfo)o.BaseObject))
                known[command.Name] = command.Parameters.Values.SelectMany(p => p.Aliases.Prepend(p.Name)).ToList();
            foreach (var source in new[] { script, Parse("Common.ps1") })
            {
                foreach (var function in source.FindAll(a => a is FunctionDefinitionAst, true).Cast<FunctionDefinitionAst>())
                {
                    var parameters = function.Body.ParamBlock?.Parameters ?? (IEnumerable<ParameterAst>?)function.Parameters ?? Array.Empty<ParameterAst>();
                    var names = parameters.Select(p => p.Name.VariablePath.UserPath).ToList();
                    var isAdvanced = function.Body.ParamBlock?.Attributes.Any(a => a.TypeName.Name == "CmdletBinding") == true
                        || parameters.Any(p => p.Attributes.Any(a => a.TypeName.Name == "Parameter"));
                    if (isAdvanced) names.AddRange(Cmdlet.CommonParameters);
                    known[function.Name] = names;
                }
            }
            return known;
        }

        internal static List<string> StringList(ScriptBlockAst script, string variable)
        {
            var assignment = script.FindAll(a => a is AssignmentStatementAst s && s.Left is VariableExpressionAst v
                && v.VariablePath.UserPath == variable, true).Cast<AssignmentStatementAst>().SingleOrDefault();
            Assert.True(assignment != null, $"Common.ps1 does not set ${variable}.");
            return assignment!.Right.FindAll(a => a is StringConstantExpressionAst, true).Cast<StringConstantExpressionAst>().Select(s => s.Value).ToList();
        }
    }
}
