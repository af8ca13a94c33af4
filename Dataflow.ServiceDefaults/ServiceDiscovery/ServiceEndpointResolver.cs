using Microsoft.Extensions.Configuration;

namespace Dataflow.ServiceDefaults.ServiceDiscovery;

/// <summary>
/// Resolves <c>http://name</c>, <c>https://name</c>, <c>https+http://name</c> and <c>http://_endpoint.name</c> through
/// configuration, the way the AppHost (and Aspire) inject it: <c>services__{name}__{endpoint}__0 = URL</c>.
/// A host with no <c>services:{name}</c> section is an ordinary host name and is left alone.
/// </summary>
public sealed class ServiceEndpointResolver(IConfiguration configuration)
{
    public Uri Resolve(Uri requestUri)
    {
        ArgumentNullException.ThrowIfNull(requestUri);
        var host = requestUri.IdnHost;
        string? endpointName = null;
        if (host.StartsWith('_') && host.IndexOf('.', StringComparison.Ordinal) is var dot and > 1)
        {
            endpointName = host[1..dot];
            host = host[(dot + 1)..];
        }
        var service = configuration.GetSection("services").GetSection(host);
        if (!service.Exists())
        {
            return requestUri;
        }

        // "https+http" means: https when the service has such an endpoint, else http.
        var schemes = requestUri.Scheme.Split('+');
        string[] candidates = endpointName is not null ? [endpointName] : schemes;
        foreach (var candidate in candidates)
        {
            if (service.GetSection(candidate)["0"] is { Length: > 0 } address)
            {
                if (!Uri.TryCreate(address, UriKind.Absolute, out var endpoint))
                {
                    throw new InvalidOperationException($"services:{host}:{candidate}:0 is not an absolute URL: '{address}'.");
                }
                return new UriBuilder(requestUri) { Scheme = endpoint.Scheme, Host = endpoint.Host, Port = endpoint.Port }.Uri;
            }
        }
        throw new InvalidOperationException(
            $"Service '{host}' has no endpoint for '{requestUri.Scheme}://': set services:{host}:{candidates[0]}:0 " +
            $"(environment variable services__{host}__{candidates[0]}__0).");
    }
}
