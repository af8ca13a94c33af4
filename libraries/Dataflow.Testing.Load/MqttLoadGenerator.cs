using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Testing.Load;

/// <summary>What <see cref="MqttLoadGenerator"/> sends: N devices × rate × duration.</summary>
public sealed record MqttLoadOptions
{
    /// <summary>Broker, <c>mqtt://host:port</c> (see <see cref="MqttClientOptions.Parse"/>).</summary>
    public required string ConnectionString { get; init; }

    public int Devices { get; init; } = 5;

    /// <summary>Messages per second per device.</summary>
    public double RatePerDevice { get; init; } = 2;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Topic of each device; <c>{device}</c> is replaced by the device id.</summary>
    public string TopicTemplate { get; init; } = "devices/{device}/telemetry";

    /// <summary>Device ids are <c>&lt;prefix&gt;-1</c> … <c>&lt;prefix&gt;-N</c>.</summary>
    public string DevicePrefix { get; init; } = "dev";

    public MqttQualityOfService QoS { get; init; } = MqttQualityOfService.AtLeastOnce;

    /// <summary>Messages each device sends: rate × duration, rounded.</summary>
    public int MessagesPerDevice => (int)Math.Round(RatePerDevice * Duration.TotalSeconds);

    public string DeviceId(int index) => string.Create(CultureInfo.InvariantCulture, $"{DevicePrefix}-{index}");

    public string Topic(string deviceId) => TopicTemplate.Replace("{device}", deviceId, StringComparison.Ordinal);

    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Devices < 1)
        {
            throw new ArgumentException($"{nameof(Devices)} must be at least 1 (was {Devices}).");
        }

        if (!(RatePerDevice > 0) || double.IsInfinity(RatePerDevice))
        {
            throw new ArgumentException($"{nameof(RatePerDevice)} must be a positive number of messages per second (was {RatePerDevice}).");
        }

        if (Duration <= TimeSpan.Zero || MessagesPerDevice < 1)
        {
            throw new ArgumentException($"{nameof(Duration)} × {nameof(RatePerDevice)} must give at least one message per device (was {Duration} × {RatePerDevice}).");
        }

        if (!TopicTemplate.Contains("{device}", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{nameof(TopicTemplate)} '{TopicTemplate}' must contain {{device}}: every device publishes on its own topic.");
        }

        MqttClientOptions.Parse(ConnectionString).Validate();
    }
}

/// <summary>
/// One reading <c>{"device_id","timestamp","value"}</c>. <see cref="Value"/> is the device's sequence number
/// (0, 1, 2 …), so device id and value identify a message end to end.
/// </summary>
public sealed record TelemetryReading(string DeviceId, DateTimeOffset Timestamp, double Value, string Topic)
{
    /// <summary>Timestamps are RFC 3339 UTC with microseconds, the precision BigQuery keeps.</summary>
    public string TimestampText => Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public string Key => FormatKey(DeviceId, Value);

    public static string FormatKey(string deviceId, double value) => string.Create(CultureInfo.InvariantCulture, $"{deviceId}#{value}");

    public byte[] ToPayload()
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("device_id", DeviceId);
            json.WriteString("timestamp", TimestampText);
            json.WriteNumber("value", Value);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>The outcome of a run: what the broker acknowledged is what a pipeline must deliver.</summary>
public sealed record MqttLoadResult(IReadOnlyList<TelemetryReading> Acknowledged, int Attempted, IReadOnlyList<Exception> Failures, TimeSpan Elapsed)
{
    /// <summary>Messages the broker acknowledged (PUBACK/PUBCOMP; for QoS 0: handed to the socket).</summary>
    public int AcknowledgedCount => Acknowledged.Count;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Attempted} attempted, {AcknowledgedCount} acknowledged, {Failures.Count} failed in {Elapsed.TotalSeconds:F1} s");
}

/// <summary>
/// Simulates devices: each has its own MQTT connection and publishes at a fixed rate for the duration. Sends are
/// scheduled against the start time (no drift when a send is slow) and do not wait for the previous
/// acknowledgement, so a slow broker does not lower the offered rate; every send is awaited before the run ends.
/// </summary>
public sealed class MqttLoadGenerator
{
    private readonly MqttLoadOptions _options;
    private readonly TimeProvider _time;

    public MqttLoadGenerator(MqttLoadOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    public async Task<MqttLoadResult> RunAsync(CancellationToken cancellationToken)
    {
        var clients = new List<MqttClient>(_options.Devices);
        try
        {
            for (var i = 1; i <= _options.Devices; i++)
            {
                var clientOptions = MqttClientOptions.Parse(_options.ConnectionString);
                clientOptions.ClientId = $"{_options.DeviceId(i)}-{Guid.NewGuid():N}";
                var client = new MqttClient(clientOptions);
                clients.Add(client);
                await client.ConnectAsync(cancellationToken);
            }

            var started = Stopwatch.StartNew();
            var devices = await Task.WhenAll(clients.Select((client, i) => RunDeviceAsync(client, _options.DeviceId(i + 1), started, cancellationToken)));
            var acknowledged = devices.SelectMany(d => d.Acknowledged).ToList();
            var failures = devices.SelectMany(d => d.Failures).ToList();
            return new MqttLoadResult(acknowledged, devices.Sum(d => d.Attempted), failures, started.Elapsed);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private async Task<(List<TelemetryReading> Acknowledged, List<Exception> Failures, int Attempted)> RunDeviceAsync(
        MqttClient client, string deviceId, Stopwatch started, CancellationToken cancellationToken)
    {
        var topic = _options.Topic(deviceId);
        var sends = new List<(TelemetryReading Reading, Task<MqttReasonCode> Send)>(_options.MessagesPerDevice);
        var interval = TimeSpan.FromSeconds(1 / _options.RatePerDevice);
        for (var sequence = 0; sequence < _options.MessagesPerDevice; sequence++)
        {
            var due = interval * sequence;
            var wait = due - started.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellationToken);
            }

            var reading = new TelemetryReading(deviceId, _time.GetUtcNow(), sequence, topic);
            var message = new MqttApplicationMessage { Topic = topic, Payload = reading.ToPayload(), QoS = _options.QoS };
            sends.Add((reading, client.PublishAsync(message, cancellationToken)));
        }

        var acknowledged = new List<TelemetryReading>(sends.Count);
        var failures = new List<Exception>();
        foreach (var (reading, send) in sends)
        {
            try
            {
                await send;
                acknowledged.Add(reading);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failures.Add(ex);
            }
        }

        return (acknowledged, failures, sends.Count);
    }
}
