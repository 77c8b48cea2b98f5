using System;
using System.IO;

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

        public static void RestrictToOwner(string path, bool isDirectory)
        {
#if NET8_0_OR_GREATER
            if (OperatingSystem.IsWindows()) return;
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
    }
}
