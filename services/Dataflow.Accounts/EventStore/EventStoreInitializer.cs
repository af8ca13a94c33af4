using System.Data.Common;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// Creates or migrates the schema before the server accepts requests. A database that is still starting gets a
/// few seconds; after that start-up fails with a message naming the connection string.
/// </summary>
public sealed class EventStoreInitializer(IEventStore store, EventStoreSelection selection, ILogger<EventStoreInitializer> logger) : IHostedService
{
    private const int Attempts = 10;
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.InitializeAsync(cancellationToken);
                logger.LogInformation("Event store ready: {Provider}.", selection.Provider);
                return;
            }
            catch (DbException ex) when (attempt < Attempts)
            {
                logger.LogWarning("Event store ({Provider}) not reachable yet (attempt {Attempt}/{Attempts}): {Message}", selection.Provider, attempt, Attempts, ex.Message);
                await Task.Delay(Pause, cancellationToken);
            }
            catch (Exception ex) when (ex is DbException or TimeoutException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"Could not create the {selection.Provider} event-store schema with ConnectionStrings:{AccountsOptions.ConnectionStringName}: {ex.Message}", ex);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
