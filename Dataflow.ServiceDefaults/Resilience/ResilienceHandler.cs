using System.Threading.RateLimiting;

namespace Dataflow.ServiceDefaults.Resilience;

/// <summary>Thrown when a client already has as many requests in flight as its rate limiter permits.</summary>
public sealed class HttpRateLimiterRejectedException(string message) : HttpRequestException(message);

/// <summary>Runs each request through its client's rate limiter and resilience pipeline.</summary>
public sealed class ResilienceHandler(HttpResiliencePipeline resilience) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using RateLimitLease lease = resilience.Limiter.AttemptAcquire();
        if (!lease.IsAcquired)
        {
            throw new HttpRateLimiterRejectedException(
                $"The request to {request.RequestUri} was rejected: the client's limit of concurrent requests is reached.");
        }
        return await resilience.Pipeline.ExecuteAsync(
            async token => await base.SendAsync(request, token), cancellationToken);
    }
}
