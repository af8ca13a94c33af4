using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dataflow.Accounts.EventStore;

/// <summary>Readiness: the event store answers a round trip.</summary>
public sealed class EventStoreHealthCheck(IEventStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The event store is unreachable.", ex);
        }
    }
}
