namespace Dataflow.Redis.Benchmarks;

/// <summary>Throughput of one run and the client's CPU time (user + system) per operation.</summary>
internal readonly record struct Measurement(double OperationsPerSecond, TimeSpan CpuPerOperation);
