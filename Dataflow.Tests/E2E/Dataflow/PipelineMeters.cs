using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Dataflow.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>
/// Collects the counters of the pipeline (<c>Dataflow.Pipeline</c>) and lookup (<c>Dataflow.Enrich</c>) meters. A
/// listener sees every meter of the process, so measurements are kept per meter scope: each service host creates
/// its meters through its own <see cref="IMeterFactory"/>, which is how one test's numbers stay apart from the
/// services of tests running in parallel.
/// </summary>
internal sealed class PipelineMeters : IDisposable
{
    private static readonly string[] Meters = [PipelineMetrics.MeterName, "Dataflow.Enrich"];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(object Scope, string Instrument, string Tags), long> _sums = new();

    public PipelineMeters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope is IMeterFactory && Meters.Contains(instrument.Meter.Name))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _sums.AddOrUpdate((instrument.Meter.Scope!, instrument.Name, Format(tags)), value, (_, sum) => sum + value));
        _listener.Start();
    }

    /// <summary>Sum of a counter of one service host over every tag set that includes all <paramref name="tags"/> (<c>name=value</c>).</summary>
    public long Sum(IServiceProvider service, string instrument, params string[] tags)
    {
        var scope = service.GetRequiredService<IMeterFactory>();
        return _sums.Where(e => ReferenceEquals(e.Key.Scope, scope) && e.Key.Instrument == instrument && tags.All(e.Key.Tags.Split(',').Contains))
            .Sum(e => e.Value);
    }

    /// <summary>Every counter of the service host that owns <paramref name="scope"/>, for the test output.</summary>
    public string Describe(IMeterFactory scope) => string.Join(Environment.NewLine, _sums.Where(e => ReferenceEquals(e.Key.Scope, scope))
            .OrderBy(e => e.Key.Instrument, StringComparer.Ordinal).ThenBy(e => e.Key.Tags, StringComparer.Ordinal)
            .Select(e => string.Create(CultureInfo.InvariantCulture, $"  {e.Key.Instrument}{{{e.Key.Tags}}} = {e.Value}")));

    public void Dispose() => _listener.Dispose();

    private static string Format(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{tag.Key}={tag.Value}"));
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join(',', parts);
    }
}
