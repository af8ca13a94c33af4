using System.Globalization;
using Dataflow.Hosting.Dashboard.Otlp.Proto;

namespace Dataflow.Hosting.Dashboard.Otlp;

public sealed record SpanView(string TraceId, string SpanId, string? ParentSpanId, string Name, string Kind, string Service, string Instance,
    DateTimeOffset Start, double DurationMs, string Status, string? StatusMessage, IReadOnlyDictionary<string, string> Attributes);

public sealed record TraceSummary(string TraceId, string RootName, IReadOnlyList<string> Services, DateTimeOffset Start, double DurationMs,
    int SpanCount, bool HasError);

/// <param name="TraceKept">Whether the log's trace is in the store: requests that are not traced (health probes) still log a trace id.</param>
public sealed record LogView(long Sequence, DateTimeOffset Timestamp, string Service, string Instance, string Severity, int SeverityNumber,
    string Body, string? Category, string? TraceId, string? SpanId, IReadOnlyDictionary<string, string> Attributes, bool TraceKept = false);

public sealed record MetricInfo(string Service, string Name, string Unit, string Description, string Kind);

public sealed record MetricPoint(DateTimeOffset Time, double Value);

/// <summary>Keeps the most recent telemetry in memory, bounded: old spans, logs and points are dropped first.</summary>
internal sealed class TelemetryStore
{
    private const int MaxSpans = 20_000;
    private const int MaxLogs = 20_000;
    private const int MaxPointsPerSeries = 600;

    private readonly Lock _gate = new();
    private readonly LinkedList<SpanView> _spans = new();
    private readonly Dictionary<string, List<SpanView>> _traces = new(StringComparer.Ordinal);
    private readonly LinkedList<LogView> _logs = new();
    private readonly Dictionary<(string Service, string Name), (MetricInfo Info, Queue<MetricPoint> Points)> _metrics = [];
    private long _logSequence;

    public int SpanCount
    {
        get
        {
            lock (_gate)
            {
                return _spans.Count;
            }
        }
    }

    public void Add(ExportTraceServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceSpans in request.ResourceSpans)
            {
                var (service, instance) = Identify(resourceSpans.Resource);
                foreach (var span in resourceSpans.ScopeSpans.SelectMany(s => s.Spans))
                {
                    var view = new SpanView(Hex(span.TraceId), Hex(span.SpanId), span.ParentSpanId.IsEmpty ? null : Hex(span.ParentSpanId),
                        span.Name, KindName(span.Kind), service, instance, FromUnixNano(span.StartTimeUnixNano),
                        (span.EndTimeUnixNano - span.StartTimeUnixNano) / 1e6,
                        span.Status?.Code switch { Status.Types.StatusCode.Error => "Error", Status.Types.StatusCode.Ok => "Ok", _ => "Unset" },
                        string.IsNullOrEmpty(span.Status?.Message) ? null : span.Status.Message, Attributes(span.Attributes));
                    _spans.AddLast(view);
                    if (!_traces.TryGetValue(view.TraceId, out var list))
                    {
                        _traces[view.TraceId] = list = [];
                    }
                    list.Add(view);
                    if (_spans.Count > MaxSpans)
                    {
                        var oldest = _spans.First!.Value;
                        _spans.RemoveFirst();
                        if (_traces.TryGetValue(oldest.TraceId, out var oldList) && oldList.Remove(oldest) && oldList.Count == 0)
                        {
                            _traces.Remove(oldest.TraceId);
                        }
                    }
                }
            }
        }
    }

    public void Add(ExportLogsServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceLogs in request.ResourceLogs)
            {
                var (service, instance) = Identify(resourceLogs.Resource);
                foreach (var scope in resourceLogs.ScopeLogs)
                {
                    foreach (var record in scope.LogRecords)
                    {
                        var time = record.TimeUnixNano != 0 ? record.TimeUnixNano : record.ObservedTimeUnixNano;
                        var severity = string.IsNullOrEmpty(record.SeverityText) ? SeverityName((int)record.SeverityNumber) : record.SeverityText;
                        _logs.AddLast(new LogView(++_logSequence, FromUnixNano(time), service, instance, severity, (int)record.SeverityNumber,
                            Render(record.Body), string.IsNullOrEmpty(scope.Scope?.Name) ? null : scope.Scope.Name,
                            record.TraceId.IsEmpty ? null : Hex(record.TraceId), record.SpanId.IsEmpty ? null : Hex(record.SpanId),
                            Attributes(record.Attributes)));
                        if (_logs.Count > MaxLogs)
                        {
                            _logs.RemoveFirst();
                        }
                    }
                }
            }
        }
    }

    public void Add(ExportMetricsServiceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            foreach (var resourceMetrics in request.ResourceMetrics)
            {
                var (service, _) = Identify(resourceMetrics.Resource);
                foreach (var metric in resourceMetrics.ScopeMetrics.SelectMany(s => s.Metrics))
                {
                    // One value per export: the sum over attribute sets (histograms: the mean of the recorded values).
                    var (kind, value, time) = metric.DataCase switch
                    {
                        Metric.DataOneofCase.Gauge => ("gauge", metric.Gauge.DataPoints.Sum(Number), metric.Gauge.DataPoints.Select(p => p.TimeUnixNano).DefaultIfEmpty().Max()),
                        Metric.DataOneofCase.Sum => (metric.Sum.IsMonotonic ? "counter" : "updown", metric.Sum.DataPoints.Sum(Number), metric.Sum.DataPoints.Select(p => p.TimeUnixNano).DefaultIfEmpty().Max()),
                        Metric.DataOneofCase.Histogram => ("histogram (mean)", Mean(metric.Histogram.DataPoints), metric.Histogram.DataPoints.Select(p => p.TimeUnixNano).DefaultIfEmpty().Max()),
                        _ => (null, 0d, 0ul),
                    };
                    if (kind is null || time == 0)
                    {
                        continue;
                    }
                    var key = (service, metric.Name);
                    if (!_metrics.TryGetValue(key, out var series))
                    {
                        _metrics[key] = series = (new MetricInfo(service, metric.Name, metric.Unit, metric.Description, kind), new Queue<MetricPoint>());
                    }
                    series.Points.Enqueue(new MetricPoint(FromUnixNano(time), value));
                    if (series.Points.Count > MaxPointsPerSeries)
                    {
                        series.Points.Dequeue();
                    }
                }
            }
        }
    }

    public IReadOnlyList<TraceSummary> GetTraces(string? service, string? search, int limit = 200)
    {
        lock (_gate)
        {
            return [.. _traces.Values
                .Where(spans => service is null || spans.Any(s => s.Service == service))
                .Where(spans => string.IsNullOrEmpty(search) || spans.Any(s => Matches(s, search)))
                .Select(Summarize)
                .OrderByDescending(t => t.Start)
                .Take(limit)];
        }
    }

    public IReadOnlyList<SpanView> GetTrace(string traceId)
    {
        lock (_gate)
        {
            return _traces.TryGetValue(traceId, out var spans) ? [.. spans.OrderBy(s => s.Start)] : [];
        }
    }

    public IReadOnlyList<LogView> GetLogs(string? service, string? search, int minimumSeverity, int limit = 500)
    {
        lock (_gate)
        {
            var result = new List<LogView>();
            for (var node = _logs.Last; node is not null && result.Count < limit; node = node.Previous)
            {
                var log = node.Value;
                if ((service is null || log.Service == service) && log.SeverityNumber >= minimumSeverity
                    && (string.IsNullOrEmpty(search) || log.Body.Contains(search, StringComparison.OrdinalIgnoreCase)
                        || (log.Category?.Contains(search, StringComparison.OrdinalIgnoreCase) ?? false)
                        || log.Attributes.Values.Any(v => v.Contains(search, StringComparison.OrdinalIgnoreCase))))
                {
                    result.Add(log with { TraceKept = log.TraceId is not null && _traces.ContainsKey(log.TraceId) });
                }
            }
            return result;
        }
    }

    public IReadOnlyList<MetricInfo> GetMetrics()
    {
        lock (_gate)
        {
            return [.. _metrics.Values.Select(m => m.Info).OrderBy(m => m.Service, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)];
        }
    }

    public IReadOnlyList<MetricPoint> GetSeries(string service, string name)
    {
        lock (_gate)
        {
            return _metrics.TryGetValue((service, name), out var series) ? [.. series.Points] : [];
        }
    }

    private static bool Matches(SpanView span, string search) =>
        span.Name.Contains(search, StringComparison.OrdinalIgnoreCase)
        || span.TraceId.Equals(search, StringComparison.OrdinalIgnoreCase)
        || span.Attributes.Values.Any(v => v.Contains(search, StringComparison.OrdinalIgnoreCase));

    private static TraceSummary Summarize(List<SpanView> spans)
    {
        var root = spans.FirstOrDefault(s => s.ParentSpanId is null || spans.All(o => o.SpanId != s.ParentSpanId)) ?? spans[0];
        var start = spans.Min(s => s.Start);
        var end = spans.Max(s => s.Start.AddMilliseconds(s.DurationMs));
        return new TraceSummary(root.TraceId, $"{root.Service}: {root.Name}", [.. spans.Select(s => s.Service).Distinct()], start,
            (end - start).TotalMilliseconds, spans.Count, spans.Any(s => s.Status == "Error"));
    }

    private static (string Service, string Instance) Identify(Proto.Resource? resource)
    {
        string? service = null, instance = null;
        foreach (var attribute in resource?.Attributes ?? [])
        {
            if (attribute.Key == "service.name")
            {
                service = Render(attribute.Value);
            }
            else if (attribute.Key == "service.instance.id")
            {
                instance = Render(attribute.Value);
            }
        }
        return (service ?? "unknown_service", instance ?? service ?? "unknown_service");
    }

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var attribute in attributes)
        {
            result[attribute.Key] = Render(attribute.Value);
        }
        return result;
    }

    internal static string Render(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Render)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => $"{kv.Key}={Render(kv.Value)}")) + "}",
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        _ => "",
    };

    private static double Number(NumberDataPoint point) => point.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? point.AsInt : point.AsDouble;

    private static double Mean(IEnumerable<HistogramDataPoint> points)
    {
        ulong count = 0;
        double sum = 0;
        foreach (var point in points)
        {
            count += point.Count;
            sum += point.HasSum ? point.Sum : 0;
        }
        return count == 0 ? 0 : sum / count;
    }

    private static string KindName(Span.Types.SpanKind kind) => kind switch
    {
        Span.Types.SpanKind.Server => "Server",
        Span.Types.SpanKind.Client => "Client",
        Span.Types.SpanKind.Producer => "Producer",
        Span.Types.SpanKind.Consumer => "Consumer",
        _ => "Internal",
    };

    private static string SeverityName(int number) => number switch
    {
        >= 21 => "Critical",
        >= 17 => "Error",
        >= 13 => "Warning",
        >= 9 => "Information",
        >= 5 => "Debug",
        >= 1 => "Trace",
        _ => "Unspecified",
    };

    private static DateTimeOffset FromUnixNano(ulong nanos) => DateTimeOffset.UnixEpoch.AddTicks((long)(nanos / 100));

    private static string Hex(Google.Protobuf.ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}
