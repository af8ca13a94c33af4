using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt.Broker;

/// <summary>
/// A small in-process MQTT 3.1.1/5.0 broker for development and tests: wildcards, QoS 0/1/2, retained messages,
/// persistent sessions that queue while the client is offline, shared subscriptions, will messages and optional
/// user name/password. Not a production broker: Mosquitto is. One lock guards all routing state.
/// </summary>
public sealed class MqttBroker : IAsyncDisposable
{
    private const int Qos0QueueLimit = 10_000;

    private readonly MqttBrokerOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, BrokerSession> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BrokerMessage> _retained = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _sharedTurns = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _tasks = [];
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private long _flightSequence;

    public MqttBroker(MqttBrokerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>The port actually listened on (the free port picked when the options said 0).</summary>
    public int Port { get; private set; }

    /// <summary><c>mqtt://address:port</c> for clients.</summary>
    public string ConnectionString => $"mqtt://{(_options.ListenAddress.Equals(IPAddress.Any) ? "127.0.0.1" : _options.ListenAddress.ToString())}:{Port}";

    /// <summary>Number of sessions currently held (connected or persisted offline).</summary>
    public int SessionCount
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_listener is not null)
        {
            throw new InvalidOperationException("The broker is already started.");
        }

        var listener = new Socket(_options.ListenAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(_options.ListenAddress, _options.Port));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync(listener);
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            socket.NoDelay = true;
            Track(HandleConnectionAsync(socket));
        }
    }

    private void Track(Task task)
    {
        lock (_lock)
        {
            _tasks.Add(task);
        }

        task.ContinueWith(
            t =>
            {
                lock (_lock)
                {
                    _tasks.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task HandleConnectionAsync(Socket socket)
    {
        await using var packets = new MqttPacketConnection(new NetworkStream(socket, ownsSocket: true), _options.MaximumPacketSize);
        var writer = packets.RunWriterAsync();
        BrokerConnection? connection = null;
        var cleanDisconnect = false;
        Task keepAlive = Task.CompletedTask;
        try
        {
            using var stopRegistration = _stop.Token.Register(() => packets.Abort());
            MqttPacket? first;
            using (var connectTimeout = new CancellationTokenSource(_options.ConnectTimeout))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(connectTimeout.Token, packets.Aborted))
            {
                first = await packets.ReadAsync(linked.Token);
            }

            if (first is not MqttConnectPacket connect)
            {
                return;
            }

            (connection, var takenOver, var refusal) = Accept(connect, packets);
            if (takenOver is not null)
            {
                await takenOver.Packets.CloseAsync(
                    takenOver.Version == MqttProtocolVersion.V500 ? new MqttDisconnectPacket { ReasonCode = MqttReasonCode.SessionTakenOver } : null,
                    TimeSpan.FromSeconds(1));
            }

            if (connection is null)
            {
                await packets.CloseAsync(refusal, TimeSpan.FromSeconds(1));
                return;
            }

            keepAlive = MonitorKeepAliveAsync(connection);
            while (await packets.ReadAsync(packets.Aborted) is { } packet)
            {
                if (Handle(connection, packet))
                {
                    cleanDisconnect = true;
                    await packets.CloseAsync(null, TimeSpan.FromSeconds(1));
                    break;
                }
            }
        }
        catch (MqttProtocolException e)
        {
            await RejectAsync(packets, connection, e);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // The client went away; its will (if any) is handled below.
        }
        finally
        {
            packets.Abort();
            await writer;
            await keepAlive;
            if (connection is not null)
            {
                OnDisconnected(connection, cleanDisconnect);
            }
        }
    }

    private static async Task RejectAsync(MqttPacketConnection packets, BrokerConnection? connection, MqttProtocolException error)
    {
        MqttPacket? reply = null;
        if (connection is null)
        {
            // The CONNECT itself was bad. An unknown protocol level is answered in 3.1.1 format [MQTT-3.1.2-2].
            if (error.ReasonCode == MqttReasonCode.UnsupportedProtocolVersion)
            {
                packets.Version = MqttProtocolVersion.V311;
                reply = new MqttConnAckPacket { ReasonCode = MqttReasonCode.UnsupportedProtocolVersion };
            }
        }
        else if (connection.Version == MqttProtocolVersion.V500)
        {
            reply = new MqttDisconnectPacket { ReasonCode = error.ReasonCode, Properties = new MqttProperties { ReasonString = error.Message } };
        }

        await packets.CloseAsync(reply, TimeSpan.FromSeconds(1));
    }

    private static async Task MonitorKeepAliveAsync(BrokerConnection connection)
    {
        if (connection.KeepAlive == TimeSpan.Zero)
        {
            return;
        }

        // The client may be silent for 1.5 × keep alive before we give up on it [MQTT-3.1.2-24].
        var limit = (long)(connection.KeepAlive.TotalMilliseconds * 1.5);
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, limit / 4)), connection.Packets.Aborted);
                if (Environment.TickCount64 - connection.Packets.LastReceivedTimestamp > limit)
                {
                    await connection.Packets.CloseAsync(
                        connection.Version == MqttProtocolVersion.V500 ? new MqttDisconnectPacket { ReasonCode = MqttReasonCode.KeepAliveTimeout } : null,
                        TimeSpan.FromSeconds(1));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Connection closed.
        }
    }

    private (BrokerConnection? Connection, BrokerConnection? TakenOver, MqttConnAckPacket? Refusal) Accept(MqttConnectPacket connect, MqttPacketConnection packets)
    {
        var v5 = connect.ProtocolVersion == MqttProtocolVersion.V500;
        packets.Version = connect.ProtocolVersion;
        var refusal = Authenticate(connect);
        var clientId = connect.ClientId;
        var assigned = false;
        if (refusal is null && clientId.Length == 0)
        {
            if (!v5 && !connect.CleanStart)
            {
                refusal = MqttReasonCode.ClientIdentifierNotValid;
            }
            else
            {
                clientId = "auto-" + Guid.NewGuid().ToString("N");
                assigned = true;
            }
        }

        if (refusal is { } code)
        {
            return (null, null, new MqttConnAckPacket { ReasonCode = code });
        }

        if (connect.Properties?.MaximumPacketSize is { } maximum)
        {
            packets.MaximumOutgoingPacketSize = (int)Math.Min(maximum, int.MaxValue);
        }

        var expiry = v5 ? connect.Properties?.SessionExpiryInterval ?? 0 : connect.CleanStart ? 0 : uint.MaxValue;
        lock (_lock)
        {
            _sessions.TryGetValue(clientId, out var session);
            var takenOver = session?.Connection;
            if (session is not null && (connect.CleanStart || session.IsExpired(Environment.TickCount64)))
            {
                session.PendingWill?.Cancel();
                session.Connection = null;
                session = null;
            }

            var sessionPresent = session is not null;
            session ??= new BrokerSession(clientId);
            _sessions[clientId] = session;
            session.PendingWill?.Cancel();
            session.PendingWill = null;
            session.ExpirySeconds = expiry;
            session.ExpiresAt = long.MaxValue;
            session.SendQuota = v5 ? connect.Properties?.ReceiveMaximum ?? 65_535 : _options.MaximumInflightToV311Clients;
            if (!sessionPresent)
            {
                session.IncomingQoS2.Clear();
            }

            var connection = new BrokerConnection(packets, session, connect);
            session.Connection = connection;
            packets.Enqueue(new MqttConnAckPacket
            {
                SessionPresent = sessionPresent,
                ReasonCode = MqttReasonCode.Success,
                Properties = v5
                    ? new MqttProperties
                    {
                        AssignedClientIdentifier = assigned ? clientId : null,
                        ReceiveMaximum = _options.ReceiveMaximum,
                        MaximumPacketSize = (uint)_options.MaximumPacketSize,
                        RetainAvailable = true,
                        WildcardSubscriptionAvailable = true,
                        SharedSubscriptionAvailable = true,
                        SubscriptionIdentifiersAvailable = false,
                    }
                    : null,
            });

            foreach (var flight in session.Inflight.Values.OrderBy(f => f.Sequence))
            {
                packets.Enqueue(flight.Released
                    ? new MqttPublishAckPacket(MqttPacketType.PubRel, flight.Packet.PacketId)
                    : flight.Packet with { Dup = true });
            }

            Pump(session);
            return (connection, takenOver, null);
        }
    }

    private MqttReasonCode? Authenticate(MqttConnectPacket connect)
    {
        if (connect.Properties?.AuthenticationMethod is not null)
        {
            return MqttReasonCode.BadAuthenticationMethod;
        }

        if (connect.Username is null)
        {
            return _options.AllowAnonymous ? null : MqttReasonCode.NotAuthorized;
        }

        if (_options.Users.Count == 0)
        {
            return _options.AllowAnonymous ? null : MqttReasonCode.NotAuthorized;
        }

        if (_options.Users.TryGetValue(connect.Username, out var expected) && connect.Password is { } password
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), password.Span))
        {
            return null;
        }

        return MqttReasonCode.BadUserNameOrPassword;
    }

    /// <summary>Handles one packet after CONNECT; true when the client disconnected cleanly.</summary>
    private bool Handle(BrokerConnection connection, MqttPacket packet)
    {
        var session = connection.Session;
        var packets = connection.Packets;
        var v5 = connection.Version == MqttProtocolVersion.V500;
        switch (packet)
        {
            case MqttPublishPacket publish:
                OnPublish(connection, publish);
                return false;
            case MqttPublishAckPacket { Type: MqttPacketType.PubRel } rel:
                bool known;
                lock (_lock)
                {
                    known = session.IncomingQoS2.Remove(rel.PacketId);
                }

                packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubComp, rel.PacketId,
                    known || !v5 ? MqttReasonCode.Success : MqttReasonCode.PacketIdentifierNotFound));
                return false;
            case MqttPublishAckPacket ack:
                OnAck(connection, ack);
                return false;
            case MqttSubscribePacket subscribe:
                OnSubscribe(connection, subscribe);
                return false;
            case MqttUnsubscribePacket unsubscribe:
                var codes = new List<MqttReasonCode>(unsubscribe.Filters.Count);
                lock (_lock)
                {
                    foreach (var filter in unsubscribe.Filters)
                    {
                        codes.Add(session.Subscriptions.Remove(filter) ? MqttReasonCode.Success : MqttReasonCode.NoSubscriptionExisted);
                    }
                }

                packets.Enqueue(new MqttUnsubAckPacket { PacketId = unsubscribe.PacketId, ReasonCodes = codes });
                return false;
            case MqttPingReqPacket:
                packets.Enqueue(MqttPingRespPacket.Instance);
                return false;
            case MqttDisconnectPacket disconnect:
                if (disconnect.Properties?.SessionExpiryInterval is { } expiry)
                {
                    lock (_lock)
                    {
                        if (session.ExpirySeconds == 0 && expiry != 0)
                        {
                            throw new MqttProtocolException(MqttReasonCode.ProtocolError, "Session expiry cannot be set on DISCONNECT when CONNECT had 0.");
                        }

                        session.ExpirySeconds = expiry;
                    }
                }

                if (disconnect.ReasonCode != MqttReasonCode.DisconnectWithWillMessage)
                {
                    connection.Will = null;
                }

                return true;
            default:
                throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"A client must not send {packet.Type} here.");
        }
    }

    private void OnPublish(BrokerConnection connection, MqttPublishPacket publish)
    {
        if (publish.Properties?.TopicAlias is not null)
        {
            throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, "Topic aliases are not supported (Topic Alias Maximum 0).");
        }

        var session = connection.Session;
        var packets = connection.Packets;
        var v5 = connection.Version == MqttProtocolVersion.V500;
        if (publish.QoS == MqttQualityOfService.ExactlyOnce)
        {
            lock (_lock)
            {
                if (session.IncomingQoS2.Contains(publish.PacketId))
                {
                    // A resend of a message we already routed: acknowledge again, do not route twice.
                    packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubRec, publish.PacketId));
                    return;
                }

                if (session.IncomingQoS2.Count >= _options.ReceiveMaximum)
                {
                    throw new MqttProtocolException(MqttReasonCode.ReceiveMaximumExceeded, "More unacknowledged QoS 2 messages than Receive Maximum.");
                }

                session.IncomingQoS2.Add(publish.PacketId);
            }
        }

        var expiresAt = v5 && publish.Properties?.MessageExpiryInterval is { } seconds
            ? Environment.TickCount64 + (seconds * 1000L)
            : 0;
        var message = new BrokerMessage(publish.Topic, publish.Payload, publish.QoS, publish.Retain, v5 ? publish.Properties : null, expiresAt, session);
        var matched = Route(message);
        var code = matched || !v5 ? MqttReasonCode.Success : MqttReasonCode.NoMatchingSubscribers;
        switch (publish.QoS)
        {
            case MqttQualityOfService.AtLeastOnce:
                packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubAck, publish.PacketId, code));
                break;
            case MqttQualityOfService.ExactlyOnce:
                packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubRec, publish.PacketId, code));
                break;
            default:
                break;
        }
    }

    private void OnAck(BrokerConnection connection, MqttPublishAckPacket ack)
    {
        var session = connection.Session;
        lock (_lock)
        {
            if (!session.Inflight.TryGetValue(ack.PacketId, out var flight))
            {
                if (ack.Type == MqttPacketType.PubRec)
                {
                    connection.Packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubRel, ack.PacketId,
                        connection.Version == MqttProtocolVersion.V500 ? MqttReasonCode.PacketIdentifierNotFound : MqttReasonCode.Success));
                }

                return;
            }

            var qos2 = flight.Packet.QoS == MqttQualityOfService.ExactlyOnce;
            var expected = !qos2 ? MqttPacketType.PubAck : flight.Released ? MqttPacketType.PubComp : MqttPacketType.PubRec;
            if (ack.Type != expected)
            {
                throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"Unexpected {ack.Type} for packet {ack.PacketId}.");
            }

            if (ack.Type == MqttPacketType.PubRec && ack.ReasonCode < MqttReasonCode.UnspecifiedError)
            {
                flight.Released = true;
                connection.Packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubRel, ack.PacketId));
                return;
            }

            session.Inflight.Remove(ack.PacketId);
            session.PacketIds.Release(ack.PacketId);
            Pump(session);
        }
    }

    private void OnSubscribe(BrokerConnection connection, MqttSubscribePacket subscribe)
    {
        if (subscribe.Properties?.SubscriptionIdentifiers is not null)
        {
            throw new MqttProtocolException(MqttReasonCode.SubscriptionIdentifiersNotSupported, "Subscription identifiers are not supported.");
        }

        var session = connection.Session;
        var codes = new List<MqttReasonCode>(subscribe.Subscriptions.Count);
        var now = Environment.TickCount64;
        lock (_lock)
        {
            var retainedToSend = new List<BrokerDelivery>();
            foreach (var subscription in subscribe.Subscriptions)
            {
                if (!MqttTopic.IsValidTopicFilter(subscription.Filter))
                {
                    codes.Add(MqttReasonCode.TopicFilterInvalid);
                    continue;
                }

                var shared = MqttTopic.TryParseShared(subscription.Filter, out var group, out var inner);
                if (shared && subscription.NoLocal)
                {
                    throw new MqttProtocolException(MqttReasonCode.ProtocolError, "No Local is not allowed on a shared subscription.");
                }

                var isNew = !session.Subscriptions.ContainsKey(subscription.Filter);
                session.Subscriptions[subscription.Filter] = new BrokerSubscription(subscription, shared ? group : null, shared ? inner : subscription.Filter);
                codes.Add((MqttReasonCode)subscription.QoS);
                var sendRetained = !shared && subscription.RetainHandling switch
                {
                    MqttRetainHandling.SendAtSubscribe => true,
                    MqttRetainHandling.SendAtSubscribeIfNew => isNew,
                    _ => false,
                };
                if (sendRetained)
                {
                    foreach (var retained in _retained.Values)
                    {
                        if (!retained.IsExpired(now) && MqttTopic.Matches(subscription.Filter, retained.Topic))
                        {
                            retainedToSend.Add(new BrokerDelivery(retained, Min(retained.QoS, subscription.QoS), Retain: true));
                        }
                    }
                }
            }

            // SUBACK goes out before the retained messages it enables [MQTT-3.8.4-3].
            connection.Packets.Enqueue(new MqttSubAckPacket { PacketId = subscribe.PacketId, ReasonCodes = codes });
            foreach (var delivery in retainedToSend)
            {
                Deliver(session, delivery);
            }
        }
    }

    /// <summary>Routes a message to every matching session; true when at least one subscription matched.</summary>
    private bool Route(BrokerMessage message)
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            if (message.Retain)
            {
                if (message.Payload.IsEmpty)
                {
                    _retained.Remove(message.Topic);
                }
                else
                {
                    _retained[message.Topic] = message;
                }
            }

            var matched = false;
            Dictionary<string, List<(BrokerSession Session, BrokerSubscription Subscription)>>? sharedGroups = null;
            List<string>? expired = null;
            foreach (var session in _sessions.Values)
            {
                if (session.IsExpired(now))
                {
                    (expired ??= []).Add(session.ClientId);
                    continue;
                }

                BrokerSubscription? best = null;
                foreach (var subscription in session.Subscriptions.Values)
                {
                    if (!MqttTopic.Matches(subscription.Filter, message.Topic))
                    {
                        continue;
                    }

                    if (subscription.ShareGroup is { } group)
                    {
                        var key = group + "\n" + subscription.Filter;
                        sharedGroups ??= new(StringComparer.Ordinal);
                        if (!sharedGroups.TryGetValue(key, out var members))
                        {
                            sharedGroups[key] = members = [];
                        }

                        members.Add((session, subscription));
                    }
                    else if (!(subscription.Options.NoLocal && ReferenceEquals(message.Publisher, session))
                        && (best is null || subscription.Options.QoS > best.Options.QoS))
                    {
                        // Overlapping subscriptions deliver once, at the highest QoS granted.
                        best = subscription;
                    }
                }

                if (best is not null)
                {
                    matched = true;
                    Deliver(session, new BrokerDelivery(message, Min(message.QoS, best.Options.QoS), best.Options.RetainAsPublished && message.Retain));
                }
            }

            if (sharedGroups is not null)
            {
                foreach (var (key, members) in sharedGroups)
                {
                    matched = true;
                    var online = members.Where(m => m.Session.Connection is not null).ToList();
                    var candidates = online.Count > 0 ? online : members;
                    _sharedTurns.TryGetValue(key, out var turn);
                    _sharedTurns[key] = turn + 1;
                    var (session, subscription) = candidates[(int)((uint)turn % (uint)candidates.Count)];
                    Deliver(session, new BrokerDelivery(message, Min(message.QoS, subscription.Options.QoS), Retain: false));
                }
            }

            if (expired is not null)
            {
                foreach (var clientId in expired)
                {
                    _sessions.Remove(clientId);
                }
            }

            return matched;
        }
    }

    private static MqttQualityOfService Min(MqttQualityOfService a, MqttQualityOfService b) => a < b ? a : b;

    /// <summary>Sends now when possible, otherwise queues (QoS 1/2 only). Caller holds the lock.</summary>
    private void Deliver(BrokerSession session, BrokerDelivery delivery)
    {
        if (delivery.QoS == MqttQualityOfService.AtMostOnce)
        {
            // QoS 0 is dropped for offline clients and for clients that cannot keep up.
            if (session.Connection is { } connection && connection.Packets.QueuedCount < Qos0QueueLimit
                && CreatePacket(connection, delivery, 0) is { } packet)
            {
                connection.Packets.Enqueue(packet);
            }

            return;
        }

        if (session.Connection is not null && session.Queue.Count == 0 && session.Inflight.Count < session.SendQuota)
        {
            Send(session, delivery);
        }
        else if (session.Queue.Count < _options.MaximumQueuedMessagesPerSession)
        {
            session.Queue.Enqueue(delivery);
        }
    }

    private void Pump(BrokerSession session)
    {
        while (session.Connection is not null && session.Inflight.Count < session.SendQuota && session.Queue.TryDequeue(out var delivery))
        {
            Send(session, delivery);
        }
    }

    private void Send(BrokerSession session, BrokerDelivery delivery)
    {
        var connection = session.Connection!;
        var packetId = session.PacketIds.Allocate();
        if (CreatePacket(connection, delivery, packetId) is not { } packet)
        {
            session.PacketIds.Release(packetId);
            return;
        }

        session.Inflight[packetId] = new BrokerFlight(delivery, packet, ++_flightSequence);
        connection.Packets.Enqueue(packet);
    }

    /// <summary>The PUBLISH for one delivery; null when the message expired or exceeds the client's packet size.</summary>
    private static MqttPublishPacket? CreatePacket(BrokerConnection connection, BrokerDelivery delivery, ushort packetId)
    {
        var message = delivery.Message;
        var properties = connection.Version == MqttProtocolVersion.V500 ? message.Properties : null;
        if (message.ExpiresAt != 0)
        {
            var remaining = message.ExpiresAt - Environment.TickCount64;
            if (remaining <= 0)
            {
                return null;
            }

            if (properties is not null)
            {
                // The receiver sees the remaining lifetime, not the original one [MQTT-3.3.2-6].
                properties = properties.Clone();
                properties.MessageExpiryInterval = (uint)((remaining + 999) / 1000);
            }
        }

        var packet = new MqttPublishPacket
        {
            Topic = message.Topic,
            Payload = message.Payload,
            QoS = delivery.QoS,
            Retain = delivery.Retain,
            PacketId = packetId,
            Properties = properties,
        };
        var maximum = connection.Packets.MaximumOutgoingPacketSize;
        return maximum > 0 && MqttPacketEncoder.GetSize(packet, connection.Version) > maximum ? null : packet;
    }

    private void OnDisconnected(BrokerConnection connection, bool clean)
    {
        var will = clean && connection.Will is null ? null : connection.Will;
        var session = connection.Session;
        var willDelay = TimeSpan.Zero;
        CancellationTokenSource? pendingWill = null;
        lock (_lock)
        {
            if (ReferenceEquals(session.Connection, connection))
            {
                session.Connection = null;
                if (session.ExpirySeconds == 0)
                {
                    if (_sessions.TryGetValue(session.ClientId, out var current) && ReferenceEquals(current, session))
                    {
                        _sessions.Remove(session.ClientId);
                    }
                }
                else
                {
                    session.ExpiresAt = session.ExpirySeconds == uint.MaxValue
                        ? long.MaxValue
                        : Environment.TickCount64 + (session.ExpirySeconds * 1000L);
                }

                if (will is not null && connection.Version == MqttProtocolVersion.V500
                    && will.Properties?.WillDelayInterval is { } delay and > 0 && session.ExpirySeconds > 0)
                {
                    // The will waits for the earlier of its delay and the session's end, unless the client returns.
                    willDelay = TimeSpan.FromSeconds(Math.Min(delay, session.ExpirySeconds));
                    session.PendingWill = pendingWill = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                }
            }
        }

        if (will is null || _stop.IsCancellationRequested)
        {
            return;
        }

        if (pendingWill is not null)
        {
            Track(PublishWillLaterAsync(will, session, willDelay, pendingWill));
            return;
        }

        PublishWill(will, session);
    }

    private async Task PublishWillLaterAsync(MqttWill will, BrokerSession session, TimeSpan delay, CancellationTokenSource pending)
    {
        try
        {
            await Task.Delay(delay, pending.Token);
            PublishWill(will, session);
        }
        catch (OperationCanceledException)
        {
            // The client came back (or the broker stopped): no will.
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(session.PendingWill, pending))
                {
                    session.PendingWill = null;
                }
            }

            pending.Dispose();
        }
    }

    private void PublishWill(MqttWill will, BrokerSession session)
    {
        var expiresAt = will.Properties?.MessageExpiryInterval is { } seconds ? Environment.TickCount64 + (seconds * 1000L) : 0;
        // Will properties minus Will Delay Interval are exactly the PUBLISH properties the will is sent with.
        MqttProperties? properties = null;
        if (will.Properties is { } willProperties)
        {
            properties = willProperties.Clone();
            properties.WillDelayInterval = null;
        }

        Route(new BrokerMessage(will.Topic, will.Payload, will.QoS, will.Retain, properties, expiresAt, session));
    }

    /// <summary>Stops listening and closes every connection (MQTT 5.0 clients get DISCONNECT "server shutting down").</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        List<BrokerConnection> connections;
        lock (_lock)
        {
            connections = [.. _sessions.Values.Select(s => s.Connection).OfType<BrokerConnection>()];
        }

        await Task.WhenAll(connections.Select(c => c.Packets.CloseAsync(
            c.Version == MqttProtocolVersion.V500 ? new MqttDisconnectPacket { ReasonCode = MqttReasonCode.ServerShuttingDown } : null,
            TimeSpan.FromSeconds(1)).AsTask()));
        await _stop.CancelAsync();
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.WaitAsync(cancellationToken);
        }

        Task[] remaining;
        lock (_lock)
        {
            remaining = [.. _tasks];
        }

        await Task.WhenAll(remaining).WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
