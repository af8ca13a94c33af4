using System.Globalization;
using Dataflow.Redis;
using Dataflow.Redis.Benchmarks;
using Dataflow.Testing.Servers;

// Redis GET/SET throughput of Dataflow.Redis against redis-benchmark, same server, same run, same workload:
// one fixed key ("key:__rand_int__", as redis-benchmark uses without -r) and a 3-byte value.
var settings = BenchmarkSettings.Parse(args);
await using var server = await RedisServer.StartAsync();
await using var client = await RedisClient.ConnectAsync(
    $"127.0.0.1:{server.Port},syncTimeout=30000,poolSize={settings.PoolSize}");
var info = (await client.ExecuteAsync("INFO", "server")).AsString() ?? "";
var version = info.Split("\r\n").FirstOrDefault(l => l.StartsWith("redis_version:", StringComparison.Ordinal))?["redis_version:".Length..] ?? "?";
Console.WriteLine($"redis-server {version} on 127.0.0.1:{server.Port}; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
Console.WriteLine($"{settings.Requests:N0} requests per measurement, {settings.Clients} concurrent callers, median of {settings.Rounds} rounds");
await ClientWorkload.RunAsync(client, "SET", settings.Requests / 10, settings.Clients, 1);
await ClientWorkload.RunAsync(client, "GET", settings.Requests / 10, settings.Clients, 1);

var rows = new List<string>();
foreach (var pipeline in new[] { 1, settings.Pipeline })
{
    foreach (var command in new[] { "SET", "GET" })
    {
        var ours = new List<Measurement>();
        var reference = new List<Measurement>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            reference.Add(await RedisBenchmarkTool.RunAsync(server.Port, command, settings.Requests, settings.Clients, pipeline));
            ours.Add(await ClientWorkload.RunAsync(client, command, settings.Requests, settings.Clients, pipeline));
        }
        var oursRate = Median(ours.Select(m => m.OperationsPerSecond));
        var referenceRate = Median(reference.Select(m => m.OperationsPerSecond));
        // Each round runs the two back to back, so the ratio within a round sees the same machine load.
        var pairedRatio = Median(ours.Zip(reference, (o, r) => o.OperationsPerSecond / r.OperationsPerSecond));
        var oursCpu = Median(ours.Select(m => m.CpuPerOperation.TotalMicroseconds));
        var referenceCpu = Median(reference.Select(m => m.CpuPerOperation.TotalMicroseconds));
        rows.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {command} | {settings.Clients} | {pipeline} | {oursRate:N0} | {referenceRate:N0} | {pairedRatio:P0} | {oursCpu:F2} | {referenceCpu:F2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{command} c={settings.Clients} P={pipeline}: Dataflow.Redis [{Rates(ours)}] ops/s, redis-benchmark [{Rates(reference)}] ops/s"));
    }
}

Console.WriteLine();
Console.WriteLine("| Command | Concurrency | Pipeline | Dataflow.Redis ops/s (median) | redis-benchmark ops/s (median) | Ratio (median of rounds) | Dataflow.Redis client CPU µs/op | redis-benchmark CPU µs/op |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
rows.ForEach(Console.WriteLine);

static string Rates(List<Measurement> measurements) =>
    string.Join(", ", measurements.Select(m => m.OperationsPerSecond.ToString("N0", CultureInfo.InvariantCulture)));

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}
