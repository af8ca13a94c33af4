using System.Diagnostics.Metrics;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// Re-publishes Npgsql's connection-pool gauge (meter "Npgsql", <c>db.client.connection.count</c> by state) on the
/// service's own meter as <c>accounts.db.pool.connections</c>, since the platform exports only <c>Dataflow.*</c> meters.
/// </summary>
public sealed class NpgsqlPoolMetrics : IDisposable
{
    private const string NpgsqlMeter = "Npgsql";
    private const string ConnectionCount = "db.client.connection.count";
    private const string StateTag = "db.client.connection.state";

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _byState = new(StringComparer.Ordinal);

    public NpgsqlPoolMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == NpgsqlMeter && instrument.Name == ConnectionCount)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, value, tags, _) => Add(value, tags));
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Add(value, tags));
        _listener.Start();
        meterFactory.Create(AccountsMetrics.MeterName).CreateObservableGauge(
            "accounts.db.pool.connections", Observe, "{connection}", "PostgreSQL pool connections by state (idle, used).");
    }

    public void Dispose() => _listener.Dispose();

    private List<Measurement<long>> Observe()
    {
        lock (_gate)
        {
            _byState.Clear();
            _listener.RecordObservableInstruments();
            return [.. _byState.Select(s => new Measurement<long>(s.Value, new KeyValuePair<string, object?>("state", s.Key)))];
        }
    }

    private void Add(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var state = "unknown";
        foreach (var tag in tags)
        {
            if (tag.Key == StateTag && tag.Value is string text)
            {
                state = text;
            }
        }

        // Called back synchronously from RecordObservableInstruments, under _gate.
        _byState[state] = _byState.GetValueOrDefault(state) + value;
    }
}
