using System.Globalization;
using System.Text;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt.Benchmarks;

/// <summary>
/// Follows Mosquitto's <c>$SYS/broker/publish/messages/received</c> counter (published every <c>sys_interval</c>,
/// 1 s here), so every publish run can prove how many PUBLISH packets actually reached the broker. A publisher that
/// exits early or drops messages would otherwise look faster than it is.
/// </summary>
internal sealed class BrokerPublishCounter : IAsyncDisposable
{
    private const string Topic = "$SYS/broker/publish/messages/received";
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(2.5);
    private readonly MqttClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _follow;
    private long _value = -1;
    private long _changedAt = Environment.TickCount64;

    private BrokerPublishCounter(MqttClient client)
    {
        _client = client;
        _follow = FollowAsync();
    }

    public static async Task<BrokerPublishCounter> StartAsync(int port)
    {
        var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1",
            Port = port,
            ClientId = "bench-sys-counter",
            ProtocolVersion = MqttProtocolVersion.V311,
        });
        await client.ConnectAsync();
        await client.SubscribeAsync(Topic, MqttQualityOfService.AtMostOnce);
        return new BrokerPublishCounter(client);
    }

    /// <summary>The counter once it has not changed for a few sys intervals: all earlier traffic is counted.</summary>
    public async Task<long> SettledAsync()
    {
        while (Volatile.Read(ref _value) < 0 || Environment.TickCount64 - Volatile.Read(ref _changedAt) < QuietPeriod.TotalMilliseconds)
        {
            await Task.Delay(100);
        }

        return Volatile.Read(ref _value);
    }

    /// <summary>Waits until the broker reports <paramref name="expected"/> more PUBLISH packets than <paramref name="before"/>; throws if it never does.</summary>
    public async Task VerifyReceivedAsync(string publisher, long before, int expected)
    {
        var deadline = Environment.TickCount64 + 5_000;
        while (Volatile.Read(ref _value) - before < expected && Environment.TickCount64 < deadline)
        {
            await Task.Delay(100);
        }

        var received = await SettledAsync() - before;
        if (received != expected)
        {
            throw new InvalidOperationException($"{publisher} reported success, but the broker received {received} of {expected} PUBLISH packets: its rate would be meaningless.");
        }
    }

    private async Task FollowAsync()
    {
        try
        {
            await foreach (var message in _client.Messages.ReadAllAsync(_stop.Token))
            {
                var value = long.Parse(Encoding.ASCII.GetString(message.Payload.Span), CultureInfo.InvariantCulture);
                if (Interlocked.Exchange(ref _value, value) != value)
                {
                    Volatile.Write(ref _changedAt, Environment.TickCount64);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Benchmark over.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _follow;
        await _client.DisposeAsync();
        _stop.Dispose();
    }
}
