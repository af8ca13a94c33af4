using Dataflow.Google.Storage;
using Dataflow.Mqtt.Client;
using Microsoft.Extensions.Options;

namespace Dataflow.IceStore.Replay;

/// <summary>
/// <c>Dataflow.IceStore replay [--Replay:Key=value …]</c>: publishes archived messages back to MQTT and exits.
/// Configuration as for the service (appsettings.json, environment, command line; Cloud Storage from
/// <c>Google:Storage</c>). Exit code 0: everything published; 1: invalid configuration; 2: some lines were
/// invalid or refused (logged).
/// </summary>
public static class ReplayCommand
{
    public const string Name = "replay";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddCloudStorage(builder.Configuration);
        builder.Services.AddOptions<ReplayOptions>().Bind(builder.Configuration.GetSection(ReplayOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ReplayOptions>, ReplayOptionsValidator>();
        using var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ReplayCommand));
        try
        {
            await host.StartAsync();
        }
        catch (OptionsValidationException ex)
        {
            foreach (var failure in ex.Failures)
            {
                logger.LogCritical("Invalid configuration: {Failure}", failure);
            }

            return 1;
        }

        // Ctrl+C / SIGTERM stop the replay: what the broker acknowledged so far stays published.
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var options = host.Services.GetRequiredService<IOptions<ReplayOptions>>().Value;
        await using var mqtt = new MqttClient(MqttClientOptions.Parse(options.MqttConnectionString));
        await mqtt.ConnectAsync(stopping);
        var replayer = new ArchiveReplayer(host.Services.GetRequiredService<StorageClient>(), mqtt, options, logger);
        var result = await replayer.RunAsync(stopping);
        logger.LogInformation("Replayed gs://{Bucket}/{Prefix}: {Result}", options.Bucket, options.Prefix, result);
        await host.StopAsync(CancellationToken.None);
        return result.Complete ? 0 : 2;
    }
}
