using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Dataflow.Hosting.Processes;

// Load program for the accounts service: the reference stress scenarios (threads × operations, a barrier per
// round) against a running instance; prints throughput, conflicts, latency percentiles and whether balances hold.
//   dotnet Dataflow.Accounts.LoadTest.dll --url http://127.0.0.1:5000 [--threads 8] [--ops 1000]
//       [--scenarios non-conflicting,idempotent,distinct] [--repetitions 1] [--no-barrier]
//       [--warm-up-ops N]   (first run every scenario once with N operations per thread, unreported: this
//                            process's own JIT and connections would otherwise slow the first repetition)
//       [--seed-events <accountId>:<count>]   (open an account and bring it to <count> events, for GET benchmarks)
//       [--service-pid <pid>]   (also report the service's CPU time per operation, from /proc: robust to other load)

var options = LoadOptions.Parse(args);
using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Threads * 2, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
using var client = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(30) };
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

if (options.SeedAccount is { } seed)
{
    await Scenarios.SeedAsync(client, seed.AccountId, seed.Events, cancellation.Token);
    Console.WriteLine($"seeded account {seed.AccountId} with {seed.Events} events");
    return 0;
}

var allHeld = true;
if (options.WarmUpOperations is { } warmUpOperations)
{
    var warmUp = options with { Operations = warmUpOperations, ServicePid = null };
    foreach (var scenario in options.Scenarios)
    {
        allHeld &= (await Scenarios.RunAsync(client, scenario, warmUp, cancellation.Token)).BalancesHold;
    }
}

for (var repetition = 1; repetition <= options.Repetitions; repetition++)
{
    foreach (var scenario in options.Scenarios)
    {
        var result = await Scenarios.RunAsync(client, scenario, options, cancellation.Token);
        allHeld &= result.BalancesHold;
        Console.WriteLine(result.Format(repetition));
    }
}

return allHeld ? 0 : 1;

internal sealed record LoadOptions(Uri Url, int Threads, int Operations, IReadOnlyList<string> Scenarios, int Repetitions, bool Barrier, (Guid AccountId, int Events)? SeedAccount, int? ServicePid, int? WarmUpOperations)
{
    public static readonly string[] AllScenarios = ["non-conflicting", "idempotent", "distinct"];

    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--no-barrier")
            {
                flags.Add(args[i]);
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                values[args[i]] = args[++i];
            }
            else
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }
        }

        var scenarios = values.TryGetValue("--scenarios", out var list) ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : AllScenarios;
        foreach (var scenario in scenarios.Where(s => !AllScenarios.Contains(s)))
        {
            throw new ArgumentException($"Unknown scenario '{scenario}'; known: {string.Join(", ", AllScenarios)}.");
        }

        (Guid, int)? seed = null;
        if (values.TryGetValue("--seed-events", out var seedText))
        {
            var parts = seedText.Split(':');
            seed = (Guid.Parse(parts[0]), int.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        return new LoadOptions(
            new Uri(values.TryGetValue("--url", out var url) ? url : "http://127.0.0.1:5000"),
            Positive(values, "--threads", 8),
            Positive(values, "--ops", 1000),
            scenarios,
            Positive(values, "--repetitions", 1),
            !flags.Contains("--no-barrier"),
            seed,
            values.ContainsKey("--service-pid") ? Positive(values, "--service-pid", 0) : null,
            values.ContainsKey("--warm-up-ops") ? Positive(values, "--warm-up-ops", 0) : null);
    }

    private static int Positive(Dictionary<string, string> values, string name, int fallback)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        return int.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"{name} must be a positive integer; got '{text}'.");
    }
}

internal sealed record ScenarioResult(string Scenario, int Threads, int Operations, long Requests, long Conflicts, long Failures, TimeSpan Elapsed, double P50Ms, double P99Ms, bool BalancesHold, string BalanceReport, TimeSpan? ServiceCpu)
{
    public string Format(int repetition)
    {
        var cpu = ServiceCpu is { } used ? string.Create(CultureInfo.InvariantCulture, $"service-cpu/op={used.TotalMicroseconds / Operations:F0}us ") : string.Empty;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"rep={repetition} scenario={Scenario} threads={Threads} ops={Operations} requests={Requests} conflicts={Conflicts} failures={Failures} " +
            $"elapsed={Elapsed.TotalSeconds:F2}s ops/s={Operations / Elapsed.TotalSeconds:F0} p50={P50Ms:F2}ms p99={P99Ms:F2}ms {cpu}" +
            $"balances={(BalancesHold ? "OK" : "WRONG")} ({BalanceReport})");
    }
}

internal static class Scenarios
{
    public static async Task<ScenarioResult> RunAsync(HttpClient client, string scenario, LoadOptions options, CancellationToken cancellationToken)
    {
        var threads = options.Threads;
        var accounts = new Guid[scenario == "non-conflicting" ? threads : 1];
        for (var i = 0; i < accounts.Length; i++)
        {
            accounts[i] = Guid.NewGuid();
            using var opened = await client.PostAsync($"/api/account/{accounts[i]}?owner={Guid.NewGuid()}", null, cancellationToken);
            opened.EnsureSuccessStatusCode();
        }

        var latencies = new List<double>[threads];
        var conflicts = new long[threads];
        var failures = new long[threads];
        var requests = new long[threads];
        using var barrier = new Barrier(threads);
        var roundTransactions = Enumerable.Range(0, options.Operations).Select(_ => Guid.NewGuid()).ToArray();
        var cpuBefore = options.ServicePid is { } pid ? ProcessTable.CpuTime(pid) : TimeSpan.Zero;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(thread => Task.Factory.StartNew(
            () =>
            {
                var own = latencies[thread] = new List<double>(options.Operations * 2);
                var account = accounts[scenario == "non-conflicting" ? thread : 0];
                for (var round = 0; round < options.Operations; round++)
                {
                    var transactionId = scenario == "idempotent" ? roundTransactions[round] : Guid.NewGuid();
                    while (true)
                    {
                        var started = Stopwatch.GetTimestamp();
                        var status = DepositAsync(client, account, transactionId, cancellationToken).GetAwaiter().GetResult();
                        own.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                        requests[thread]++;
                        if (status == HttpStatusCode.Conflict)
                        {
                            conflicts[thread]++;
                            continue;
                        }

                        if (status != HttpStatusCode.NoContent)
                        {
                            failures[thread]++;
                        }

                        break;
                    }

                    if (options.Barrier)
                    {
                        barrier.SignalAndWait(cancellationToken);
                    }
                }
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        await Task.WhenAll(workers);
        stopwatch.Stop();
        TimeSpan? serviceCpu = options.ServicePid is { } servicePid ? ProcessTable.CpuTime(servicePid) - cpuBefore : null;

        var expected = scenario switch
        {
            "non-conflicting" => options.Operations,
            "idempotent" => options.Operations,
            _ => (long)options.Operations * threads,
        };
        var balances = new List<long>();
        foreach (var account in accounts)
        {
            balances.Add(await BalanceAsync(client, account, cancellationToken));
        }

        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new ScenarioResult(
            scenario,
            threads,
            scenario == "distinct" || scenario == "non-conflicting" ? options.Operations * threads : options.Operations,
            requests.Sum(),
            conflicts.Sum(),
            failures.Sum(),
            stopwatch.Elapsed,
            Percentile(all, 0.50),
            Percentile(all, 0.99),
            balances.All(b => b == expected),
            $"{balances.Count}×{(balances.Distinct().Count() == 1 ? balances[0].ToString(CultureInfo.InvariantCulture) : string.Join('/', balances))}, expected {expected}",
            serviceCpu);
    }

    public static async Task SeedAsync(HttpClient client, Guid accountId, int events, CancellationToken cancellationToken)
    {
        using (var opened = await client.PostAsync($"/api/account/{accountId}?owner={Guid.NewGuid()}", null, cancellationToken))
        {
            opened.EnsureSuccessStatusCode();
        }

        for (var i = 1; i < events; i++)
        {
            if (await DepositAsync(client, accountId, Guid.NewGuid(), cancellationToken) != HttpStatusCode.NoContent)
            {
                throw new InvalidOperationException($"Seeding deposit {i} failed.");
            }
        }
    }

    private static async Task<HttpStatusCode> DepositAsync(HttpClient client, Guid account, Guid transactionId, CancellationToken cancellationToken)
    {
        using var response = await client.PutAsync($"/api/account/{account}/deposit?amount=1&transactionId={transactionId}", null, cancellationToken);
        return response.StatusCode;
    }

    private static async Task<long> BalanceAsync(HttpClient client, Guid account, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync($"/api/account/{account}", cancellationToken);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.GetProperty("balance").GetInt64();
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
