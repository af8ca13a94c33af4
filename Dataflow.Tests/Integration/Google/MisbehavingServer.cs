using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dataflow.Tests.Integration.Google;

/// <summary>A loopback HTTP server whose answers a test scripts per request (e.g. 503 twice, then success).</summary>
internal sealed class MisbehavingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private MisbehavingServer(WebApplication app) => _app = app;

    public int Requests => Volatile.Read(ref _requests);

    public string HostPort => new Uri(_app.Urls.First()).Authority;

    public static async Task<MisbehavingServer> StartAsync(Func<HttpContext, int, Task> respond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new MisbehavingServer(app);
        app.Run(context => respond(context, Interlocked.Increment(ref server._requests)));
        await app.StartAsync(TestContext.Current.CancellationToken);
        return server;
    }

    public static Task UnavailableAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync("""{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}""");
    }

    public static Task JsonAsync(HttpContext context, string json)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
