using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace HexCost.Tests.Infrastructure
{
    /// <summary>A real PowerShell runspace with the built module imported from the repository's manifest.</summary>
    internal sealed class PsHost : IDisposable
    {
        private readonly Runspace _runspace;

        public PsHost(bool import = true)
        {
            var state = InitialSessionState.CreateDefault2();
            _runspace = RunspaceFactory.CreateRunspace(state);
            _runspace.Open();
            if (import) Run("Import-Module $args[0] -ErrorAction Stop", Repo.Manifest).ThrowIfErrors();
        }

        public Runspace Runspace => _runspace;

        /// <summary>Runs a script; arguments are $args[0..]. Errors are collected, not thrown: a terminating error
        /// (ThrowTerminatingError) ends the script and lands in <see cref="PsResult.Terminating"/>.</summary>
        public PsResult Run(string script, params object?[] args)
        {
            using var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript("try {\n" + script + "\n} catch { throw }");
            foreach (var arg in args) ps.AddArgument(arg);
            var result = new PsResult();
            try
            {
                result.Output.AddRange(ps.Invoke());
            }
            catch (RuntimeException ex)
            {
                result.Terminating = ex.ErrorRecord;
            }
            result.Errors.AddRange(ps.Streams.Error);
            result.Verbose.AddRange(ps.Streams.Verbose.Select(v => v.Message));
            result.Warnings.AddRange(ps.Streams.Warning.Select(v => v.Message));
            result.Debug.AddRange(ps.Streams.Debug.Select(v => v.Message));
            result.Progress.AddRange(ps.Streams.Progress);
            return result;
        }

        /// <summary>Starts a script asynchronously (for Ctrl+C tests): returns the PowerShell to Stop().</summary>
        public (System.Management.Automation.PowerShell Shell, IAsyncResult Handle) Start(string script, params object?[] args)
        {
            var ps = System.Management.Automation.PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            foreach (var arg in args) ps.AddArgument(arg);
            return (ps, ps.BeginInvoke());
        }

        public void Dispose() => _runspace.Dispose();
    }

    internal sealed class PsResult
    {
        public List<PSObject> Output { get; } = new List<PSObject>();
        public List<ErrorRecord> Errors { get; } = new List<ErrorRecord>();
        public ErrorRecord? Terminating { get; set; }
        public List<string> Verbose { get; } = new List<string>();
        public List<string> Warnings { get; } = new List<string>();
        public List<string> Debug { get; } = new List<string>();
        public List<ProgressRecord> Progress { get; } = new List<ProgressRecord>();

        public IEnumerable<ErrorRecord> AllErrors => Terminating == null ? Errors : Errors.Append(Terminating);

        public PsResult ThrowIfErrors()
        {
            var first = AllErrors.FirstOrDefault();
            if (first != null) throw new InvalidOperationException($"PowerShell error {first.FullyQualifiedErrorId}: {first}");
            return this;
        }

        public string ErrorIds => string.Join(", ", AllErrors.Select(e => e.FullyQualifiedErrorId));
    }

    internal static class PsExtensions
    {
        public static T Prop<T>(this PSObject obj, string name)
        {
            var value = obj.Properties[name]?.Value;
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            return (T)value!;
        }
    }
}
