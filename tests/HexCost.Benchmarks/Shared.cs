using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using System.Text;

namespace HexCost.Benchmarks;

/// <summary>The printed and the markdown form of a result table (first column left-aligned, the rest right).</summary>
internal static class Tables
{
    public static string TextTable(List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        string Line(string[] r) => string.Join("  ", r.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c])));
        sb.AppendLine(Line(rows[0]));
        sb.AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        foreach (var r in rows.Skip(1)) sb.AppendLine(Line(r));
        return sb.ToString();
    }

    public static string MarkdownTable(List<string[]> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| " + string.Join(" | ", rows[0]) + " |");
        sb.AppendLine("|" + string.Join("|", rows[0].Select((_, c) => c == 0 ? "---" : "---:")) + "|");
        foreach (var r in rows.Skip(1)) sb.AppendLine("| " + string.Join(" | ", r.Select(c => c.StartsWith("  ", StringComparison.Ordinal) ? "&nbsp;&nbsp;" + c.Trim() : c.Trim())) + " |");
        return sb.ToString();
    }
}

internal static class Shell
{
    public static void Invoke(Runspace runspace, string script, params object[] args)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var arg in args) ps.AddArgument(arg);
        ps.Invoke();
        if (ps.HadErrors && ps.Streams.Error.Count > 0)
            throw new InvalidOperationException($"PowerShell failed: {ps.Streams.Error[0]}");
    }

    public static SecureString Secure(string text)
    {
        var secure = new SecureString();
        foreach (var c in text) secure.AppendChar(c);
        secure.MakeReadOnly();
        return secure;
    }
}
