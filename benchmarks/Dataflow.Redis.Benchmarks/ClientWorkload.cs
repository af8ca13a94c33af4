using System.Diagnostics;

namespace Dataflow.Redis.Benchmarks;

/// <summary>The redis-benchmark workload driven through Dataflow.Redis: N callers, each with P commands in flight.</summary>
internal static class ClientWorkload
{
    private const string Key = "key:__rand_int__";
    private static readonly ReadOnlyMemory<byte> Value = "xxx"u8.ToArray();

    /// <summary>Runs <paramref name="requests"/> commands; returns operations per second and this process's CPU time per operation.</summary>
    public static async Task<Measurement> RunAsync(RedisClient client, string command, int requests, int callers, int pipeline)
    {
        var batches = Math.Max(1, requests / (callers * pipeline));
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var started = Stopwatch.GetTimestamp();
        var workers = new Task[callers];
        for (var i = 0; i < callers; i++)
        {
            workers[i] = pipeline == 1 ? OneAtATimeAsync(client, command, batches) : PipelinedAsync(client, command, batches, pipeline);
        }
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var operations = batches * callers * pipeline;
        return new Measurement(operations / elapsed.TotalSeconds, (Environment.CpuUsage.TotalTime - cpuBefore) / operations);
    }

    private static async Task OneAtATimeAsync(RedisClient client, string command, int count)
    {
        await Task.Yield();
        for (var i = 0; i < count; i++)
        {
            await Issue(client, command);
        }
    }

    private static async Task PipelinedAsync(RedisClient client, string command, int batches, int pipeline)
    {
        await Task.Yield();
        var inFlight = new Task[pipeline];
        for (var batch = 0; batch < batches; batch++)
        {
            for (var i = 0; i < pipeline; i++)
            {
                inFlight[i] = Issue(client, command);
            }
            await Task.WhenAll(inFlight);
        }
    }

    private static Task Issue(RedisClient client, string command) =>
        command == "SET" ? client.SetAsync(Key, Value) : client.GetBytesAsync(Key);
}
