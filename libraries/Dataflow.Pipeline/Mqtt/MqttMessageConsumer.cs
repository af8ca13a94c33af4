using Dataflow.Google.Core;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Pipeline.Mqtt;

/// <summary>
/// Consumes MQTT subscriptions with manual acknowledgement: a QoS 1/2 message is acknowledged to the broker
/// (PUBACK/PUBREC) only when the pipeline acks it. MQTT has no negative acknowledgement, so a nacked message stays
/// unacknowledged and the broker redelivers it after a reconnect (persistent session). While the pipeline is
/// full, delivery waits and the client stops reading from the socket: backpressure instead of drops.
/// </summary>
/// <param name="createMessageId">Gives each received message a unique id (MQTT packet ids are reused).</param>
public sealed class MqttMessageConsumer(
    MqttClient client,
    IReadOnlyList<MqttSubscription> subscriptions,
    Func<string> createMessageId,
    TimeProvider? timeProvider = null) : IMessageConsumer
{
    public const string TopicAttribute = WellKnownAttributes.MqttTopic;

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public async Task RunAsync(MessageDelivery deliver, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(deliver);
        client.Start();
        await client.WaitUntilConnectedAsync(stoppingToken);

        // A persistent session's broker sends the queued messages right after CONNACK, ahead of our SUBACK. The
        // client's buffer may be smaller than that backlog, and while it is full the client reads nothing more from
        // the socket, the SUBACK included: so delivery must already run while the subscription is confirmed.
        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var subscribing = SubscribeAsync(halt.Token);
        var delivering = DeliverAsync(deliver, halt.Token, stoppingToken);
        var first = await Task.WhenAny(subscribing, delivering);
        if (first == subscribing && subscribing.IsCompletedSuccessfully)
        {
            await delivering;
            return;
        }

        // The subscription failed, or delivery ended (stopping, or a failure) before the broker confirmed it: stop the
        // other one and report how the first ended.
        await halt.CancelAsync();
        try
        {
            await (first == subscribing ? delivering : subscribing);
        }
        catch (OperationCanceledException)
        {
            // Stopped by the halt above.
        }

        try
        {
            await first;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped while the subscription was still being confirmed: a stop, not a failure.
        }
    }

    private async Task SubscribeAsync(CancellationToken cancellationToken)
    {
        var granted = await client.SubscribeAsync(subscriptions, cancellationToken);
        for (var i = 0; i < granted.Count; i++)
        {
            if ((byte)granted[i] >= 0x80)
            {
                throw new InvalidOperationException($"The broker refused the subscription to '{subscriptions[i].Filter}': {granted[i]}.");
            }
        }
    }

    private async Task DeliverAsync(MessageDelivery deliver, CancellationToken cancellationToken, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var received in client.Messages.ReadAllAsync(cancellationToken))
            {
                await deliver(new Message(createMessageId(), received.Payload, new SingleAttributeDictionary(TopicAttribute, received.Topic), _time.GetUtcNow(), new AckHandle(received)), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: messages still buffered in the client stay unacknowledged and are redelivered later.
        }
    }

    private sealed class AckHandle(MqttReceivedMessage received) : IAckHandle
    {
        public ValueTask AckAsync(CancellationToken cancellationToken) => received.AckAsync(cancellationToken);

        public ValueTask NackAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
