// Throughput of the ingestion and enrich services, each built in-process exactly as its Program.cs builds it, against
// throwaway real servers, side by side with references measured in the same run. Figures go to docs/benchmarks.md.
// Usage: Dataflow.Services.Benchmarks ingestion|enrich [messages=50000] [rounds=2]
using System.Globalization;
using Dataflow.Services.Benchmarks;

if (args.Length == 0 || args[0] is not ("ingestion" or "enrich"))
{
    Console.Error.WriteLine("usage: Dataflow.Services.Benchmarks ingestion|enrich [messages=50000] [rounds=2]");
    return 2;
}

var messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50_000;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
Console.WriteLine($"{args[0]}: {messages} messages of {Workload.PayloadBytes} B, {rounds} rounds, {Environment.ProcessorCount} cores, load {Machine.LoadAverage()}");
return args[0] == "ingestion"
    ? await IngestionBenchmark.RunAsync(messages, rounds)
    : await EnrichBenchmark.RunAsync(messages, rounds);
