using Dataflow.Google.PubSub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Tests.Integration.Services;

/// <summary>Runs a dataflow service in-process the way its Program.cs does, on a free loopback port.</summary>
internal sealed class ServiceTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServiceTestHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<ServiceTestHost> StartAsync(
        IDictionary<string, string?> configuration,
        Action<IHostApplicationBuilder> addService,
        CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        addService(builder);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            // A failed start (bad configuration, unreachable dependency) leaves nothing running behind the caller.
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServiceTestHost(app, new Uri(address));
    }

    /// <summary>Waits until <c>/readyz</c> answers 200.</summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await Http.GetAsync(new Uri("/readyz", UriKind.Relative), limit.Token);
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(50, limit.Token);
        }
    }

    /// <summary>Graceful stop, as on SIGTERM.</summary>
    public Task StopAsync() => _app.StopAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        Http.Dispose();
    }
}

/// <summary>Pub/Sub resources of one test run on the emulator, under a random project id.</summary>
internal sealed class PubSubTestProject(PubSubClient client, HttpClient http) : IDisposable
{
    public PubSubClient Client { get; } = client;

    public string ProjectId => Client.ProjectId;

    public static PubSubTestProject Create(string emulatorHostPort)
    {
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var options = new PubSubOptions { ProjectId = $"it-{Guid.NewGuid():N}"[..20], EmulatorHost = emulatorHostPort };
        return new PubSubTestProject(PubSubClient.Create(options, http), http);
    }

    public static string RunId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public async Task CreateTopicWithSubscriptionAsync(string topic, string subscription, CancellationToken cancellationToken)
    {
        await Client.CreateTopicAsync(topic, cancellationToken);
        await Client.CreateSubscriptionAsync(subscription, topic, new PubSubSubscription { AckDeadlineSeconds = 60 }, cancellationToken);
    }

    /// <summary>Pulls and acks until <paramref name="count"/> messages arrived (or the time limit passes), returning them.</summary>
    public async Task<List<PubSubMessage>> PullAsync(string subscription, int count, CancellationToken cancellationToken, TimeSpan? limit = null)
    {
        var received = new List<PubSubMessage>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit ?? TimeSpan.FromSeconds(60));
        try
        {
            while (received.Count < count)
            {
                if (!await PullOnceAsync(Client, subscription, received, deadline.Token))
                {
                    await Task.Delay(50, deadline.Token);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Time limit: return what arrived so the assertion shows the shortfall.
        }

        return received;
    }

    /// <summary>One pull of what is there now, acked and added to <paramref name="received"/>; false when nothing was there.</summary>
    public static async Task<bool> PullOnceAsync(PubSubClient client, string subscription, List<PubSubMessage> received, CancellationToken cancellationToken)
    {
        var pulled = await client.PullAsync(subscription, 500, cancellationToken, returnImmediately: true);
        if (pulled.Count == 0)
        {
            return false;
        }

        received.AddRange(pulled.Select(p => p.Message));
        await client.AcknowledgeAsync(subscription, pulled.Select(p => p.AckId).ToList(), cancellationToken);
        return true;
    }

    /// <summary>Pulls for a short while to show that nothing more arrives.</summary>
    public async Task<int> DrainAsync(string subscription, TimeSpan quiet, CancellationToken cancellationToken)
    {
        var extra = await PullAsync(subscription, int.MaxValue, cancellationToken, quiet);
        return extra.Count;
    }

    public void Dispose() => http.Dispose();
}
