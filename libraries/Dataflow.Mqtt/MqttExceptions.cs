using Dataflow.Mqtt.Protocol;

namespace Dataflow.Mqtt;

/// <summary>The connection to the peer was lost before the operation completed.</summary>
public sealed class MqttConnectionLostException : Exception
{
    public MqttConnectionLostException() : base("The MQTT connection was lost.")
    {
    }

    public MqttConnectionLostException(string message) : base(message)
    {
    }

    public MqttConnectionLostException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>The broker refused the connection (CONNACK reason code) or the connection setup cannot succeed (TLS).</summary>
public sealed class MqttConnectException : Exception
{
    public MqttConnectException() : this(MqttReasonCode.UnspecifiedError, "The MQTT connection was refused.")
    {
    }

    public MqttConnectException(string message) : this(MqttReasonCode.UnspecifiedError, message)
    {
    }

    public MqttConnectException(string message, Exception innerException) : base(message, innerException)
    {
        ReasonCode = MqttReasonCode.UnspecifiedError;
    }

    public MqttConnectException(MqttReasonCode reasonCode, string message, Exception? innerException = null) : base(message, innerException)
    {
        ReasonCode = reasonCode;
    }

    public MqttReasonCode ReasonCode { get; }
}

/// <summary>The broker answered a QoS 1/2 PUBLISH with a failure reason code (MQTT 5.0).</summary>
public sealed class MqttPublishException : Exception
{
    public MqttPublishException() : this(MqttReasonCode.UnspecifiedError, "The broker rejected the message.")
    {
    }

    public MqttPublishException(string message) : this(MqttReasonCode.UnspecifiedError, message)
    {
    }

    public MqttPublishException(string message, Exception innerException) : base(message, innerException)
    {
        ReasonCode = MqttReasonCode.UnspecifiedError;
    }

    public MqttPublishException(MqttReasonCode reasonCode, string message) : base(message)
    {
        ReasonCode = reasonCode;
    }

    public MqttReasonCode ReasonCode { get; }
}
