using System.Net;

namespace Dataflow.Google.Core;

/// <summary>
/// The HttpClient each API client owns. Deliberately not from IHttpClientFactory: handlers that the host adds
/// to every factory client (standard resilience, timeouts) would retry publishes twice and cut long-polling pulls.
/// </summary>
public static class GoogleHttp
{
    public static HttpClient CreateHttpClient(TimeSpan timeout) => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        AutomaticDecompression = DecompressionMethods.None,
        // 308 is Cloud Storage's "resume incomplete", never a redirect to follow.
        AllowAutoRedirect = false,
        EnableMultipleHttp2Connections = true,
    })
    {
        Timeout = timeout,
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
    };
}
