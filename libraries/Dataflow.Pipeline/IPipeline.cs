namespace Dataflow.Pipeline;

/// <summary>A running pipeline: started once, stopped gracefully once.</summary>
public interface IPipeline
{
    string Name { get; }

    /// <summary>Completes when the consumer stopped; faults when it failed unrecoverably.</summary>
    Task Completion { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the consumer, drains the workers, flushes, all within the shutdown timeout.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}
