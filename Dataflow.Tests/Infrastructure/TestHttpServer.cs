using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataflow.Tests.Infrastructure;

/// <summary>A Kestrel server on a free loopback port whose every request is answered by a test's handler
/// (a fixed text, a failing dependency, a slow or misbehaving server, a fake collector).</summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requestCount;

    private TestHttpServer(WebApplication app) => _app = app;

    public string Host { get; private set; } = "";

    public int Port { get; private set; }

    public Uri BaseUri => new($"http://{Host}:{Port}/");

    /// <summary>Requests received so far.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    public static Task<TestHttpServer> StartAsync(string text, CancellationToken cancellationToken) =>
        StartAsync(context => context.Response.WriteAsync(text, context.RequestAborted), cancellationToken);

    /// <param name="handler">Answers each request; <see cref="RequestCount"/> is incremented before it runs.</param>
    public static async Task<TestHttpServer> StartAsync(RequestDelegate handler, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new TestHttpServer(app);
        app.Run(context =>
        {
            Interlocked.Increment(ref server._requestCount);
            return handler(context);
        });
        await app.StartAsync(cancellationToken);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        server.Host = address.Host;
        server.Port = address.Port;
        return server;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
