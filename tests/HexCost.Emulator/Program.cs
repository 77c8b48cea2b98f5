using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace HexCost.Emulator;

internal static class Program
{
    private const string Usage = """
        Usage: dotnet run --project tests/HexCost.Emulator [-- options]
          --port N             TCP port on 127.0.0.1 (default 5080; 0 = ephemeral)
          --project-count N    demo projects (default 12)
          --seed N             demo workspace seed (default 42)
          --token T            bearer token to accept (default: the fixed emulator token)
          --pending-ms N       PENDING time of a run (default 200)
          --run-ms N           RUNNING time of a run (default 1000)
          --no-rate-limits     never answer 429
          --runs-per-minute N  RunProject limit of the short window (default 20)
          --run-minute-ms N    length of that window (default 60000)
          --runs-per-hour N    RunProject limit of the long window (default 60)
          --run-hour-ms N      length of that window (default 3600000)
          --requests-per-minute N  limit of every request (default 60)
          --request-minute-ms N    length of that window (default 60000)
          --reads-per-minute N     limit of the "hex-api" reads (default 30; 1800 an hour)
          --max-kernels N      live runs per user before RunProject answers 503 (default 25)
          --token-role ROLE    the token user's role (default ADMIN; e.g. EDITOR, which may not list AI threads)
          --now INSTANT        the emulator's clock starts at this ISO 8601 instant (e.g. 2026-06-15T12:00:00Z) and runs
                               on in real time; it then prints HEX_EMULATOR_CLOCK_OFFSET_MS (its clock minus the real one)
        GET /_emulator/stats answers the emulator's counters (requests by operation, runs created, 429s) as JSON.
          --no-queried-tables  not an Enterprise workspace: GetQueriedTables answers 403
          --stall-project ID   requests naming this project id never get an answer (repeatable)
        """;

    public static async Task<int> Main(string[] args)
    {
        var options = new EmulatorOptions { Port = 5080 };
        string? tokenRole = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                int NextInt() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--port": options.Port = NextInt(); break;
                    case "--project-count": options.ProjectCount = NextInt(); break;
                    case "--seed": options.Seed = NextInt(); break;
                    case "--token": options.Token = Next(); break;
                    case "--pending-ms": options.PendingDuration = TimeSpan.FromMilliseconds(NextInt()); break;
                    case "--run-ms": options.RunDuration = TimeSpan.FromMilliseconds(NextInt()); break;
                    case "--no-rate-limits": options.RateLimitsEnabled = false; break;
                    case "--runs-per-minute": options.RunsPerMinute = NextInt(); break;
                    case "--run-minute-ms": options.RunMinuteWindow = TimeSpan.FromMilliseconds(NextInt()); break;
                    case "--runs-per-hour": options.RunsPerHour = NextInt(); break;
                    case "--run-hour-ms": options.RunHourWindow = TimeSpan.FromMilliseconds(NextInt()); break;
                    case "--requests-per-minute": options.RequestsPerWindow = NextInt(); break;
                    case "--request-minute-ms": options.RequestWindow = TimeSpan.FromMilliseconds(NextInt()); break;
                    case "--reads-per-minute": options.ReadsPerMinute = NextInt(); break;
                    case "--max-kernels": options.MaxKernels = NextInt(); break;
                    case "--token-role": tokenRole = Next(); break;
                    case "--now": options.Time = new PinnedClock(DateTimeOffset.Parse(Next(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)); break;
                    case "--no-queried-tables": options.QueriedTablesAvailable = false; break;
                    case "--stall-project": options.StalledProjectIds.Add(Next()); break;
                    case "-h" or "--help":
                        Console.WriteLine(Usage);
                        return 0;
                    default: throw new ArgumentException($"Unknown option {args[i]}.");
                }
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var stop = new TaskCompletionSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stop.TrySetResult();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        HexEmulator emulator;
        try
        {
            emulator = await HexEmulator.StartAsync(options);
            if (tokenRole != null) emulator.Workspace.SetUser(emulator.Workspace.TokenUser with { Role = tokenRole });
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"Cannot listen on {options.Host}:{options.Port}: {e.Message}");
            return 1;
        }
        await using (emulator)
        {
            Console.WriteLine($"HEX_API_BASE_URL={emulator.BaseUri}");
            Console.WriteLine($"HEX_API_TOKEN={emulator.Token}");
            if (options.Time is PinnedClock pinned)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"HEX_EMULATOR_CLOCK_OFFSET_MS={(long)pinned.Offset.TotalMilliseconds}"));
            Console.Out.Flush();
            await stop.Task;
        }
        return 0;
    }
}
