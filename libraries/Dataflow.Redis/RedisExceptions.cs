namespace Dataflow.Redis;

/// <summary>Base type of every error this library raises for Redis operations.</summary>
public class RedisException : Exception
{
    public RedisException()
    {
    }

    public RedisException(string message)
        : base(message)
    {
    }

    public RedisException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The bytes received are not valid RESP2/RESP3; the connection that produced them is closed.</summary>
public sealed class RedisProtocolException : RedisException
{
    public RedisProtocolException()
    {
    }

    public RedisProtocolException(string message)
        : base(message)
    {
    }

    public RedisProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server answered with an error reply (for example <c>WRONGTYPE …</c> or <c>NOAUTH …</c>).</summary>
public sealed class RedisServerException : RedisException
{
    public RedisServerException()
    {
    }

    public RedisServerException(string message)
        : base(message)
    {
        var space = message.IndexOf(' ', StringComparison.Ordinal);
        var first = space < 0 ? message : message[..space];
        ErrorCode = first.Length > 0 && first.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_') ? first : "ERR";
    }

    public RedisServerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The error's leading upper-case word (<c>ERR</c>, <c>WRONGTYPE</c>, <c>NOAUTH</c>, <c>WRONGPASS</c>, …).</summary>
    public string ErrorCode { get; } = "ERR";
}

/// <summary>
/// The connection is not available or was lost. For a command that was already sent, the server may or may
/// not have executed it.
/// </summary>
public sealed class RedisConnectionException : RedisException
{
    public RedisConnectionException()
    {
    }

    public RedisConnectionException(string message)
        : base(message)
    {
    }

    public RedisConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A command got no reply within its timeout. The server may still execute it.</summary>
public sealed class RedisTimeoutException : RedisException
{
    public RedisTimeoutException()
    {
    }

    public RedisTimeoutException(string message)
        : base(message)
    {
    }

    public RedisTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
