using System.Diagnostics.Metrics;
using Dataflow.BigQueries;
using Dataflow.Google.BigQuery;
using Dataflow.Google.PubSub;
using Dataflow.Pipeline;
using Dataflow.Pipeline.PubSub;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class BigQueriesServiceExtensions
{
    /// <summary>Pub/Sub → <see cref="TelemetryRow"/> → BigQuery.</summary>
    public static IHostApplicationBuilder AddBigQueries(this IHostApplicationBuilder builder) =>
        builder.AddBigQueries<TelemetryRow, TelemetryRowTransformer>();

    /// <summary>
    /// Pub/Sub → typed rows → BigQuery streaming inserts: options from <c>BigQueries</c>, clients from
    /// <c>Google:PubSub</c> and <c>Google:BigQuery</c>; dataset and table (schema of <typeparamref name="TRow"/>)
    /// created at start; "ready" check on the subscription and the table.
    /// </summary>
    public static IHostApplicationBuilder AddBigQueries<TRow, TTransformer>(this IHostApplicationBuilder builder)
        where TTransformer : class, IMessageTransformer<TRow>
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<BigQueriesOptions>().Bind(builder.Configuration.GetSection(BigQueriesOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BigQueriesOptions>, BigQueriesOptionsValidator>();
        services.AddPubSub(builder.Configuration);
        services.AddBigQuery(builder.Configuration);
        services.AddSingleton<TTransformer>();
        services.AddHostedService<TableInitializer<TRow>>();
        services.AddSingleton<BigQueriesResources>();
        services.AddSingleton<IPipeline>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BigQueriesOptions>>().Value;
            var resources = sp.GetRequiredService<BigQueriesResources>();
            return new BatchingPipeline<TRow>(
                "bigqueries", resources.Consumer, sp.GetRequiredService<TTransformer>(), new SingleBatchKey<TRow>(),
                new BigQueryRowSink<TRow>(sp.GetRequiredService<BigQueryClient>(), options.Dataset, options.Table),
                options.Pipeline, options.Batching, new PipelineMetrics("bigqueries", sp.GetService<IMeterFactory>()),
                sp.GetRequiredService<ILogger<BatchingPipeline<TRow>>>(),
                resources.DeadLetters ?? new LoggingDeadLetters(sp.GetRequiredService<ILogger<LoggingDeadLetters>>()));
        });
        services.AddHostedService<PipelineHostedService>();
        services.AddHealthChecks().AddCheck<BigQueriesHealthCheck>("pubsub-and-bigquery", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return builder;
    }
}

/// <summary>The consumer and dead-letter publisher, disposed after the pipeline stopped.</summary>
internal sealed class BigQueriesResources : IAsyncDisposable
{
    private readonly PubSubMessageProducer? _deadLetterProducer;

    public BigQueriesResources(PubSubClient client, IOptions<BigQueriesOptions> options, ILogger<PubSubMessageConsumer> logger)
    {
        var value = options.Value;
        Consumer = new PubSubMessageConsumer(
            client.CreateSubscriber(value.Subscription, new SubscriberSettings
            {
                MaxOutstandingMessages = value.Pipeline.MaxOutstandingMessages,
                MaxTotalLeaseDuration = value.Batching.FlushInterval + TimeSpan.FromMinutes(10),
            }),
            logger);
        if (!string.IsNullOrWhiteSpace(value.DeadLetterTopic))
        {
            _deadLetterProducer = new PubSubMessageProducer(client.CreatePublisher(value.DeadLetterTopic));
            DeadLetters = new PubSubDeadLetterSink(_deadLetterProducer);
        }
    }

    public PubSubMessageConsumer Consumer { get; }

    public IDeadLetterSink? DeadLetters { get; }

    public async ValueTask DisposeAsync()
    {
        await Consumer.DisposeAsync();
        if (_deadLetterProducer is not null)
        {
            await _deadLetterProducer.DisposeAsync();
        }
    }
}

/// <summary>Creates the dataset and the table (schema from the row type) at start when missing.</summary>
internal sealed class TableInitializer<TRow>(BigQueryClient client, IOptions<BigQueriesOptions> options, ILogger<TableInitializer<TRow>> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var value = options.Value;
        try
        {
            await client.GetDatasetAsync(value.Dataset, cancellationToken);
        }
        catch (Dataflow.Google.Core.GoogleApiException ex) when (ex.HttpStatus == System.Net.HttpStatusCode.NotFound)
        {
            await client.CreateDatasetAsync(value.Dataset, null, cancellationToken);
            logger.LogInformation("Created dataset {Dataset}", value.Dataset);
        }

        try
        {
            await client.GetTableAsync(value.Dataset, value.Table, cancellationToken);
        }
        catch (Dataflow.Google.Core.GoogleApiException ex) when (ex.HttpStatus == System.Net.HttpStatusCode.NotFound)
        {
            await client.CreateTableAsync<TRow>(value.Dataset, value.Table, cancellationToken);
            logger.LogInformation("Created table {Dataset}.{Table} from {RowType}", value.Dataset, value.Table, typeof(TRow).Name);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal sealed class BigQueriesHealthCheck(PubSubClient pubSub, BigQueryClient bigQuery, IOptions<BigQueriesOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await pubSub.GetSubscriptionAsync(options.Value.Subscription, cancellationToken);
            await bigQuery.GetTableAsync(options.Value.Dataset, options.Value.Table, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is HttpRequestException or Dataflow.Google.Core.GoogleApiException)
        {
            return HealthCheckResult.Unhealthy(ex.Message, ex);
        }
    }
}
