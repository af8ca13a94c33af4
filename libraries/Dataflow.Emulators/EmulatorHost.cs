using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Dataflow.Emulators;

/// <summary>Runs the stand-ins inside the calling process (tests, benchmarks, the AppHost).</summary>
public static class EmulatorHost
{
    /// <summary>Starts the stand-ins on a free loopback port.</summary>
    public static Task<RunningEmulator> StartAsync(EmulatorOptions options, CancellationToken cancellationToken) =>
        StartAsync(options, "http://127.0.0.1:0", cancellationToken);

    /// <summary>Starts the stand-ins listening on <paramref name="url"/> (port 0 picks a free port).</summary>
    public static async Task<RunningEmulator> StartAsync(EmulatorOptions options, string url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(EmulatorHost).Assembly.GetName().Name,
            Args = [],
        });
        builder.WebHost.UseUrls(url);
        builder.AddServiceDefaults();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddGoogleEmulators(o =>
        {
            o.DataDirectory = options.DataDirectory;
            o.InsertIdDeduplicationWindow = options.InsertIdDeduplicationWindow;
            o.ResumableSessionLifetime = options.ResumableSessionLifetime;
            o.DefaultBigQueryPageSize = options.DefaultBigQueryPageSize;
            o.ComputeMd5Hash = options.ComputeMd5Hash;
        });
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGoogleEmulatorsApi();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningEmulator(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }
}

/// <summary>A running in-process stand-in; dispose to stop it.</summary>
public sealed class RunningEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningEmulator(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary>Where both APIs are served, e.g. http://127.0.0.1:49152/ (the value for STORAGE_EMULATOR_HOST / BIGQUERY_EMULATOR_HOST).</summary>
    public Uri BaseUri { get; }

    /// <summary>Host and port without scheme, as the *_EMULATOR_HOST variables take it.</summary>
    public string HostPort => $"{BaseUri.Host}:{BaseUri.Port}";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
