using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt.Client;

/// <summary>
/// An MQTT 3.1.1/5.0 client with automatic reconnect (exponential backoff with jitter, also when the broker is down
/// at the first connect), subscription restore, QoS 0/1/2 in both directions and manual acknowledgement of received
/// messages. Thread-safe: publish, subscribe and acknowledge from any thread.
/// </summary>
public sealed class MqttClient : IAsyncDisposable
{
    private readonly MqttClientOptions _options;
    private readonly Channel<MqttReceivedMessage> _received;
    private readonly Lock _lock = new();
    private readonly MqttPacketIdPool _packetIds = new();
    private readonly Dictionary<ushort, OutgoingFlight> _flights = [];
    private readonly Queue<OutgoingFlight> _waitingForWindow = new();
    private readonly Dictionary<ushort, TaskCompletionSource<MqttPacket>> _requests = [];
    private readonly HashSet<ushort> _qos2AwaitingRelease = [];
    private readonly Dictionary<string, MqttSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly X509Certificate2Collection? _caCertificates;
    private readonly X509Certificate2? _clientCertificate;
    private TaskCompletionSource _connectedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ActiveConnection? _connection;
    private Task? _supervisor;
    private string _clientId;
    private bool _sessionStarted;
    private long _flightSequence;
    private int _inflightLimit;
    private int _inflightCount;
    private volatile MqttConnectionState _state = MqttConnectionState.Disconnected;
    private volatile bool _stopping;

    /// <param name="options">Validated here: an invalid setting throws <see cref="ArgumentException"/>.</param>
    public MqttClient(MqttClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _clientId = options.ClientId;
        _inflightLimit = options.MaximumInflightPublishes;
        _caCertificates = options.Tls?.LoadCaCertificates();
        _clientCertificate = options.Tls?.LoadClientCertificate();
        _received = Channel.CreateBounded<MqttReceivedMessage>(new BoundedChannelOptions(options.ReceiveBufferCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Raised on every state change (from a background thread).</summary>
    public event EventHandler<MqttConnectionStateChangedEventArgs>? StateChanged;

    public MqttClientOptions Options => _options;

    public MqttConnectionState State => _state;

    /// <summary>Connected, CONNACK accepted, subscriptions restored: what a readiness probe wants.</summary>
    public bool IsConnected => _state == MqttConnectionState.Connected;

    /// <summary>The client id in use (the broker-assigned one when <see cref="MqttClientOptions.ClientId"/> was empty).</summary>
    public string ClientId
    {
        get
        {
            lock (_lock)
            {
                return _clientId;
            }
        }
    }

    /// <summary>The last connection or connect-attempt failure, if any.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>
    /// Received messages, bounded by <see cref="MqttClientOptions.ReceiveBufferCapacity"/>: while it is full the client
    /// stops reading from the socket, the broker's replies included. So keep reading while awaiting
    /// <see cref="SubscribeAsync(IReadOnlyList{MqttSubscription}, CancellationToken)"/>: a persistent session's backlog
    /// arrives before the SUBACK and may exceed the buffer. Completes when the client stops.
    /// </summary>
    public ChannelReader<MqttReceivedMessage> Messages => _received.Reader;

    /// <summary>Starts the connection loop without waiting for a connection.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        lock (_lock)
        {
            _supervisor ??= Task.Run(SuperviseAsync);
        }
    }

    /// <summary>
    /// Starts the client and waits until it is connected. Retries while the broker is unreachable; throws
    /// <see cref="MqttConnectException"/> when the broker refuses us permanently or TLS fails.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        Start();
        await WaitUntilConnectedAsync(cancellationToken);
    }

    /// <summary>Completes when connected; throws <see cref="MqttConnectException"/> when faulted.</summary>
    public async Task WaitUntilConnectedAsync(CancellationToken cancellationToken = default)
    {
        await GetConnectionAsync(cancellationToken);
    }

    private async ValueTask<ActiveConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task signal;
            lock (_lock)
            {
                if (_connection is { } connection)
                {
                    return connection;
                }

                signal = _connectedSignal.Task;
            }

            await signal.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Publishes a message. QoS 0 completes when handed to the socket; QoS 1/2 complete when the broker acknowledged
    /// (PUBACK / PUBCOMP), across reconnects if necessary. Messages go out in the order of the calls, also while they
    /// wait for the in-flight window. Cancelling a message still waiting for the window withdraws it (it is never
    /// sent); cancelling a sent one stops waiting but cannot recall it.
    /// </summary>
    /// <returns><see cref="MqttReasonCode.Success"/> or <see cref="MqttReasonCode.NoMatchingSubscribers"/> (MQTT 5.0).</returns>
    /// <exception cref="MqttPublishException">The broker rejected the message.</exception>
    public Task<MqttReasonCode> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken = default)
    {
        MqttPublishPacket packet;
        int size;
        try
        {
            (packet, size) = CreatePublishPacket(message);
        }
        catch (Exception e) when (e is ArgumentException or ObjectDisposedException or MqttPublishException)
        {
            return Task.FromException<MqttReasonCode>(e);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<MqttReasonCode>(cancellationToken);
        }

        return packet.QoS == MqttQualityOfService.AtMostOnce
            ? PublishAtMostOnceAsync(packet, size, cancellationToken)
            : PublishAcknowledgedAsync(packet, cancellationToken);
    }

    private (MqttPublishPacket Packet, int Size) CreatePublishPacket(MqttApplicationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!MqttTopic.IsValidTopicName(message.Topic))
        {
            throw new ArgumentException($"'{message.Topic}' is not a valid topic name.", nameof(message));
        }

        if (message.QoS > MqttQualityOfService.ExactlyOnce)
        {
            throw new ArgumentException("QoS must be 0, 1 or 2.", nameof(message));
        }

        ObjectDisposedException.ThrowIf(_stopping, this);
        var packet = new MqttPublishPacket
        {
            Topic = message.Topic,
            Payload = message.Payload,
            QoS = message.QoS,
            Retain = message.Retain,
            // A placeholder id, so the size is the final one; the real id is assigned when the window admits it.
            PacketId = message.QoS == MqttQualityOfService.AtMostOnce ? (ushort)0 : (ushort)1,
            Properties = _options.ProtocolVersion == MqttProtocolVersion.V500 ? message.Properties : null,
        };

        // Encoding problems (a property PUBLISH may not carry, an over-long topic) surface here, not in the writer.
        var size = MqttPacketEncoder.GetSize(packet, _options.ProtocolVersion);
        if (_connection is { } current)
        {
            CheckServerLimits(current, packet, size);
        }

        return (packet, size);
    }

    private async Task<MqttReasonCode> PublishAtMostOnceAsync(MqttPublishPacket packet, int size, CancellationToken cancellationToken)
    {
        while (true)
        {
            var connection = await GetConnectionAsync(cancellationToken);
            CheckServerLimits(connection, packet, size);
            try
            {
                await connection.Packets.EnqueueWithBackpressureAsync(packet, cancellationToken);
                return MqttReasonCode.Success;
            }
            catch (MqttConnectionLostException)
            {
                // Not sent at all: safe to try again on the next connection.
            }
        }
    }

    private Task<MqttReasonCode> PublishAcknowledgedAsync(MqttPublishPacket packet, CancellationToken cancellationToken)
    {
        var flight = new OutgoingFlight(packet, this);
        lock (_lock)
        {
            if (_stopping)
            {
                return Task.FromException<MqttReasonCode>(new ObjectDisposedException(nameof(MqttClient)));
            }

            // Always through the queue, so a publish never overtakes an earlier one still waiting for the window.
            _waitingForWindow.Enqueue(flight);
            AdmitWaitingFlights();
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(flight, cancellationToken) : flight.Task;
    }

    private static async Task<MqttReasonCode> WaitCancellableAsync(OutgoingFlight flight, CancellationToken cancellationToken)
    {
        await using (cancellationToken.UnsafeRegister(static (state, token) => ((OutgoingFlight)state!).Client.CancelFlight((OutgoingFlight)state!, token), flight))
        {
            return await flight.Task;
        }
    }

    private void CancelFlight(OutgoingFlight flight, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Still waiting for the window: withdrawn, never sent. Admitted: the flight goes on, only the caller stops waiting.
            flight.Withdrawn = flight.Sequence == 0;
        }

        flight.TrySetCanceled(cancellationToken);
    }

    /// <summary>
    /// Moves waiting publishes into the in-flight window in call order: packet id, sequence for re-sending, and onto the
    /// current connection (without one, the next session restore sends them). Called under <see cref="_lock"/> whenever
    /// the window or the packet ids may have room: by the publisher, the reader on an acknowledgement, a new connection.
    /// </summary>
    private void AdmitWaitingFlights()
    {
        while (_inflightCount < _inflightLimit && _waitingForWindow.TryPeek(out var flight))
        {
            if (flight.Withdrawn)
            {
                _waitingForWindow.Dequeue();
                continue;
            }

            if (!_packetIds.TryAllocate(out var packetId))
            {
                // Every id is held by a request; the next release admits it.
                return;
            }

            _waitingForWindow.Dequeue();
            _inflightCount++;
            flight.Packet = flight.Packet with { PacketId = packetId };
            flight.Sequence = ++_flightSequence;
            _flights.Add(packetId, flight);
            if (_connection is { } connection)
            {
                flight.Sent = true;
                connection.Packets.Enqueue(flight.Packet);
            }
        }
    }

    private static void CheckServerLimits(ActiveConnection connection, MqttPublishPacket packet, int size)
    {
        if ((byte)packet.QoS > connection.MaximumQoS)
        {
            throw new MqttPublishException(MqttReasonCode.QoSNotSupported, $"The broker supports QoS up to {connection.MaximumQoS}.");
        }

        if (packet.Retain && !connection.RetainAvailable)
        {
            throw new MqttPublishException(MqttReasonCode.RetainNotSupported, "The broker does not support retained messages.");
        }

        if (connection.Packets.MaximumOutgoingPacketSize > 0 && size > connection.Packets.MaximumOutgoingPacketSize)
        {
            throw new MqttPublishException(MqttReasonCode.PacketTooLarge, $"The message exceeds the broker's maximum packet size of {connection.Packets.MaximumOutgoingPacketSize} bytes.");
        }
    }

    /// <summary>Subscribes with QoS <paramref name="qos"/> to one filter (plain, wildcard or <c>$share/group/filter</c>).</summary>
    public async Task<MqttReasonCode> SubscribeAsync(string filter, MqttQualityOfService qos, CancellationToken cancellationToken = default)
    {
        var codes = await SubscribeAsync([new MqttSubscription { Filter = filter, QoS = qos }], cancellationToken);
        return codes[0];
    }

    /// <summary>
    /// Subscribes and returns the broker's reason code per filter (granted QoS, or a failure ≥ 0x80). Granted
    /// subscriptions are restored automatically whenever a reconnect finds no session on the broker.
    /// </summary>
    public async Task<IReadOnlyList<MqttReasonCode>> SubscribeAsync(IReadOnlyList<MqttSubscription> subscriptions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        if (subscriptions.Count == 0)
        {
            throw new ArgumentException("At least one subscription is required.", nameof(subscriptions));
        }

        foreach (var subscription in subscriptions)
        {
            if (!MqttTopic.IsValidTopicFilter(subscription.Filter))
            {
                throw new ArgumentException($"'{subscription.Filter}' is not a valid topic filter.", nameof(subscriptions));
            }
        }

        MqttPacketEncoder.GetSize(new MqttSubscribePacket { PacketId = 1, Subscriptions = subscriptions }, _options.ProtocolVersion);
        var reply = await RequestAsync(id => new MqttSubscribePacket { PacketId = id, Subscriptions = subscriptions }, cancellationToken);
        var codes = reply is MqttSubAckPacket subAck && subAck.ReasonCodes.Count == subscriptions.Count
            ? subAck.ReasonCodes
            : throw new MqttProtocolException(MqttReasonCode.ProtocolError, "SUBACK does not match the SUBSCRIBE.");
        lock (_lock)
        {
            for (var i = 0; i < codes.Count; i++)
            {
                if (codes[i] <= MqttReasonCode.GrantedQoS2)
                {
                    _subscriptions[subscriptions[i].Filter] = subscriptions[i];
                }
            }
        }

        return codes;
    }

    /// <summary>Unsubscribes; the filters are no longer restored on reconnect.</summary>
    public async Task UnsubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filters);
        if (filters.Count == 0)
        {
            throw new ArgumentException("At least one filter is required.", nameof(filters));
        }

        lock (_lock)
        {
            foreach (var filter in filters)
            {
                _subscriptions.Remove(filter);
            }
        }

        await RequestAsync(id => new MqttUnsubscribePacket { PacketId = id, Filters = filters }, cancellationToken);
    }

    /// <summary>Sends a request (SUBSCRIBE/UNSUBSCRIBE) and waits for its reply, re-sending it after a reconnect.</summary>
    private async Task<MqttPacket> RequestAsync(Func<ushort, MqttPacket> create, CancellationToken cancellationToken)
    {
        while (true)
        {
            var connection = await GetConnectionAsync(cancellationToken);
            var id = _packetIds.Allocate();
            var reply = new TaskCompletionSource<MqttPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                _requests.Add(id, reply);
            }

            try
            {
                if (!connection.Packets.Enqueue(create(id)))
                {
                    continue;
                }

                return await reply.Task.WaitAsync(cancellationToken);
            }
            catch (MqttConnectionLostException) when (!_stopping)
            {
                // Sent on a connection that died before the reply; send it again on the next one.
            }
            finally
            {
                lock (_lock)
                {
                    _requests.Remove(id);
                    _packetIds.Release(id);
                    AdmitWaitingFlights();
                }
            }
        }
    }

    internal void Acknowledge(MqttReceivedMessage message)
    {
        // Only on the connection the message came in on: after a reconnect the broker redelivers it instead.
        if (message.Connection is not ActiveConnection connection || connection.Packets.Aborted.IsCancellationRequested)
        {
            return;
        }

        if (message.QoS == MqttQualityOfService.AtLeastOnce)
        {
            connection.Packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubAck, message.PacketId));
            return;
        }

        lock (_lock)
        {
            _qos2AwaitingRelease.Add(message.PacketId);
        }

        connection.Packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubRec, message.PacketId));
    }

    private async Task SuperviseAsync()
    {
        var attempt = 0;
        while (!_stopping)
        {
            SetState(MqttConnectionState.Connecting, null);
            Exception? error = null;
            try
            {
                await RunConnectionAsync(() => attempt = 0);
            }
            catch (MqttConnectException e) when (IsPermanent(e.ReasonCode))
            {
                Fault(e);
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                error = e;
            }

            OnConnectionLost(error);
            if (_stopping)
            {
                break;
            }

            SetState(MqttConnectionState.Disconnected, error);
            try
            {
                await Task.Delay(BackoffDelay(attempt++), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private TimeSpan BackoffDelay(int attempt)
    {
        // Exponential backoff with "equal jitter": half fixed, half random, capped.
        var exponential = _options.ReconnectMinimumDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        var capped = Math.Min(exponential, _options.ReconnectMaximumDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }

    private static bool IsPermanent(MqttReasonCode code) => code is MqttReasonCode.UnsupportedProtocolVersion
        or MqttReasonCode.ClientIdentifierNotValid or MqttReasonCode.BadUserNameOrPassword or MqttReasonCode.NotAuthorized
        or MqttReasonCode.Banned or MqttReasonCode.BadAuthenticationMethod or MqttReasonCode.MalformedPacket
        or MqttReasonCode.ProtocolError or MqttReasonCode.TopicNameInvalid or MqttReasonCode.PacketTooLarge
        or MqttReasonCode.QoSNotSupported or MqttReasonCode.RetainNotSupported or MqttReasonCode.PayloadFormatInvalid;

    private void Fault(MqttConnectException error)
    {
        LastError = error;
        lock (_lock)
        {
            _connectedSignal.TrySetException(error);
        }

        SetState(MqttConnectionState.Faulted, error);
    }

    private void OnConnectionLost(Exception? error)
    {
        if (error is not null)
        {
            LastError = error;
        }

        List<TaskCompletionSource<MqttPacket>> requests;
        lock (_lock)
        {
            _connection = null;
            if (_connectedSignal.Task.IsCompleted)
            {
                _connectedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            requests = [.. _requests.Values];
        }

        foreach (var request in requests)
        {
            request.TrySetException(new MqttConnectionLostException());
        }
    }

    private void SetState(MqttConnectionState state, Exception? error)
    {
        if (_state == state && error is null)
        {
            return;
        }

        _state = state;
        StateChanged?.Invoke(this, new MqttConnectionStateChangedEventArgs(state, error));
    }

    private async Task RunConnectionAsync(Action onConnected)
    {
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        connectTimeout.CancelAfter(_options.ConnectTimeout);
        var (packets, connAck) = await OpenAsync(connectTimeout.Token);
        await using var packetsScope = packets;
        var connection = new ActiveConnection(packets, connAck, _options);
        var sessionPresent = connAck.SessionPresent;
        _sessionStarted = true;
        if (connAck.Properties?.AssignedClientIdentifier is { } assigned)
        {
            lock (_lock)
            {
                _clientId = assigned;
            }
        }

        lock (_lock)
        {
            // The broker's Receive Maximum bounds the window; flights admitted now are sent by the session restore.
            _inflightLimit = Math.Min(_options.MaximumInflightPublishes, connection.ServerReceiveMaximum);
            AdmitWaitingFlights();
        }

        var writer = packets.RunWriterAsync();
        var reader = ReadLoopAsync(connection);
        var keepAlive = KeepAliveLoopAsync(connection);
        try
        {
            await RestoreSessionAsync(connection, sessionPresent, connectTimeout.Token);
            onConnected();
            SetState(MqttConnectionState.Connected, null);
            await reader;
        }
        catch (MqttProtocolException e)
        {
            await packets.CloseAsync(
                packets.Version == MqttProtocolVersion.V500 ? new MqttDisconnectPacket { ReasonCode = e.ReasonCode } : null,
                TimeSpan.FromSeconds(1));
            throw;
        }
        finally
        {
            packets.Abort();
            await Task.WhenAll(writer, keepAlive);
            await reader.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task<(MqttPacketConnection Packets, MqttConnAckPacket ConnAck)> OpenAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream stream;
        try
        {
            await socket.ConnectAsync(_options.Host, _options.EffectivePort, cancellationToken);
            stream = new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        try
        {
            if (_options.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                try
                {
                    await ssl.AuthenticateAsClientAsync(CreateSslOptions(tls), cancellationToken);
                }
                catch (AuthenticationException e)
                {
                    throw new MqttConnectException(MqttReasonCode.NotAuthorized, $"TLS handshake with {_options.Host}:{_options.EffectivePort} failed: {e.Message}", e);
                }
            }

            var packets = new MqttPacketConnection(stream, _options.MaximumPacketSize) { Version = _options.ProtocolVersion };
            try
            {
                await packets.SendDirectAsync(CreateConnectPacket(), cancellationToken);
                var reply = await packets.ReadAsync(cancellationToken)
                    ?? throw new MqttConnectionLostException("The broker closed the connection before CONNACK.");
                if (reply is not MqttConnAckPacket connAck)
                {
                    throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"Expected CONNACK, received {reply.Type}.");
                }

                if (connAck.ReasonCode != MqttReasonCode.Success)
                {
                    throw new MqttConnectException(connAck.ReasonCode, $"The broker refused the connection: {connAck.ReasonCode} {connAck.Properties?.ReasonString}".TrimEnd());
                }

                if (connAck.Properties?.MaximumPacketSize is { } maximum)
                {
                    packets.MaximumOutgoingPacketSize = (int)Math.Min(maximum, int.MaxValue);
                }

                return (packets, connAck);
            }
            catch
            {
                await packets.DisposeAsync();
                throw;
            }
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private SslClientAuthenticationOptions CreateSslOptions(MqttTlsOptions tls)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = tls.TargetHost ?? _options.Host,
            EnabledSslProtocols = tls.EnabledProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (_clientCertificate is not null)
        {
            options.ClientCertificates = [_clientCertificate];
        }

        if (_caCertificates is not null)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(_caCertificates);
            options.CertificateChainPolicy = policy;
        }

        return options;
    }

    private MqttConnectPacket CreateConnectPacket()
    {
        var v5 = _options.ProtocolVersion == MqttProtocolVersion.V500;
        bool cleanStart;
        if (v5)
        {
            // Reconnects resume whatever session the broker kept (none when the expiry is 0).
            cleanStart = !_sessionStarted && _options.CleanStart;
        }
        else
        {
            cleanStart = _sessionStarted ? _options.CleanStart && _options.SessionExpirySeconds == 0 : _options.CleanStart;
        }

        MqttProperties? properties = null;
        if (v5)
        {
            properties = new MqttProperties
            {
                SessionExpiryInterval = _options.SessionExpirySeconds == 0 ? null : _options.SessionExpirySeconds,
                ReceiveMaximum = _options.ReceiveMaximum,
                MaximumPacketSize = (uint)_options.MaximumPacketSize,
            };
            foreach (var property in _options.ConnectUserProperties)
            {
                properties.AddUserProperty(property.Name, property.Value);
            }
        }

        return new MqttConnectPacket
        {
            ProtocolVersion = _options.ProtocolVersion,
            ClientId = ClientId,
            CleanStart = cleanStart,
            KeepAliveSeconds = (ushort)_options.KeepAlive.TotalSeconds,
            Username = _options.Username,
            Password = EncodePassword(_options.Password),
            Will = _options.Will is { } will && !v5 ? will with { Properties = null } : _options.Will,
            Properties = properties,
        };
    }

    private static ReadOnlyMemory<byte>? EncodePassword(string? password)
    {
        // Not a conditional expression: null would convert to an empty, non-null memory through byte[].
        if (password is null)
        {
            return null;
        }

        return System.Text.Encoding.UTF8.GetBytes(password);
    }

    private async Task RestoreSessionAsync(ActiveConnection connection, bool sessionPresent, CancellationToken cancellationToken)
    {
        MqttSubscription[] subscriptions;
        lock (_lock)
        {
            if (!sessionPresent)
            {
                _qos2AwaitingRelease.Clear();
            }

            subscriptions = sessionPresent ? [] : [.. _subscriptions.Values];
        }

        if (subscriptions.Length > 0)
        {
            var id = _packetIds.Allocate();
            var reply = new TaskCompletionSource<MqttPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                _requests.Add(id, reply);
            }

            try
            {
                connection.Packets.Enqueue(new MqttSubscribePacket { PacketId = id, Subscriptions = subscriptions });
                var subAck = await reply.Task.WaitAsync(cancellationToken) as MqttSubAckPacket;
                lock (_lock)
                {
                    for (var i = 0; i < subscriptions.Length; i++)
                    {
                        if (subAck is null || i >= subAck.ReasonCodes.Count || subAck.ReasonCodes[i] > MqttReasonCode.GrantedQoS2)
                        {
                            _subscriptions.Remove(subscriptions[i].Filter);
                        }
                    }
                }
            }
            finally
            {
                lock (_lock)
                {
                    _requests.Remove(id);
                }

                _packetIds.Release(id);
            }
        }

        lock (_lock)
        {
            // Unacknowledged outgoing messages go out again in their original order [MQTT-4.4.0-1].
            foreach (var flight in _flights.Values.OrderBy(f => f.Sequence))
            {
                MqttPacket packet = flight.Released && sessionPresent
                    ? new MqttPublishAckPacket(MqttPacketType.PubRel, flight.Packet.PacketId)
                    : flight.Packet with { Dup = sessionPresent && flight.Sent };
                flight.Released &= sessionPresent;
                flight.Sent = true;
                connection.Packets.Enqueue(packet);
            }

            _connection = connection;
            _connectedSignal.TrySetResult();
        }
    }

    private async Task ReadLoopAsync(ActiveConnection connection)
    {
        var packets = connection.Packets;
        while (await packets.ReadAsync(packets.Aborted) is { } packet)
        {
            switch (packet)
            {
                case MqttPublishPacket publish:
                    await OnPublishAsync(connection, publish);
                    break;
                case MqttPublishAckPacket ack:
                    OnPublishAck(connection, ack);
                    break;
                case MqttSubAckPacket or MqttUnsubAckPacket:
                    var id = packet is MqttSubAckPacket s ? s.PacketId : ((MqttUnsubAckPacket)packet).PacketId;
                    TaskCompletionSource<MqttPacket>? request;
                    lock (_lock)
                    {
                        _requests.TryGetValue(id, out request);
                    }

                    request?.TrySetResult(packet);
                    break;
                case MqttPingRespPacket:
                    connection.PingSentAt = 0;
                    break;
                case MqttDisconnectPacket disconnect:
                    throw new MqttConnectionLostException($"The broker disconnected: {disconnect.ReasonCode} {disconnect.Properties?.ReasonString}".TrimEnd());
                default:
                    throw new MqttProtocolException(MqttReasonCode.ProtocolError, $"A broker must not send {packet.Type}.");
            }
        }

        throw new MqttConnectionLostException("The broker closed the connection.");
    }

    private async ValueTask OnPublishAsync(ActiveConnection connection, MqttPublishPacket publish)
    {
        if (publish.Properties?.TopicAlias is not null)
        {
            // We announce Topic Alias Maximum 0, so the broker must not use aliases.
            throw new MqttProtocolException(MqttReasonCode.TopicAliasInvalid, "The broker used a topic alias.");
        }

        if (publish.QoS == MqttQualityOfService.ExactlyOnce)
        {
            bool duplicate;
            lock (_lock)
            {
                duplicate = _qos2AwaitingRelease.Contains(publish.PacketId);
            }

            if (duplicate)
            {
                // Already handled and PUBREC sent: only repeat the PUBREC, never deliver twice.
                connection.Packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubRec, publish.PacketId));
                return;
            }
        }

        var message = new MqttReceivedMessage(publish, this, connection);
        if (!_received.Writer.TryWrite(message))
        {
            connection.ReaderBlocked = true;
            try
            {
                await _received.Writer.WriteAsync(message, connection.Packets.Aborted);
            }
            finally
            {
                connection.ReaderBlocked = false;
            }
        }
    }

    private void OnPublishAck(ActiveConnection connection, MqttPublishAckPacket ack)
    {
        if (ack.Type == MqttPacketType.PubRel)
        {
            bool known;
            lock (_lock)
            {
                known = _qos2AwaitingRelease.Remove(ack.PacketId);
            }

            connection.Packets.Enqueue(new MqttPublishAckPacket(MqttPacketType.PubComp, ack.PacketId,
                known ? MqttReasonCode.Success : MqttReasonCode.PacketIdentifierNotFound));
            return;
        }

        OutgoingFlight? flight;
        lock (_lock)
        {
            if (!_flights.TryGetValue(ack.PacketId, out flight))
            {
                return;
            }

            var expected = flight.Packet.QoS == MqttQualityOfService.AtLeastOnce ? MqttPacketType.PubAck
                : flight.Released ? MqttPacketType.PubComp : MqttPacketType.PubRec;
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

            _flights.Remove(ack.PacketId);
            _packetIds.Release(ack.PacketId);
            _inflightCount--;
            AdmitWaitingFlights();
        }

        if (ack.ReasonCode >= MqttReasonCode.UnspecifiedError)
        {
            flight.TrySetException(new MqttPublishException(ack.ReasonCode,
                $"The broker rejected the message to '{flight.Packet.Topic}': {ack.ReasonCode} {ack.Properties?.ReasonString}".TrimEnd()));
        }
        else
        {
            flight.TrySetResult(ack.ReasonCode);
        }
    }

    private static async Task KeepAliveLoopAsync(ActiveConnection connection)
    {
        var keepAliveMs = (long)connection.KeepAlive.TotalMilliseconds;
        if (keepAliveMs == 0)
        {
            return;
        }

        var packets = connection.Packets;
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(keepAliveMs / 4, 50, 1000));
        try
        {
            while (!packets.Aborted.IsCancellationRequested)
            {
                await Task.Delay(tick, packets.Aborted);
                var now = Environment.TickCount64;
                var pingSentAt = connection.PingSentAt;
                if (pingSentAt != 0)
                {
                    // A reader parked on a full receive buffer cannot see PINGRESP; that is not a dead broker.
                    if (!connection.ReaderBlocked && now - pingSentAt > keepAliveMs)
                    {
                        packets.Abort();
                    }
                }
                else if (now - packets.LastSentTimestamp >= keepAliveMs * 3 / 4)
                {
                    connection.PingSentAt = now;
                    packets.Enqueue(MqttPingReqPacket.Instance);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Connection over.
        }
    }

    /// <summary>
    /// Disconnects gracefully (DISCONNECT, so no will message) and stops reconnecting. Publishes still waiting for an
    /// acknowledgement fail with <see cref="MqttConnectionLostException"/>; the receive channel completes.
    /// </summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken = default)
    {
        ActiveConnection? connection;
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            connection = _connection;
        }

        if (connection is not null)
        {
            await connection.Packets.CloseAsync(new MqttDisconnectPacket(), TimeSpan.FromSeconds(2)).AsTask().WaitAsync(cancellationToken);
        }

        await _stop.CancelAsync();
        if (_supervisor is { } supervisor)
        {
            await supervisor.WaitAsync(cancellationToken);
        }

        List<OutgoingFlight> flights;
        lock (_lock)
        {
            flights = [.. _flights.Values, .. _waitingForWindow];
            _flights.Clear();
            _waitingForWindow.Clear();
            _connectedSignal.TrySetException(new ObjectDisposedException(nameof(MqttClient)));
        }

        foreach (var flight in flights)
        {
            flight.TrySetException(new MqttConnectionLostException("The client stopped before the broker acknowledged the message."));
        }

        _received.Writer.TryComplete();
        SetState(MqttConnectionState.Stopped, null);
    }

    public async ValueTask DisposeAsync()
    {
        await DisconnectAsync();
        _stop.Dispose();
    }

    /// <summary>One QoS 1/2 publish; it is its own completion (one allocation less per message). Mutable state is guarded by <see cref="_lock"/>.</summary>
    private sealed class OutgoingFlight(MqttPublishPacket packet, MqttClient client)
        : TaskCompletionSource<MqttReasonCode>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public MqttClient Client { get; } = client;

        /// <summary>Carries a placeholder id until the window admits the flight.</summary>
        public MqttPublishPacket Packet { get; set; } = packet;

        /// <summary>Admission order, the order of re-sending; 0 while waiting for the window.</summary>
        public long Sequence { get; set; }

        /// <summary>Cancelled while waiting for the window: skipped, never sent.</summary>
        public bool Withdrawn { get; set; }

        public bool Sent { get; set; }

        /// <summary>QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP.</summary>
        public bool Released { get; set; }
    }

    private sealed class ActiveConnection(MqttPacketConnection packets, MqttConnAckPacket connAck, MqttClientOptions options)
    {
        private long _pingSentAt;
        private volatile bool _readerBlocked;

        public MqttPacketConnection Packets { get; } = packets;

        public int ServerReceiveMaximum { get; } = connAck.Properties?.ReceiveMaximum ?? 65_535;

        public byte MaximumQoS { get; } = connAck.Properties?.MaximumQoS ?? 2;

        public bool RetainAvailable { get; } = connAck.Properties?.RetainAvailable ?? true;

        public TimeSpan KeepAlive { get; } = connAck.Properties?.ServerKeepAlive is { } serverKeepAlive
            ? TimeSpan.FromSeconds(serverKeepAlive)
            : options.KeepAlive;

        public long PingSentAt
        {
            get => Interlocked.Read(ref _pingSentAt);
            set => Interlocked.Exchange(ref _pingSentAt, value);
        }

        public bool ReaderBlocked
        {
            get => _readerBlocked;
            set => _readerBlocked = value;
        }
    }
}
