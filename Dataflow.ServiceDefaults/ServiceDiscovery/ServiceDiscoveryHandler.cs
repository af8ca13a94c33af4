namespace Dataflow.ServiceDefaults.ServiceDiscovery;

/// <summary>Rewrites each request's service-name URL to the configured endpoint (again on every retry).</summary>
public sealed class ServiceDiscoveryHandler(ServiceEndpointResolver resolver) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { IsAbsoluteUri: true } uri)
        {
            request.RequestUri = resolver.Resolve(uri);
        }
        return base.SendAsync(request, cancellationToken);
    }
}
