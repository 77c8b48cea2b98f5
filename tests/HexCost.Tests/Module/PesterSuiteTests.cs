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
    /// The Pester suite runs in real pwsh 7.6 (build.ps1 -Task Test), which judges what it does. Windows PowerShell 5.1 runs
    /// build.ps1, the module's manifest and the suite too but cannot run here, so this reads them with PowerShell's parser:
    /// they must parse and use no syntax that only PowerShell 7 understands.
    /// </summary>
    public class PesterSuiteTests
    {
        private static readonly string PesterDir = Path.Combine(Repo.Root, "tests", "Pester");

        public static TheoryData<string> Scripts()
        {
            var data = new TheoryData<string>();
            foreach (var file in Directory.GetFiles(PesterDir, "*.ps1").OrderBy(f => f, StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
            data.Add("build.ps1");
            data.Add("HexCost.psd1");
            return data;
        }

        private static string PathOf(string name) => name switch
        {
            "build.ps1" => Path.Combine(Repo.Root, name),
            "HexCost.psd1" => Path.Combine(Repo.Root, "module", name),
            _ => Path.Combine(PesterDir, name),
        };

        /// <summary>Windows PowerShell 5.1 reads build.ps1, the module's manifest and the Pester suite too, and its parser
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

        internal static List<string> StringList(ScriptBlockAst script, string variable)
        {
            var assignment = script.FindAll(a => a is AssignmentStatementAst s && s.Left is VariableExpressionAst v
                && v.VariablePath.UserPath == variable, true).Cast<AssignmentStatementAst>().SingleOrDefault();
            Assert.True(assignment != null, $"Common.ps1 does not set ${variable}.");
            return assignment!.Right.FindAll(a => a is StringConstantExpressionAst, true).Cast<StringConstantExpressionAst>().Select(s => s.Value).ToList();
        }
    }
}
