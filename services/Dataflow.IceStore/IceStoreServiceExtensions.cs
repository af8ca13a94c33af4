using System.Diagnostics.Metrics;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;
using Dataflow.IceStore;
using Dataflow.Pipeline;
using Dataflow.Pipeline.PubSub;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class IceStoreServiceExtensions
{
    /// <summary>
    /// Pub/Sub → per-key batches → gzip JSON Lines in Cloud Storage: options from <c>IceStore</c>, clients from
    /// <c>Google:PubSub</c> and <c>Google:Storage</c>; the bucket is created at start; "ready" checks on both.
    /// </summary>
    public static IHostApplicationBuilder AddIceStore(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<IceStoreOptions>().Bind(builder.Configuration.GetSection(IceStoreOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IceStoreOptions>, IceStoreOptionsValidator>();
        services.AddPubSub(builder.Configuration);
        services.AddCloudStorage(builder.Configuration);
        services.TryAddSingletonTimeProvider();
        services.AddHostedService<BucketInitializer>();
        services.AddSingleton<IceStoreConsumer>();
        services.AddSingleton<IPipeline>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<IceStoreOptions>>().Value;
            var transformer = new ArchiveTransformer(sp.GetRequiredService<TimeProvider>());
            return new BatchingPipeline<ArchiveLine>(
                "icestore", sp.GetRequiredService<IceStoreConsumer>().Consumer, transformer, transformer,
                new ArchiveSink(sp.GetRequiredService<StorageClient>(), options), options.Pipeline, options.Batching,
                new PipelineMetrics("icestore", sp.GetService<IMeterFactory>()),
                sp.GetRequiredService<ILogger<BatchingPipeline<ArchiveLine>>>());
        });
        services.AddHostedService<PipelineHostedService>();
        services.AddHealthChecks().AddCheck<IceStoreHealthCheck>("pubsub-and-storage", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}

/// <summary>The subscription consumer, disposed (its acks flushed) after the pipeline stopped.</summary>
internal sealed class IceStoreConsumer(PubSubClient client, IOptions<IceStoreOptions> options, ILogger<PubSubMessageConsumer> logger) : IAsyncDisposable
{
    public PubSubMessageConsumer Consumer { get; } = new(
        client.CreateSubscriber(options.Value.Subscription, new SubscriberSettings
        {
            MaxOutstandingMessages = options.Value.Pipeline.MaxOutstandingMessages,
            // A batch may wait a whole flush interval before its messages are acked.
            MaxTotalLeaseDuration = options.Value.Batching.FlushInterval + TimeSpan.FromMinutes(10),
        }),
        logger);

    public ValueTask DisposeAsync() => Consumer.DisposeAsync();
}

/// <summary>Creates the archive bucket at start when it does not exist.</summary>
internal sealed class BucketInitializer(StorageClient storage, IOptions<IceStoreOptions> options, ILogger<BucketInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var bucket = options.Value.Bucket;
        try
        {
            await storage.GetBucketAsync(bucket, cancellationToken);
        }
        catch (Dataflow.Google.Core.GoogleApiException ex) when (ex.HttpStatus == System.Net.HttpStatusCode.NotFound)
        {
            await storage.CreateBucketAsync(new StorageBucket { Name = bucket, Location = options.Value.BucketLocation }, cancellationToken);
            logger.LogInformation("Created bucket {Bucket}", bucket);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal sealed class IceStoreHealthCheck(PubSubClient pubSub, StorageClient storage, IOptions<IceStoreOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await pubSub.GetSubscriptionAsync(options.Value.Subscription, cancellationToken);
            await storage.GetBucketAsync(options.Value.Bucket, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is HttpRequestException or Dataflow.Google.Core.GoogleApiException)
        {
            return HealthCheckResult.Unhealthy(ex.Message, ex);
        }
    }
}
