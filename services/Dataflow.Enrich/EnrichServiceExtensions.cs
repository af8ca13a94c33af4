using System.Diagnostics.Metrics;
using Dataflow.Enrich;
using Dataflow.Enrich.Lookup;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Pipeline;
using Dataflow.Pipeline.PubSub;
using Dataflow.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class EnrichServiceExtensions
{
    /// <summary>
    /// Pub/Sub → LRU/Redis/Firestore lookup → Pub/Sub: options from <c>Enrich</c>, clients from <c>Google:PubSub</c>
    /// and <c>Google:Firestore</c>, "ready" checks on Pub/Sub, Firestore and (when configured) Redis.
    /// Without <c>Enrich:RedisConnectionString</c> the Redis layer uses <c>ConnectionStrings:{redisConnectionName}</c>
    /// when present, as an AppHost injects it for a referenced Redis.
    /// </summary>
    public static IHostApplicationBuilder AddEnrich(this IHostApplicationBuilder builder, string redisConnectionName = "redis")
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(redisConnectionName);
        var services = builder.Services;
        services.AddOptions<EnrichOptions>().Bind(builder.Configuration.GetSection(EnrichOptions.Section))
            .PostConfigure(options =>
            {
                if (string.IsNullOrWhiteSpace(options.RedisConnectionString))
                {
                    options.RedisConnectionString = builder.Configuration.GetConnectionString(redisConnectionName);
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EnrichOptions>, EnrichOptionsValidator>();
        services.AddPubSub(builder.Configuration);
        services.AddFirestore(builder.Configuration);
        services.AddSingleton<EnrichRedis>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EnrichOptions>>().Value;
            var redis = sp.GetRequiredService<EnrichRedis>().Client;
            return new DeviceLookup(
                new FirestoreDeviceStore(sp.GetRequiredService<FirestoreClient>(), options.FirestoreCollection),
                redis is null ? null : new RedisDeviceCache(redis.WithKeyPrefix(options.RedisKeyPrefix)),
                options.Lookup, sp.GetRequiredService<ILogger<DeviceLookup>>(), sp.GetService<IMeterFactory>());
        });
        services.AddSingleton<EnrichProducers>();
        services.AddSingleton<IPipeline>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EnrichOptions>>().Value;
            var pubSub = sp.GetRequiredService<PubSubClient>();
            var producers = sp.GetRequiredService<EnrichProducers>();
            var consumer = new PubSubMessageConsumer(
                pubSub.CreateSubscriber(options.Subscription, new SubscriberSettings { MaxOutstandingMessages = options.Pipeline.MaxOutstandingMessages }),
                sp.GetRequiredService<ILogger<PubSubMessageConsumer>>());
            producers.Own(consumer);
            return new StreamingPipeline<EnrichInput>(
                "enrich", consumer, new EnrichTransformer(options.KeyAttribute),
                new EnrichProcessor(sp.GetRequiredService<DeviceLookup>(), producers.Output, producers.DeadLetters, options),
                options.Pipeline, new PipelineMetrics("enrich", sp.GetService<IMeterFactory>()),
                sp.GetRequiredService<ILogger<StreamingPipeline<EnrichInput>>>());
        });
        services.AddHostedService<PipelineHostedService>();
        services.AddHealthChecks()
            .AddCheck<PubSubSubscriptionHealthCheck>("pubsub", tags: [ServiceDefaultsExtensions.ReadyTag])
            .AddCheck<FirestoreHealthCheck>("firestore", tags: [ServiceDefaultsExtensions.ReadyTag])
            .AddCheck<RedisHealthCheck>("redis", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }
}

/// <summary>The Redis client when configured; it connects in the background and never blocks start.</summary>
internal sealed class EnrichRedis : IAsyncDisposable
{
    public EnrichRedis(IOptions<EnrichOptions> options)
    {
        var value = options.Value;
        if (string.IsNullOrWhiteSpace(value.RedisConnectionString))
        {
            return;
        }

        var connection = RedisConnectionOptions.Parse(value.RedisConnectionString);
        connection.AbortOnConnectFail = false;
        connection.QueueWhileDisconnected = false;
        connection.CommandTimeout = value.RedisTimeout;
        Client = RedisClient.ConnectAsync(connection).GetAwaiter().GetResult();
    }

    public RedisClient? Client { get; }

    public ValueTask DisposeAsync() => Client?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Owns the output and dead-letter publishers and the consumer; disposed after the pipeline stopped.</summary>
internal sealed class EnrichProducers : IAsyncDisposable
{
    private readonly PubSubMessageProducer _output;
    private readonly PubSubMessageProducer? _deadLetter;
    private PubSubMessageConsumer? _consumer;

    public EnrichProducers(PubSubClient client, IOptions<EnrichOptions> options)
    {
        _output = new PubSubMessageProducer(client.CreatePublisher(options.Value.OutputTopic));
        if (options.Value.NotFound == NotFoundAction.DeadLetter && options.Value.DeadLetterTopic is { } deadLetterTopic)
        {
            _deadLetter = new PubSubMessageProducer(client.CreatePublisher(deadLetterTopic));
            DeadLetters = new PubSubDeadLetterSink(_deadLetter);
        }
    }

    public IMessageProducer Output => _output;

    public IDeadLetterSink? DeadLetters { get; }

    public void Own(PubSubMessageConsumer consumer) => _consumer = consumer;

    public async ValueTask DisposeAsync()
    {
        if (_consumer is not null)
        {
            await _consumer.DisposeAsync();
        }

        await _output.DisposeAsync();
        if (_deadLetter is not null)
        {
            await _deadLetter.DisposeAsync();
        }
    }
}

internal sealed class PubSubSubscriptionHealthCheck(PubSubClient client, IOptions<EnrichOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await client.GetSubscriptionAsync(options.Value.Subscription, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is HttpRequestException or Dataflow.Google.Core.GoogleApiException)
        {
            return HealthCheckResult.Unhealthy($"subscription {options.Value.Subscription} unavailable", ex);
        }
    }
}

internal sealed class FirestoreHealthCheck(FirestoreClient client, IOptions<EnrichOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // Any document read answers (found or not) only when Firestore is reachable.
            await client.GetDocumentAsync($"{options.Value.FirestoreCollection}/readiness-probe", cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is HttpRequestException or Dataflow.Google.Core.GoogleApiException)
        {
            return HealthCheckResult.Unhealthy("Firestore unavailable", ex);
        }
    }
}

/// <summary>Redis is an optimisation: while it is down the service still works, so it reports Degraded, not Unhealthy.</summary>
internal sealed class RedisHealthCheck(EnrichRedis redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (redis.Client is null)
        {
            return HealthCheckResult.Healthy("Redis layer not configured");
        }

        try
        {
            await redis.Client.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (RedisException ex)
        {
            return HealthCheckResult.Degraded("Redis unavailable; lookups fall through to Firestore", ex);
        }
    }
}
