namespace Dataflow.Hosting.ApplicationModel;

/// <summary>
/// A one-shot step the AppHost runs inside its own process once its dependencies are ready (creating Pub/Sub topics,
/// seeding documents): Waiting → Running → Finished, or Exited with the error as its message. Dependents start after it
/// with <c>WaitForCompletion</c>; restarting it from the dashboard runs it again, so a job must be idempotent.
/// </summary>
public abstract class JobResource(string name) : Resource(name), IResourceWithWaitSupport
{
    /// <summary>What the job does, shown as its backing in the dashboard.</summary>
    public abstract string Description { get; }

    /// <summary>Does the work; throwing fails the job (and every resource waiting for its completion).</summary>
    public abstract Task RunAsync(ResourceRunContext context, CancellationToken cancellationToken);
}
