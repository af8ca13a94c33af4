using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataflow.Tests.Infrastructure;

/// <summary>A Kestrel server on a free loopback port answering every GET with a fixed text.</summary>
public sealed class StaticHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticHttpServer(WebApplication app, Uri address)
    {
        _app = app;
        Host = address.Host;
        Port = address.Port;
    }

    public string Host { get; }

    public int Port { get; }

    public static async Task<StaticHttpServer> StartAsync(string text, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/", () => text);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StaticHttpServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
