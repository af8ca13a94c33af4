namespace Dataflow.Redis.Protocol;

/// <summary>The RESP2/RESP3 value types. RESP2's null bulk string and null array are read as <see cref="Null"/>.</summary>
public enum RespType
{
    /// <summary><c>+</c></summary>
    SimpleString,

    /// <summary><c>-</c></summary>
    SimpleError,

    /// <summary><c>:</c></summary>
    Integer,

    /// <summary><c>$</c> (also RESP3 streamed strings, <c>$?</c>)</summary>
    BulkString,

    /// <summary><c>*</c></summary>
    Array,

    /// <summary><c>_</c>, RESP2 <c>$-1</c> and <c>*-1</c></summary>
    Null,

    /// <summary><c>#</c></summary>
    Boolean,

    /// <summary><c>,</c></summary>
    Double,

    /// <summary><c>(</c></summary>
    BigNumber,

    /// <summary><c>!</c></summary>
    BulkError,

    /// <summary><c>=</c></summary>
    VerbatimString,

    /// <summary><c>%</c></summary>
    Map,

    /// <summary><c>~</c></summary>
    Set,

    /// <summary><c>></c></summary>
    Push,
}
