using Dataflow.ServiceDefaults.Resilience;
using Microsoft.Extensions.Http;

namespace Microsoft.Extensions.DependencyInjection;

public static class ResilienceExtensions
{
    /// <summary>
    /// Adds the standard resilience handler: rate limiter → total timeout → retry → circuit breaker → attempt timeout.
    /// Each named client gets its own pipeline (its own circuit breaker and concurrency limit), also when this is
    /// called from <c>ConfigureHttpClientDefaults</c>.
    /// </summary>
    public static IHttpClientBuilder AddStandardResilienceHandler(this IHttpClientBuilder builder, Action<HttpStandardResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<HttpStandardResilienceOptions>();
        builder.Services.AddSingleton<HttpResiliencePipelines>();
        if (configure is not null)
        {
            // A null name (the defaults builder) configures every client.
            builder.Services.Configure(builder.Name, configure);
        }
        builder.Services.Configure<HttpClientFactoryOptions>(builder.Name, options =>
            options.HttpMessageHandlerBuilderActions.Add(handlers =>
                handlers.AdditionalHandlers.Add(new ResilienceHandler(
                    handlers.Services.GetRequiredService<HttpResiliencePipelines>().Get(handlers.Name ?? "")))));
        return builder;
    }
}
