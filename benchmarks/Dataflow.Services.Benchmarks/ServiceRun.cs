using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Dataflow.Google.PubSub;
using Dataflow.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Services.Benchmarks;

/// <summary>A dataflow service built in-process the way its Program.cs builds it (service defaults, then the service).</summary>
internal static class ServiceRun
{
    public static async Task<WebApplication> StartAsync(IDictionary<string, string?> configuration, Action<IHostApplicationBuilder> addService)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddServiceDefaults();
        addService(builder);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        return app;
    }

    public static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>
/// Counts one pipeline's settled messages from its own metrics (Meter "Dataflow.Pipeline"), and completes
/// <see cref="Reached"/> when <paramref name="target"/> messages were acked.
/// </summary>
internal sealed class SettledCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _pipeline;
    private readonly long _target;
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _acked;
    private long _nacked;
    private long _firstAckAt;
    private long _firstAckCount;
    private long _reachedAt;
    private long _ackedAtReach;

    public SettledCounter(string pipeline, long target)
    {
        _pipeline = pipeline;
        _target = target;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PipelineMetrics.MeterName && instrument.Name is "dataflow.pipeline.messages.acked" or "dataflow.pipeline.messages.nacked")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    public Task Reached => _reached.Task;

    public long Acked => Interlocked.Read(ref _acked);

    public long Nacked => Interlocked.Read(ref _nacked);

    /// <summary>
    /// Messages per second from the first ack to the one that reached the target: the pipeline's sustained rate,
    /// without the host's start-up, the connections' set-up and the shutdown. Valid once <see cref="Reached"/> completed.
    /// </summary>
    public double SustainedPerSecond =>
        (_ackedAtReach - _firstAckCount) / Stopwatch.GetElapsedTime(_firstAckAt, _reachedAt).TotalSeconds;

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "pipeline" && (string?)tag.Value != _pipeline)
            {
                return;
            }
        }

        if (instrument.Name == "dataflow.pipeline.messages.nacked")
        {
            Interlocked.Add(ref _nacked, value);
            return;
        }

        var now = Stopwatch.GetTimestamp();
        if (Interlocked.CompareExchange(ref _firstAckAt, now, 0) == 0)
        {
            _firstAckCount = value;
        }

        var acked = Interlocked.Add(ref _acked, value);
        if (acked >= _target && Interlocked.CompareExchange(ref _reachedAt, now, 0) == 0)
        {
            _ackedAtReach = acked;
            _reached.TrySetResult();
        }
    }
}

/// <summary>Records every measurement of one histogram (seconds) for exact percentiles.</summary>
internal sealed class DurationRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<double> _values = [];
    private readonly Lock _lock = new();

    public DurationRecorder(string meterName, string instrumentName, string? pipeline = null)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (pipeline is not null && tag.Key == "pipeline" && (string?)tag.Value != pipeline)
                {
                    return;
                }
            }

            lock (_lock)
            {
                _values.Add(value);
            }
        });
        _listener.Start();
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _values.Count;
            }
        }
    }

    /// <summary>The <paramref name="percentile"/> (0-100) in milliseconds.</summary>
    public double PercentileMilliseconds(double percentile)
    {
        lock (_lock)
        {
            if (_values.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _values.Order().ToArray();
            var index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
            return sorted[Math.Clamp(index, 0, sorted.Length - 1)] * 1000;
        }
    }

    public void Dispose() => _listener.Dispose();
}

internal static class Workload
{
    public const int PayloadBytes = 200;

    /// <summary>A device telemetry payload as the spec's load generator sends it, padded to 200 bytes.</summary>
    public static byte[] Payload(int i, string device) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"device_id\":\"{device}\",\"timestamp\":\"2026-11-21T12:00:00Z\",\"value\":{i}}}").PadRight(PayloadBytes));

    public static string RunId() => Guid.NewGuid().ToString("N")[..8];

    /// <summary>Pulls and acks everything on <paramref name="subscription"/> until <paramref name="expected"/> arrived or 30 s pass without any.</summary>
    public static async Task<List<PubSubMessage>> PullAllAsync(PubSubClient client, string subscription, int expected)
    {
        var received = new List<PubSubMessage>(expected);
        var idleSince = DateTime.UtcNow;
        while (received.Count < expected && DateTime.UtcNow - idleSince < TimeSpan.FromSeconds(30))
        {
            var pulled = await client.PullAsync(subscription, 1000, CancellationToken.None, returnImmediately: true);
            if (pulled.Count == 0)
            {
                await Task.Delay(50);
                continue;
            }

            idleSince = DateTime.UtcNow;
            received.AddRange(pulled.Select(p => p.Message));
            await client.AcknowledgeAsync(subscription, pulled.Select(p => p.AckId).ToList(), CancellationToken.None);
        }

        return received;
    }
}

internal static class Machine
{
    /// <summary>The 1/5/15-minute load averages, as <c>uptime</c> shows them.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>
/// CPU time used so far by this process and by the whole machine (all processes, from <c>/proc/stat</c>), with this
/// process's allocated bytes, context switches (voluntary and involuntary, all its threads) and JIT compilations.
/// </summary>
internal readonly record struct CpuSample(TimeSpan Process, TimeSpan Machine, long AllocatedBytes, long ContextSwitches, long JitMethods, TimeSpan JitTime)
{
    // Fields of the first /proc/stat line that count as busy: user, nice, system, irq, softirq, steal.
    private static readonly int[] BusyFields = [1, 2, 3, 6, 7, 8];

    public static CpuSample Take()
    {
        // "cpu user nice system idle iowait irq softirq steal ..." in clock ticks (USER_HZ = 100).
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var busyTicks = BusyFields.Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
        return new CpuSample(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime, TimeSpan.FromMilliseconds(busyTicks * 10),
            GC.GetTotalAllocatedBytes(precise: true), ContextSwitchesSoFar(), System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
    }

    public static CpuSample operator -(CpuSample after, CpuSample before) =>
        new(after.Process - before.Process, after.Machine - before.Machine, after.AllocatedBytes - before.AllocatedBytes,
            after.ContextSwitches - before.ContextSwitches, after.JitMethods - before.JitMethods, after.JitTime - before.JitTime);

    private static long ContextSwitchesSoFar()
    {
        // getrusage(RUSAGE_SELF) counts every thread, including those that have ended; on x86-64 and arm64 Linux the
        // struct is two timevals (4 longs) then 14 longs, of which ru_nvcsw and ru_nivcsw are the last two.
        var usage = new long[18];
        return GetResourceUsage(0, usage) == 0 ? usage[16] + usage[17] : 0;
    }

    [DllImport("libc", EntryPoint = "getrusage")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetResourceUsage(int who, [Out] long[] usage);
}
