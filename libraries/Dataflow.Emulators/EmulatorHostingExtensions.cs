using Dataflow.Emulators.BigQuery;
using Dataflow.Emulators.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Dataflow.Emulators;

/// <summary>Registers and maps the Cloud Storage and BigQuery stand-ins.</summary>
public static class EmulatorHostingExtensions
{
    /// <summary>Adds the stand-ins' state, bound from the "Emulators" section and the <c>--data-dir</c> switch.</summary>
    public static IHostApplicationBuilder AddGoogleEmulators(this IHostApplicationBuilder builder, Action<EmulatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<EmulatorOptions>()
            .Bind(builder.Configuration.GetSection(EmulatorOptions.SectionName))
            .Configure<IConfiguration>((o, configuration) =>
            {
                if (configuration["data-dir"] is { Length: > 0 } dataDirectory)
                {
                    o.DataDirectory = dataDirectory;
                }
            });
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateDataAnnotations()
            .Validate(o => o.DataDirectory is null || IsUsableDirectory(o.DataDirectory),
                "Emulators:DataDirectory (--data-dir) must name a folder that exists or can be created, and is writable.")
            .ValidateOnStart();

        builder.Services.Configure<KestrelServerOptions>(kestrel =>
        {
            // Objects are as large as the client makes them; bigger transport buffers cut per-request syscalls and
            // back-pressure round trips when 64 MB bodies stream through.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MaxRequestBufferSize = 4 << 20;
            kestrel.Limits.MaxResponseBufferSize = 4 << 20;
        });
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services =>
        {
            var o = services.GetRequiredService<IOptions<EmulatorOptions>>().Value;
            var persistence = o.DataDirectory is null ? null : new StoragePersistence(o.DataDirectory);
            return new StorageStore(persistence, services.GetRequiredService<TimeProvider>());
        });
        builder.Services.AddSingleton(services => new ResumableUploads(
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<IOptions<EmulatorOptions>>().Value.ResumableSessionLifetime));
        builder.Services.AddSingleton(services =>
        {
            var o = services.GetRequiredService<IOptions<EmulatorOptions>>().Value;
            var persistence = o.DataDirectory is null ? null : new BigQueryPersistence(o.DataDirectory);
            return new BigQueryStore(persistence, services.GetRequiredService<TimeProvider>(), o.InsertIdDeduplicationWindow);
        });
        builder.Services.AddHostedService<EmulatorStateLoader>();
        return builder;
    }

    /// <summary>Maps both APIs plus a 501 answer, in Google's error format, for everything else.</summary>
    public static WebApplication MapGoogleEmulatorsApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(GoogleErrors.HandleAsync);
        app.MapStorageApi();
        app.MapBigQueryApi();
        app.MapFallback("{**path}", (HttpContext context) =>
            GoogleErrors.WriteAsync(context, System.Net.HttpStatusCode.NotImplemented, "notImplemented",
                $"Not supported by the Dataflow emulator: {context.Request.Method} {context.Request.Path}"));
        return app;
    }

    private static bool IsUsableDirectory(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, $".probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Loads persisted state before the server accepts requests.</summary>
    private sealed class EmulatorStateLoader(StorageStore storage, BigQueryStore bigQuery) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await storage.LoadAsync(cancellationToken);
            await bigQuery.LoadAsync(cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
