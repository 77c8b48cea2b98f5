using System;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HexCost.Emulator;

/// <summary>An in-process emulator of Hex's public REST API, listening on loopback.</summary>
public sealed class HexEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private Uri? _baseUri;

    private HexEmulator(WebApplication app, EmulatorOptions options)
    {
        _app = app;
        Options = options;
        Workspace = new EmulatorWorkspace(options);
        Stats = new EmulatorStats();
        Endpoints = new Endpoints(options, Workspace, Stats, () => _baseUri);
    }

    /// <summary>API base, e.g. <c>http://127.0.0.1:54321/api/v1</c> (no trailing slash).</summary>
    public Uri BaseUri => _baseUri ?? throw new InvalidOperationException("The emulator has not started.");

    public string Token => Options.Token;

    public EmulatorOptions Options { get; }

    public EmulatorWorkspace Workspace { get; }

    public EmulatorStats Stats { get; }

    internal Endpoints Endpoints { get; }

    /// <summary>The emulator's own counters as JSON, for tests in another process (a Pester test in pwsh): GET, no token,
    /// outside the API (not counted, never throttled).</summary>
    public const string StatsPath = "/_emulator/stats";

    private Task WriteStatsAsync(HttpContext ctx)
    {
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new
        {
            Stats.TotalRequests,
            Stats.RunsCreated,
            Stats.Throttled429,
            Stats.Kernel503,
            Stats.RequestsByOperation,
        }));
    }

    public static async Task<HexEmulator> StartAsync(EmulatorOptions? options = null, CancellationToken ct = default)
    {
        options ??= new EmulatorOptions();
        var address = LoopbackAddress(options.Host);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(HexEmulator).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(address, options.Port);
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();

        var emulator = new HexEmulator(app, options);
        app.Run(ctx => ctx.Request.Path.Value == StatsPath ? emulator.WriteStatsAsync(ctx) : emulator.Endpoints.HandleAsync(ctx));
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var listening = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator._baseUri = new Uri(listening.TrimEnd('/') + "/api/v1");
        return emulator;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    private static IPAddress LoopbackAddress(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return IPAddress.Loopback;
        if (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip))
            return ip;
        throw new ArgumentException($"The emulator only binds to loopback; '{host}' is not a loopback address.", nameof(host));
    }
}
