using System.Globalization;

namespace Dataflow.Redis.Benchmarks;

internal sealed record BenchmarkSettings(int Requests, int Clients, int Pipeline, int Rounds, int PoolSize)
{
    public static BenchmarkSettings Parse(string[] args)
    {
        var settings = new BenchmarkSettings(Requests: 200_000, Clients: 50, Pipeline: 16, Rounds: 3, PoolSize: 1);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"'{args[i]}' needs a value.");
            settings = args[i] switch
            {
                "--requests" => settings with { Requests = Positive(args[i], value) },
                "--clients" => settings with { Clients = Positive(args[i], value) },
                "--pipeline" => settings with { Pipeline = Positive(args[i], value) },
                "--rounds" => settings with { Rounds = Positive(args[i], value) },
                "--pool-size" => settings with { PoolSize = Positive(args[i], value) },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'. Options: --requests N --clients N --pipeline N --rounds N --pool-size N."),
            };
            i++;
        }
        return settings;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw new ArgumentException($"'{name}' needs a positive integer, not '{value}'.");
}
