using Dataflow.Google.PubSub;
using Dataflow.Ingestion;
using Dataflow.Ingestion.Routing;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;
using Dataflow.Pipeline;
using Dataflow.Pipeline.Mqtt;
using Dataflow.Pipeline.PubSub;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class IngestionServiceExtensions
{
    /// <summary>
    /// MQTT → Pub/Sub ingestion: options from <c>Ingestion</c> (validated at start, routing file included),
    /// Pub/Sub from <c>Google:PubSub</c>, the pipeline as a hosted service, and a "ready" check on the broker connection.
    /// Without <c>Ingestion:Mqtt:ConnectionString</c> the broker is <c>ConnectionStrings:{mqttConnectionName}</c>, as an
    /// AppHost injects it for a referenced broker.
    /// </summary>
    public static IHostApplicationBuilder AddIngestion(this IHostApplicationBuilder builder, string mqttConnectionName = "mqtt")
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(mqttConnectionName);
        var services = builder.Services;
        services.AddOptions<IngestionOptions>().Bind(builder.Configuration.GetSection(IngestionOptions.Section))
            .PostConfigure(options =>
            {
                if (string.IsNullOrWhiteSpace(options.Mqtt.ConnectionString))
                {
                    options.Mqtt.ConnectionString = builder.Configuration.GetConnectionString(mqttConnectionName) ?? "";
                    options.Mqtt.ConnectionName = mqttConnectionName;
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<IngestionOptions>, IngestionOptionsValidator>();
        services.AddPubSub(builder.Configuration);

        services.AddSingleton(sp => RoutingFileLoader.Load(sp.GetRequiredService<IOptions<IngestionOptions>>().Value.RoutingFile));
        services.AddSingleton(sp => new MqttClient(MqttClientFactory.CreateOptions(sp.GetRequiredService<IOptions<IngestionOptions>>().Value)));
        services.AddSingleton<IngestionProducers>();
        services.AddHostedService<IngestionTopicCheck>();
        services.AddSingleton<IPipeline>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<IngestionOptions>>().Value;
            var routes = sp.GetRequiredService<RoutingTable>();
            var subscriptions = routes.Routes
                .GroupBy(r => r.MqttTopicFilter, StringComparer.Ordinal)
                .Select(g => new MqttSubscription { Filter = g.Key, QoS = (MqttQualityOfService)g.Max(r => r.Qos) })
                .ToList();
            var consumer = new MqttMessageConsumer(sp.GetRequiredService<MqttClient>(), subscriptions, static () => MessageIds.NewVersion7());
            var publisher = new IngestionPublisher(
                sp.GetRequiredService<IngestionProducers>().ByTopic, options.MaxPublishRetryDelay, sp.GetRequiredService<ILogger<IngestionPublisher>>());
            return new StreamingPipeline<IReadOnlyList<RoutedMessage>>(
                "ingestion", consumer, new IngestionTransformer(routes, options), publisher, options.Pipeline,
                new PipelineMetrics("ingestion", sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()),
                sp.GetRequiredService<ILogger<StreamingPipeline<IReadOnlyList<RoutedMessage>>>>());
        });
        services.AddHostedService<PipelineHostedService>();
        services.AddHealthChecks().AddCheck<MqttConnectedHealthCheck>("mqtt-broker", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }
}

/// <summary>One batching Pub/Sub publisher per topic of the routing file; disposing flushes them all.</summary>
internal sealed class IngestionProducers(PubSubClient client, RoutingTable routes, IOptions<IngestionOptions> options) : IAsyncDisposable
{
    private readonly Dictionary<string, PubSubMessageProducer> _producers = routes.Topics.ToDictionary(
        t => t, t => new PubSubMessageProducer(client.CreatePublisher(t, new PublisherSettings
        {
            MaxMessagesPerBatch = options.Value.Publisher.MaxMessagesPerBatch,
            DelayThreshold = options.Value.Publisher.DelayThreshold,
        })), StringComparer.Ordinal);

    public IReadOnlyDictionary<string, IMessageProducer> ByTopic =>
        _producers.ToDictionary(p => p.Key, p => (IMessageProducer)p.Value, StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        foreach (var producer in _producers.Values)
        {
            await producer.DisposeAsync();
        }
    }
}

/// <summary>Fails start when a topic of the routing file does not exist (a configuration error, not an outage).</summary>
internal sealed class IngestionTopicCheck(PubSubClient client, RoutingTable routes, ILogger<IngestionTopicCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var topic in routes.Topics)
        {
            try
            {
                await client.GetTopicAsync(topic, cancellationToken);
            }
            catch (Dataflow.Google.Core.GoogleApiException ex) when (ex.HttpStatus == System.Net.HttpStatusCode.NotFound)
            {
                throw new InvalidOperationException(
                    $"{routes.SourceFile}: Pub/Sub topic '{topic}' does not exist in project '{client.ProjectId}'.", ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or Dataflow.Google.Core.GoogleApiException)
            {
                // An outage is not a configuration error: publishing retries until Pub/Sub is back.
                logger.LogWarning(ex, "Could not check Pub/Sub topic {Topic}; continuing", topic);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Ready while the MQTT client is connected and its subscriptions are in place.</summary>
internal sealed class MqttConnectedHealthCheck(MqttClient client) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(client.IsConnected
            ? HealthCheckResult.Healthy($"connected to {client.Options.Host}:{client.Options.Port}")
            : HealthCheckResult.Unhealthy($"not connected to the MQTT broker ({client.State})", client.LastError));
}
