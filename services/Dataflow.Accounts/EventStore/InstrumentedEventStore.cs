using System.Diagnostics;
using Dataflow.Accounts.Domain;

namespace Dataflow.Accounts.EventStore;

/// <summary>Records latency, conflicts, snapshots and in-flight operations around any <see cref="IEventStore"/>.</summary>
public sealed class InstrumentedEventStore(IEventStore inner, string storeName, AccountsMetrics metrics) : IEventStore
{
    public IEventStore Inner => inner;

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public Task PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);

    public async Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        metrics.OperationStarted(storeName);
        try
        {
            var stream = await inner.LoadAsync(accountId, transactionId, cancellationToken);
            metrics.Loaded(storeName, Stopwatch.GetElapsedTime(started).TotalSeconds);
            return stream;
        }
        finally
        {
            metrics.OperationEnded(storeName);
        }
    }

    public async Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken)
    {
        metrics.OperationStarted(storeName);
        try
        {
            return await inner.ReadStreamAsync(accountId, cancellationToken);
        }
        finally
        {
            metrics.OperationEnded(storeName);
        }
    }

    public async Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(snapshots);
        var started = Stopwatch.GetTimestamp();
        metrics.OperationStarted(storeName);
        try
        {
            await inner.AppendAsync(events, snapshots, cancellationToken);
            metrics.AppendSucceeded(storeName, Stopwatch.GetElapsedTime(started).TotalSeconds, events.Count, snapshots.Count);
        }
        catch (ConcurrencyConflictException)
        {
            metrics.AppendConflicted(storeName, Stopwatch.GetElapsedTime(started).TotalSeconds);
            throw;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.AppendFailed(storeName, Stopwatch.GetElapsedTime(started).TotalSeconds);
            throw;
        }
        finally
        {
            metrics.OperationEnded(storeName);
        }
    }
}
