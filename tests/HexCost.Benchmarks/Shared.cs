using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

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

/// <summary>The permit throughput of a state store: <paramref name="processes"/> tests/HexCost.StoreHost processes running
/// its bench script (TakePermit + AnswerPermit, over and over) on the store at <c>location(i)</c>, started together.</summary>
internal static class PermitBench
{
    /// <returns>Permits taken by all processes, and the longest a process ran (s).</returns>
    /// <param name="beforeGo">Runs once every process is ready, right before they start.</param>
    public static async Task<(long Count, double Seconds)> RunAsync(string root, Func<int, string> location, int processes, int seconds, Func<Task>? beforeGo = null)
    {
        var dll = Path.Combine(root, "tests", "HexCost.StoreHost", "bin", "Release", "net10.0", "HexCost.StoreHost.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("Build tests/HexCost.StoreHost in Release first (dotnet build -c Release tests/HexCost.StoreHost).", dll);
        var hosts = new List<Process>();
        try
        {
            for (var i = 0; i < processes; i++)
            {
                var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
                foreach (var arg in new[] { dll, "bench", location(i), "id=b" + i, "seconds=" + seconds }) start.ArgumentList.Add(arg);
                hosts.Add(Process.Start(start)!);
            }
            foreach (var host in hosts)
            {
                var line = await host.StandardOutput.ReadLineAsync();
                if (line == null || !line.Contains("ready", StringComparison.Ordinal)) throw new InvalidOperationException("a store host did not get ready: " + line);
            }
            if (beforeGo != null) await beforeGo();
            foreach (var host in hosts) await host.StandardInput.WriteLineAsync("go");
            long count = 0;
            double longest = 0;
            foreach (var host in hosts)
            {
                var line = await host.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("a store host printed nothing");
                var result = JsonDocument.Parse(line).RootElement;
                count += result.GetProperty("count").GetInt64();
                longest = Math.Max(longest, result.GetProperty("seconds").GetDouble());
                await host.WaitForExitAsync();
            }
            return (count, longest);
        }
        finally
        {
            foreach (var host in hosts)
            {
                try { if (!host.HasExited) host.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                host.Dispose();
            }
        }
    }
}
