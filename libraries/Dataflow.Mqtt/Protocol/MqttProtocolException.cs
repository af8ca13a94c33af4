namespace Dataflow.Mqtt.Protocol;

/// <summary>
/// A peer violated the MQTT protocol (malformed or truncated packet, forbidden flags, bad property...).
/// The connection that produced it is closed with <see cref="ReasonCode"/>.
/// </summary>
public sealed class MqttProtocolException : Exception
{
    public MqttProtocolException() : this(MqttReasonCode.ProtocolError, "MQTT protocol error.")
    {
    }

    public MqttProtocolException(string message) : this(MqttReasonCode.ProtocolError, message)
    {
    }

    public MqttProtocolException(string message, Exception innerException) : base(message, innerException)
    {
        ReasonCode = MqttReasonCode.ProtocolError;
    }

    public MqttProtocolException(MqttReasonCode reasonCode, string message) : base(message)
    {
        ReasonCode = reasonCode;
    }

    public MqttReasonCode ReasonCode { get; }

    internal static MqttProtocolException Malformed(string message) => new(MqttReasonCode.MalformedPacket, message);
}
