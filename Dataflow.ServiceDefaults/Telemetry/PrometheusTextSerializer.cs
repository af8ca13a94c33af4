using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Dataflow.ServiceDefaults.Telemetry;

/// <summary>
/// Renders OpenTelemetry metrics as Prometheus text (exposition format 0.0.4), following the OpenTelemetry →
/// Prometheus naming rules: dots become underscores, the unit is appended as a suffix, counters end in
/// <c>_total</c>, histograms expose cumulative <c>_bucket{le=…}</c> series plus <c>_sum</c> and <c>_count</c>.
/// </summary>
public static class PrometheusTextSerializer
{
    public static void Write(StringBuilder output, Metric metric, ISet<string> writtenFamilies)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(writtenFamilies);

        var (type, isCounter) = metric.MetricType switch
        {
            MetricType.LongSum or MetricType.DoubleSum => ("counter", true),
            MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic or MetricType.LongGauge or MetricType.DoubleGauge => ("gauge", false),
            MetricType.Histogram => ("histogram", false),
            _ => (null, false), // Exponential histograms have no text-format equivalent; none are configured.
        };
        if (type is null)
        {
            return;
        }

        var name = MetricName(metric.Name, metric.Unit, isCounter, isGauge: type == "gauge");
        // A family is described once, even when two meters publish instruments of the same name.
        if (writtenFamilies.Add(name))
        {
            if (!string.IsNullOrEmpty(metric.Description))
            {
                output.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(metric.Description)).Append('\n');
            }
            output.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }

        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            var labels = Labels(point.Tags);
            switch (metric.MetricType)
            {
                case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                    WriteSample(output, name, labels, null, point.GetSumLong());
                    break;
                case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                    WriteSample(output, name, labels, null, point.GetSumDouble());
                    break;
                case MetricType.LongGauge:
                    WriteSample(output, name, labels, null, point.GetGaugeLastValueLong());
                    break;
                case MetricType.DoubleGauge:
                    WriteSample(output, name, labels, null, point.GetGaugeLastValueDouble());
                    break;
                case MetricType.Histogram:
                    long cumulative = 0;
                    foreach (var bucket in point.GetHistogramBuckets())
                    {
                        cumulative += bucket.BucketCount;
                        WriteSample(output, name + "_bucket", labels, FormatDouble(bucket.ExplicitBound), cumulative);
                    }
                    WriteSample(output, name + "_sum", labels, null, point.GetHistogramSum());
                    WriteSample(output, name + "_count", labels, null, point.GetHistogramCount());
                    break;
            }
        }
    }

    /// <summary>The Prometheus name of an instrument: sanitised, with its unit and (for counters) <c>_total</c>.</summary>
    public static string MetricName(string instrumentName, string? unit, bool isCounter, bool isGauge = false)
    {
        ArgumentNullException.ThrowIfNull(instrumentName);
        var name = Sanitize(instrumentName);
        var unitSuffix = UnitSuffix(unit, isGauge);
        if (unitSuffix.Length > 0 && !name.EndsWith("_" + unitSuffix, StringComparison.Ordinal))
        {
            name += "_" + unitSuffix;
        }
        if (isCounter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }
        return name;
    }

    private static string UnitSuffix(string? unit, bool isGauge)
    {
        if (string.IsNullOrEmpty(unit) || unit.StartsWith('{'))
        {
            return "";
        }
        if (unit == "1")
        {
            return isGauge ? "ratio" : "";
        }
        var slash = unit.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var per = UnitWord(unit[(slash + 1)..]).TrimEnd('s');
            return $"{UnitWord(unit[..slash])}_per_{per}";
        }
        return UnitWord(unit);
    }

    private static string UnitWord(string unit) => unit switch
    {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "%" => "percent",
        _ => Sanitize(unit),
    };

    private static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var valid = char.IsAsciiLetterOrDigit(c) || c is '_' or ':';
            var next = valid ? c : '_';
            if (next == '_' && builder.Length > 0 && builder[^1] == '_')
            {
                continue;
            }
            builder.Append(next);
        }
        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }
        return builder.ToString();
    }

    private static List<KeyValuePair<string, string>> Labels(ReadOnlyTagCollection tags)
    {
        var labels = new List<KeyValuePair<string, string>>(tags.Count);
        foreach (var tag in tags)
        {
            var value = tag.Value switch
            {
                null => "",
                string s => s,
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var other => other.ToString() ?? "",
            };
            labels.Add(new(Sanitize(tag.Key), value));
        }
        return labels;
    }

    private static void WriteSample<T>(StringBuilder output, string name, List<KeyValuePair<string, string>> labels, string? le, T value)
        where T : IFormattable
    {
        output.Append(name);
        if (labels.Count > 0 || le is not null)
        {
            output.Append('{');
            var first = true;
            foreach (var (key, labelValue) in labels)
            {
                if (!first)
                {
                    output.Append(',');
                }
                first = false;
                output.Append(key).Append("=\"").Append(EscapeLabelValue(labelValue)).Append('"');
            }
            if (le is not null)
            {
                output.Append(first ? "" : ",").Append("le=\"").Append(le).Append('"');
            }
            output.Append('}');
        }
        output.Append(' ').Append(value is double d ? FormatDouble(d) : value.ToString(null, CultureInfo.InvariantCulture)).Append('\n');
    }

    private static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
