using System;
using System.IO;
using System.Threading;
using HexCost.Api;

namespace HexCost.Ledger
{
    internal static class StateFiles
    {
        /// <summary>The per-user directory HexCost keeps state in: $HEXCOST_HOME, else the user's local data folder.</summary>
        public static string DefaultRoot()
        {
            var configured = Environment.GetEnvironmentVariable("HEXCOST_HOME");
            if (!string.IsNullOrWhiteSpace(configured)) return configured!;
            var data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
            if (string.IsNullOrEmpty(data)) data = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            return Path.Combine(data, "HexCost");
        }

        /// <summary>The state root as a full path (<paramref name="configured"/>, else <see cref="DefaultRoot"/>), created with
        /// its workspaces folder, so a path HexCost cannot use fails before any request. <paramref name="source"/> names where
        /// the path came from (e.g. -StatePath) in the error.</summary>
        /// <param name="create">False when the state is kept elsewhere (a Redis store): the path is checked, nothing is created.</param>
        /// <exception cref="HexException">InvalidConfiguration: not a path, a file, or a folder that cannot be created.</exception>
        public static string PrepareRoot(string? configured, string source, bool create = true)
        {
            var given = string.IsNullOrWhiteSpace(configured) ? DefaultRoot() : configured!;
            string root;
            try
            {
                root = Path.GetFullPath(given);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException || ex is PathTooLongException || ex is System.Security.SecurityException)
            {
                throw Unusable(source, given, $"it is not a path HexCost can use: {ex.Message}", ex);
            }
            if (File.Exists(root)) throw Unusable(source, root, "it is a file, not a folder", null);
            if (!create) return root;
            try
            {
                Directory.CreateDirectory(Path.Combine(root, "workspaces"));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException)
            {
                throw Unusable(source, root, $"the folder cannot be created there: {ex.Message}", ex);
            }
            return root;
        }

        private static HexException Unusable(string source, string path, string reason, Exception? inner) =>
            new HexException(HexErrorKind.InvalidConfiguration,
                $"{source} '{path}' cannot hold HexCost's state: {reason}. Give a folder you may write to (HexCost creates it if missing), e.g. ~/hexcost.", inner);

        public static string WorkspaceDirectory(string root, string orgId)
        {
            var safe = new char[orgId.Length];
            for (var i = 0; i < orgId.Length; i++)
            {
                var c = orgId[i];
                safe[i] = char.IsLetterOrDigit(c) || c == '-' || c == '_' ? c : '_';
            }
            return Path.Combine(root, "workspaces", new string(safe));
        }

        /// <summary>Takes the cross-process lock <paramref name="lockPath"/> (a file held open exclusively), waiting up to 30 s
        /// for another process to let go; dispose the result to release it. <paramref name="what"/> names it in the error.</summary>
        public static IDisposable AcquireLock(string lockPath, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            var delay = 1;
            while (true)
            {
                try
                {
                    return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(delay);
                    delay = Math.Min(delay * 2, 50);
                }
                catch (IOException ex)
                {
                    throw new HexException(HexErrorKind.StateCorrupt,
                        $"The {what} lock {lockPath} stayed taken for 30 s. Another HexCost process may be stuck; end it, or remove the lock file if no HexCost process runs.", ex);
                }
            }
        }

        public static void RestrictToOwner(string path, bool isDirectory)
        {
#if NET8_0_OR_GREATER
            if (OperatingSystem.IsWindows())
            {
                RestrictToOwnerOnWindows(path, isDirectory);
                return;
            }
            try
            {
                File.SetUnixFileMode(path, isDirectory
                    ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    : UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            catch (UnauthorizedAccessException) { }
            catch (IOException) { }
#endif
        }

#if NET8_0_OR_GREATER
        /// <summary>Only the current user, with full control and no inherited entries; a directory passes that on to what
        /// is created in it. Where the file system has no ACLs (or refuses), the file keeps what it inherited.</summary>
        [System.Runtime.Versioning.SupportedOSPlatform("windows")]
        private static void RestrictToOwnerOnWindows(string path, bool isDirectory)
        {
            try
            {
                var user = System.Security.Principal.WindowsIdentity.GetCurrent().User;
                if (user == null) return;
                if (isDirectory)
                {
                    var security = new System.Security.AccessControl.DirectorySecurity();
                    security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
                    security.AddAccessRule(new System.Security.AccessControl.FileSystemAccessRule(user, System.Security.AccessControl.FileSystemRights.FullControl,
                        System.Security.AccessControl.InheritanceFlags.ContainerInherit | System.Security.AccessControl.InheritanceFlags.ObjectInherit,
                        System.Security.AccessControl.PropagationFlags.None, System.Security.AccessControl.AccessControlType.Allow));
                    new DirectoryInfo(path).SetAccessControl(security);
                }
                else
                {
                    var security = new System.Security.AccessControl.FileSecurity();
                    security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
                    security.AddAccessRule(new System.Security.AccessControl.FileSystemAccessRule(user, System.Security.AccessControl.FileSystemRights.FullControl,
                        System.Security.AccessControl.AccessControlType.Allow));
                    new FileInfo(path).SetAccessControl(security);
                }
            }
            catch (SystemException)
            {
                // Best effort, like the Unix mode above: a file system without ACLs, or a share that refuses the change.
            }
        }
#endif
    }
}
