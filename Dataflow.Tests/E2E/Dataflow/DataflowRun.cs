using System.Diagnostics.Metrics;
using System.Net;
using Dataflow.Emulators;
using GoogleApiException = Dataflow.Google.Core.GoogleApiException;
using Dataflow.Google.BigQuery;
using Dataflow.Google.Core;
using Dataflow.Google.Firestore;
using Dataflow.Google.PubSub;
using Dataflow.Google.Storage;
using Dataflow.Redis;
using Dataflow.Testing.Load;
using Dataflow.Tests.Infrastructure;
using Dataflow.Tests.Integration.Services;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>
/// One end-to-end run (spec §7): a random run id that names every resource it creates (<c>ingestion-topic-a7b3c8f1</c>),
/// the services it starts in-process (logs into the test output, counters into <see cref="Meters"/>), and the
/// teardown of all of it on dispose, also when the test failed: services stop first (drain and final flush), then
/// subscriptions, topics, bucket objects and bucket, dataset, Firestore documents and Redis keys are deleted.
/// </summary>
internal sealed class DataflowRun : IAsyncDisposable
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(30);

    private readonly List<(string What, Func<CancellationToken, Task> Delete)> _cleanup = [];
    private readonly List<(string Name, ServiceTestHost Host)> _services = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly RunningEmulator? _standIn;

    private DataflowRun(string runId, CloudTarget target, MosquittoServer mqtt, RunningEmulator? standIn, ITestOutputHelper output)
    {
        RunId = runId;
        Target = target;
        Mqtt = mqtt;
        _standIn = standIn;
        Output = output;
        PubSub = PubSubClient.Create(target.PubSub.Options<PubSubOptions>(), _http);
        Storage = StorageClient.Create(target.Storage.Options<StorageOptions>(), _http);
        BigQuery = BigQueryClient.Create(target.BigQuery.Options<BigQueryOptions>(), _http);
        Firestore = target.Firestore is { } firestore ? FirestoreClient.Create(firestore.Options<FirestoreOptions>(), _http) : null;
    }

    public string RunId { get; }

    public CloudTarget Target { get; }

    public MosquittoServer Mqtt { get; }

    public ITestOutputHelper Output { get; }

    public PubSubClient PubSub { get; }

    public StorageClient Storage { get; }

    public BigQueryClient BigQuery { get; }

    public FirestoreClient? Firestore { get; }

    public PipelineMeters Meters { get; } = new();

    /// <summary>MQTT topics of this run start with this level, so runs sharing one broker never see each other.</summary>
    public string MqttPrefix => $"e2e-{RunId}";

    /// <summary>
    /// Starts a run against real Google Cloud when <see cref="CloudTarget.ProjectVariable"/> is set, otherwise against the
    /// shared Pub/Sub (and, with <paramref name="firestore"/>, Firestore) emulators and a Cloud Storage/BigQuery stand-in of its own.
    /// </summary>
    public static async Task<DataflowRun> StartAsync(SharedServers servers, bool firestore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var output = TestContext.Current.TestOutputHelper ?? throw new InvalidOperationException("An end-to-end run needs the output of a running test.");
        var runId = Guid.NewGuid().ToString("N")[..8];
        var mqtt = await servers.GetMosquittoAsync();
        var project = CloudTarget.GoogleCloudProject(Environment.GetEnvironmentVariable);
        DataflowRun run;
        if (project is not null)
        {
            run = new DataflowRun(runId, CloudTarget.GoogleCloud(project, firestore), mqtt, standIn: null, output);
        }
        else
        {
            var pubSub = await servers.GetPubSubAsync();
            var firestoreEmulator = firestore ? await servers.GetFirestoreAsync() : null;
            var standIn = await EmulatorHost.StartAsync(new EmulatorOptions(), cancellationToken);
            run = new DataflowRun(runId, CloudTarget.Emulators($"e2e-{runId}", pubSub.HostPort, standIn.HostPort, firestoreEmulator?.HostPort), mqtt, standIn, output);
        }

        output.WriteLine($"run {runId} on {run.Target}; MQTT {mqtt.ConnectionString}, topics under {run.MqttPrefix}/");
        return run;
    }

    /// <summary><c>&lt;purpose&gt;-&lt;run id&gt;</c>.</summary>
    public string Name(string purpose) => $"{purpose}-{RunId}";

    public async Task<string> CreateTopicAsync(string purpose, CancellationToken cancellationToken)
    {
        var topic = Name(purpose);
        await PubSub.CreateTopicAsync(topic, cancellationToken);
        OnDispose($"topic {topic}", ct => IgnoreNotFound(PubSub.DeleteTopicAsync(topic, ct)));
        return topic;
    }

    public async Task<string> CreateSubscriptionAsync(string topic, string purpose, CancellationToken cancellationToken)
    {
        var subscription = Name(purpose);
        await PubSub.CreateSubscriptionAsync(subscription, topic, new PubSubSubscription { AckDeadlineSeconds = 60 }, cancellationToken);
        OnDispose($"subscription {subscription}", ct => IgnoreNotFound(PubSub.DeleteSubscriptionAsync(subscription, ct)));
        return subscription;
    }

    /// <summary>A bucket name for icestore (which creates it); deleted with every object in it.</summary>
    public string Bucket(string purpose)
    {
        var bucket = $"dataflow-{Name(purpose)}";
        OnDispose($"bucket {bucket}", async ct =>
        {
            try
            {
                await foreach (var item in Storage.ListObjectsAsync(bucket, cancellationToken: ct))
                {
                    await Storage.DeleteObjectAsync(bucket, item.Name!, ct);
                }
            }
            catch (GoogleApiException ex) when (ex.HttpStatus == HttpStatusCode.NotFound)
            {
                return;
            }

            await IgnoreNotFound(Storage.DeleteBucketAsync(bucket, ct));
        });
        return bucket;
    }

    /// <summary>A dataset name for bigqueries (which creates it); deleted with its tables.</summary>
    public string Dataset(string purpose)
    {
        var dataset = $"{purpose}_{RunId}";
        OnDispose($"dataset {dataset}", ct => IgnoreNotFound(BigQuery.DeleteDatasetAsync(dataset, deleteContents: true, ct)));
        return dataset;
    }

    /// <summary>Writes device documents into a collection of this run; each is deleted at the end.</summary>
    public async Task<string> SeedDevicesAsync(IReadOnlyDictionary<string, Dictionary<string, object?>> devices, CancellationToken cancellationToken)
    {
        var firestore = Firestore ?? throw new InvalidOperationException("Start the run with firestore: true.");
        var collection = Name("devices");
        foreach (var (id, fields) in devices)
        {
            await firestore.SetAsync($"{collection}/{id}", fields, cancellationToken);
            OnDispose($"document {collection}/{id}", ct => firestore.DeleteAsync($"{collection}/{id}", ct));
        }

        return collection;
    }

    /// <summary>A Redis key prefix of this run; every key under it is deleted at the end.</summary>
    public string RedisPrefix(RedisServer redis)
    {
        var prefix = $"e2e:{RunId}:";
        OnDispose($"redis keys {prefix}*", async ct =>
        {
            await using var client = await RedisClient.ConnectAsync(redis.ConnectionString, ct);
            foreach (var key in await RedisKeysAsync(client, prefix, ct))
            {
                await client.DelAsync(key, ct);
            }
        });
        return prefix;
    }

    /// <summary>A routing file (spec §2) of this run, deleted at the end.</summary>
    public async Task<string> WriteRoutingFileAsync(string yaml, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{Name("routes")}.yaml");
        await File.WriteAllTextAsync(path, yaml, cancellationToken);
        OnDispose($"file {path}", _ =>
        {
            File.Delete(path);
            return Task.CompletedTask;
        });
        return path;
    }

    /// <summary>Starts a service in-process with this run's Google settings added to <paramref name="configuration"/>, and waits until ready.</summary>
    public async Task<IServiceProvider> StartServiceAsync(
        string name, Dictionary<string, string?> configuration, Action<IHostApplicationBuilder> addService, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Target.AddTo(configuration);
        var host = await ServiceTestHost.StartAsync(configuration, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new ServiceLogs(name, Output));
            addService(builder);
        }, cancellationToken);
        _services.Add((name, host));
        await host.WaitUntilReadyAsync(cancellationToken);
        return host.Services;
    }

    /// <summary>Runs the MQTT load generator on this run's topics (<c>&lt;prefix&gt;/devices/{device}/telemetry</c> unless given).</summary>
    public async Task<MqttLoadResult> SendLoadAsync(int devices, double ratePerDevice, TimeSpan duration, CancellationToken cancellationToken, string? topicTemplate = null)
    {
        var options = new MqttLoadOptions
        {
            ConnectionString = Mqtt.ConnectionString,
            Devices = devices,
            RatePerDevice = ratePerDevice,
            Duration = duration,
            TopicTemplate = topicTemplate ?? $"{MqttPrefix}/devices/{{device}}/telemetry",
        };
        var result = await new MqttLoadGenerator(options).RunAsync(cancellationToken);
        Output.WriteLine($"load {devices} devices × {ratePerDevice} Hz × {duration.TotalSeconds} s: {result}");
        Assert.Empty(result.Failures);
        Assert.Equal(devices * options.MessagesPerDevice, result.AcknowledgedCount);
        return result;
    }

    /// <summary>Waits until a counter of a service reaches <paramref name="expected"/>, then checks it did not pass it.</summary>
    public async Task AssertCounterAsync(IServiceProvider service, string instrument, long expected, CancellationToken cancellationToken)
    {
        var seen = await Poll.UntilAsync(instrument,
            _ => Task.FromResult(Meters.Sum(service, instrument)), sum => sum >= expected, sum => sum.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(30), cancellationToken);
        Assert.Equal(expected, seen);
    }

    /// <summary>Stops the services now (drain and final flush, as on SIGTERM), e.g. to read a sink once nothing can change it.</summary>
    public async Task StopServicesAsync()
    {
        for (var i = _services.Count - 1; i >= 0; i--)
        {
            var (name, host) = _services[i];
            var meters = host.Services.GetRequiredService<IMeterFactory>();
            await host.DisposeAsync();
            Output.WriteLine($"stopped {name}; counters:{Environment.NewLine}{Meters.Describe(meters)}");
        }

        _services.Clear();
    }

    /// <summary>Stops the services and deletes every resource of the run (what <see cref="DisposeAsync"/> does first); runs once.</summary>
    public async Task TearDownAsync()
    {
        await StopServicesAsync();
        var deleted = _cleanup.Count;
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            var (what, delete) = _cleanup[i];
            using var limit = new CancellationTokenSource(CleanupTimeout);
            try
            {
                await delete(limit.Token);
            }
            catch (Exception ex) when (ex is GoogleApiException or HttpRequestException or OperationCanceledException or RedisException or IOException)
            {
                // Reported, not thrown: an exception here would replace the test's own failure.
                Output.WriteLine($"teardown: could not delete {what}: {ex.Message}");
            }
        }

        _cleanup.Clear();
        Output.WriteLine($"teardown: {deleted} resources of run {RunId} deleted");
    }

    public async ValueTask DisposeAsync()
    {
        await TearDownAsync();
        Meters.Dispose();
        if (_standIn is not null)
        {
            await _standIn.DisposeAsync();
        }

        _http.Dispose();
    }

    internal static async Task<List<string>> RedisKeysAsync(RedisClient client, string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        var cursor = "0";
        do
        {
            var reply = await client.ExecuteAsync("SCAN", [cursor, "MATCH", prefix + "*", "COUNT", "1000"], cancellationToken);
            cursor = reply.Items[0].AsString()!;
            keys.AddRange(reply.Items[1].Items.Select(key => key.AsString()!));
        }
        while (cursor != "0");
        return keys;
    }

    private void OnDispose(string what, Func<CancellationToken, Task> delete) => _cleanup.Add((what, delete));

    private static async Task IgnoreNotFound(Task delete)
    {
        try
        {
            await delete;
        }
        catch (GoogleApiException ex) when (ex.HttpStatus == HttpStatusCode.NotFound)
        {
            // Never created (the test failed before) or already gone.
        }
    }
}
