using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Dataflow.Services.Benchmarks;

/// <summary>
/// Which types a measured side allocates, from the runtime's allocation-tick events (one sample about every 100 KB).
/// On with <c>DATAFLOW_BENCH_ALLOCATIONS=1</c>; off by default, as listening costs a little CPU.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private volatile bool _sampling;

    public static AllocationSampler? CreateIfRequested() =>
        Environment.GetEnvironmentVariable("DATAFLOW_BENCH_ALLOCATIONS") == "1" ? new AllocationSampler() : null;

    public void Start()
    {
        _bytesByType.Clear();
        _sampling = true;
    }

    /// <summary>Stops sampling and prints the types that took most of the sampled bytes.</summary>
    public void StopAndPrint(int top = 25)
    {
        _sampling = false;
        var total = _bytesByType.Values.Sum();
        if (total == 0)
        {
            return;
        }

        Console.WriteLine("  sampled allocations by type:");
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {bytes * 100.0 / total,5:F1} %  {type}"));
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_sampling || eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        var type = names.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var bytes = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 0;
        _bytesByType.AddOrUpdate(type, bytes, (_, sum) => sum + bytes);
    }
}
