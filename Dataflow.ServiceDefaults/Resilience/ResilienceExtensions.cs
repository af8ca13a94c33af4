using Dataflow.ServiceDefaults.Resilience;

namespace Microsoft.Extensions.DependencyInjection;

public static class ResilienceExtensions
{
    /// <summary>
    /// Adds the standard resilience handler: rate limiter → total timeout → retry → circuit breaker → attempt timeout.
    /// </summary>
    public static IHttpClientBuilder AddStandardResilienceHandler(this IHttpClientBuilder builder, Action<HttpStandardResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HttpStandardResilienceOptions>();
        builder.Services.AddSingleton<HttpResiliencePipelines>();
        if (configure is not null)
        {
            builder.Services.Configure(builder.Name, configure);
        }
        var name = builder.Name;
        return builder.AddHttpMessageHandler(services => new ResilienceHandler(services.GetRequiredService<HttpResiliencePipelines>().Get(name)));
    }
}
