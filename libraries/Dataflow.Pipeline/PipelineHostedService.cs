using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Pipeline;

/// <summary>
/// Runs a pipeline for the host's lifetime: started with the host, stopped gracefully with it; when the consumer
/// fails unrecoverably the application is stopped instead of running without input.
/// </summary>
public sealed class PipelineHostedService(IPipeline pipeline, IHostApplicationLifetime lifetime, ILogger<PipelineHostedService> logger)
    : IHostedService
{
    private Task? _watch;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await pipeline.StartAsync(cancellationToken);
        _watch = WatchAsync();
        logger.LogInformation("Pipeline {Pipeline} started", pipeline.Name);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await pipeline.StopAsync(cancellationToken);
        if (_watch is not null)
        {
            await _watch;
        }
    }

    private async Task WatchAsync()
    {
        try
        {
            await pipeline.Completion;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogCritical(ex, "Pipeline {Pipeline} failed; stopping the application", pipeline.Name);
            lifetime.StopApplication();
        }
    }
}
