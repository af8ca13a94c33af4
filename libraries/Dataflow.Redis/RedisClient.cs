using System.Diagnostics;
using Dataflow.Redis.Protocol;

namespace Dataflow.Redis;

/// <summary>When <c>SET</c> writes the value.</summary>
public enum RedisSetCondition
{
    /// <summary>Always.</summary>
    Always,

    /// <summary>Only if the key does not exist (<c>NX</c>).</summary>
    IfNotExists,

    /// <summary>Only if the key exists (<c>XX</c>).</summary>
    IfExists,
}

/// <summary>
/// Typed Redis commands over one multiplexed connection (or a small pool of them). Thread-safe; create one per
/// application and share it. <see cref="WithKeyPrefix"/> and <see cref="WithTimeout"/> return lightweight
/// views over the same connections; only the client returned by <c>ConnectAsync</c> owns (and disposes) them.
/// </summary>
public sealed class RedisClient : IAsyncDisposable
{
    // Commands that would change the state every caller of a multiplexed connection shares.
    private static readonly HashSet<string> ConnectionStateCommands = new(StringComparer.OrdinalIgnoreCase)
    {
        "SELECT", "AUTH", "HELLO", "QUIT", "RESET", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
        "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "SYNC", "PSYNC",
    };

    private readonly RedisConnection[] _connections;
    private readonly bool _ownsConnections;
    private readonly string? _prefix;
    private readonly TimeSpan _timeout;
    private readonly RoundRobin _next;

    private RedisClient(RedisConnection[] connections, bool ownsConnections, string? prefix, TimeSpan timeout, RoundRobin next)
    {
        _connections = connections;
        _ownsConnections = ownsConnections;
        _prefix = prefix;
        _timeout = timeout;
        _next = next;
    }

    /// <summary>The prefix put before every key of the typed commands ("" for none).</summary>
    public string KeyPrefix => _prefix ?? "";

    /// <summary>The timeout of each command issued through this client (view).</summary>
    public TimeSpan CommandTimeout => _timeout;

    /// <summary>True when at least one pooled connection is up.</summary>
    public bool IsConnected => Array.Exists(_connections, static c => c.IsConnected);

    /// <summary>The underlying multiplexed connections (one unless <c>poolSize</c> is set).</summary>
    public IReadOnlyList<RedisConnection> Connections => _connections;

    /// <summary>Connects using a StackExchange.Redis/Aspire connection string (<c>host:port,password=…,ssl=true,…</c>).</summary>
    public static Task<RedisClient> ConnectAsync(string connectionString, CancellationToken cancellationToken = default) =>
        ConnectAsync(RedisConnectionOptions.Parse(connectionString), cancellationToken);

    public static async Task<RedisClient> ConnectAsync(RedisConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var connections = new List<RedisConnection>(options.PoolSize);
        try
        {
            for (var i = 0; i < options.PoolSize; i++)
            {
                connections.Add(await RedisConnection.ConnectAsync(options, cancellationToken));
            }
        }
        catch
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
            throw;
        }
        return new RedisClient([.. connections], ownsConnections: true, prefix: null, options.CommandTimeout, new RoundRobin());
    }

    /// <summary>A view whose typed commands put <paramref name="prefix"/> before every key (nested views concatenate prefixes).</summary>
    public RedisClient WithKeyPrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return new(_connections, ownsConnections: false, _prefix + prefix, _timeout, _next);
    }

    /// <summary>A view whose commands use <paramref name="timeout"/> instead of the configured command timeout.</summary>
    public RedisClient WithTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return new(_connections, ownsConnections: false, _prefix, timeout, _next);
    }

    /// <summary>
    /// Sends any command (<paramref name="command"/> is one word such as <c>"GETRANGE"</c>; sub-commands go in
    /// <paramref name="arguments"/>). Keys are sent as given: the key prefix does not apply here. Commands that
    /// change the state of a shared connection (SELECT, AUTH, HELLO, MULTI, SUBSCRIBE, …) are refused.
    /// </summary>
    public Task<RespValue> ExecuteAsync(string command, IReadOnlyList<RedisArg> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        ArgumentNullException.ThrowIfNull(arguments);
        if (ConnectionStateCommands.Contains(command))
        {
            throw new ArgumentException($"'{command}' changes the state of the shared multiplexed connection and cannot be sent through it.", nameof(command));
        }
        // Copied: the caller may reuse its array before the command is written.
        return Execute(command, [.. arguments], cancellationToken);
    }

    /// <inheritdoc cref="ExecuteAsync(string, IReadOnlyList{RedisArg}, CancellationToken)"/>
    public Task<RespValue> ExecuteAsync(string command, params RedisArg[] arguments) =>
        ExecuteAsync(command, (IReadOnlyList<RedisArg>)arguments, CancellationToken.None);

    /// <summary>PING round-trip time; throws <see cref="RedisException"/> when Redis is unreachable. Suits a readiness check.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await Execute(Commands.Ping, [], static reply => reply.AsString() == "PONG" ? reply : throw new RedisProtocolException($"PING was answered with {reply}."), cancellationToken);
        return Stopwatch.GetElapsedTime(started);
    }

    public Task<string?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Execute(Commands.Get, [Key(key)], AsString, cancellationToken);

    public Task<ReadOnlyMemory<byte>?> GetBytesAsync(string key, CancellationToken cancellationToken = default) =>
        Execute(Commands.Get, [Key(key)], Bytes, cancellationToken);

    /// <summary>SET with optional expiry (EX, or PX when not whole seconds) and condition; false when the condition prevented the write.</summary>
    public Task<bool> SetAsync(string key, string value, TimeSpan? expiry = null, RedisSetCondition condition = RedisSetCondition.Always, CancellationToken cancellationToken = default) =>
        SetCoreAsync(key, RedisArg.FromString(value), expiry, condition, cancellationToken);

    /// <inheritdoc cref="SetAsync(string, string, TimeSpan?, RedisSetCondition, CancellationToken)"/>
    public Task<bool> SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? expiry = null, RedisSetCondition condition = RedisSetCondition.Always, CancellationToken cancellationToken = default) =>
        SetCoreAsync(key, RedisArg.FromBytes(value), expiry, condition, cancellationToken);

    public Task<string?[]> MGetAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        Execute(Commands.Mget, Keys(keys), static reply => reply.Items.Select(AsString).ToArray(), cancellationToken);

    public Task<ReadOnlyMemory<byte>?[]> MGetBytesAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        Execute(Commands.Mget, Keys(keys), static reply => reply.Items.Select(Bytes).ToArray(), cancellationToken);

    public Task MSetAsync(IEnumerable<KeyValuePair<string, string>> values, CancellationToken cancellationToken = default) =>
        MSetCoreAsync(values, static v => RedisArg.FromString(v), cancellationToken);

    public Task MSetAsync(IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> values, CancellationToken cancellationToken = default) =>
        MSetCoreAsync(values, static v => RedisArg.FromBytes(v), cancellationToken);

    /// <summary>DEL; the number of keys that existed.</summary>
    public Task<long> DelAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default) =>
        Execute(Commands.Del, Keys(keys), AsInt64, cancellationToken);

    /// <summary>DEL of one key; true when it existed.</summary>
    public Task<bool> DelAsync(string key, CancellationToken cancellationToken = default) =>
        Execute(Commands.Del, [Key(key)], IsOne, cancellationToken);

    /// <summary>EXPIRE (PEXPIRE when not whole seconds); false when the key does not exist.</summary>
    public Task<bool> ExpireAsync(string key, TimeSpan expiry, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(expiry, TimeSpan.Zero);
        return expiry.Ticks % TimeSpan.TicksPerSecond == 0
            ? Execute(Commands.Expire, [Key(key), (long)expiry.TotalSeconds], IsOne, cancellationToken)
            : Execute(Commands.Pexpire, [Key(key), (long)Math.Ceiling(expiry.TotalMilliseconds)], IsOne, cancellationToken);
    }

    /// <summary>Remaining time to live (PTTL, millisecond precision); null when the key does not exist or has no expiry.</summary>
    public Task<TimeSpan?> TtlAsync(string key, CancellationToken cancellationToken = default) =>
        Execute(Commands.Pttl, [Key(key)], static reply => reply.AsInt64() is var ms and >= 0 ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null, cancellationToken);

    /// <summary>INCR (INCRBY for other amounts); the new value.</summary>
    public Task<long> IncrAsync(string key, long by = 1, CancellationToken cancellationToken = default) =>
        by == 1
            ? Execute(Commands.Incr, [Key(key)], AsInt64, cancellationToken)
            : Execute(Commands.Incrby, [Key(key), by], AsInt64, cancellationToken);

    /// <summary>HSET of one field; true when the field is new.</summary>
    public Task<bool> HSetAsync(string key, string field, string value, CancellationToken cancellationToken = default) =>
        Execute(Commands.Hset, [Key(key), field, value], IsOne, cancellationToken);

    /// <inheritdoc cref="HSetAsync(string, string, string, CancellationToken)"/>
    public Task<bool> HSetAsync(string key, string field, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default) =>
        Execute(Commands.Hset, [Key(key), field, value], IsOne, cancellationToken);

    /// <summary>HSET of several fields; the number of new fields.</summary>
    public Task<long> HSetAsync(string key, IEnumerable<KeyValuePair<string, string>> fields, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var arguments = new List<RedisArg> { Key(key) };
        foreach (var (field, value) in fields)
        {
            arguments.Add(field);
            arguments.Add(value);
        }
        if (arguments.Count == 1)
        {
            throw new ArgumentException("HSET needs at least one field.", nameof(fields));
        }
        return Execute(Commands.Hset, [.. arguments], AsInt64, cancellationToken);
    }

    public Task<string?> HGetAsync(string key, string field, CancellationToken cancellationToken = default) =>
        Execute(Commands.Hget, [Key(key), field], AsString, cancellationToken);

    public Task<ReadOnlyMemory<byte>?> HGetBytesAsync(string key, string field, CancellationToken cancellationToken = default) =>
        Execute(Commands.Hget, [Key(key), field], Bytes, cancellationToken);

    /// <summary>HGETALL as a dictionary (empty when the key does not exist); works with RESP2 arrays and RESP3 maps.</summary>
    public Task<Dictionary<string, string>> HGetAllAsync(string key, CancellationToken cancellationToken = default) =>
        Execute(Commands.Hgetall, [Key(key)], ToDictionary, cancellationToken);

    /// <summary>HDEL; the number of fields removed.</summary>
    public Task<long> HDelAsync(string key, IReadOnlyList<string> fields, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Count == 0)
        {
            throw new ArgumentException("HDEL needs at least one field.", nameof(fields));
        }
        var arguments = new RedisArg[fields.Count + 1];
        arguments[0] = Key(key);
        for (var i = 0; i < fields.Count; i++)
        {
            arguments[i + 1] = fields[i];
        }
        return Execute(Commands.Hdel, arguments, AsInt64, cancellationToken);
    }

    /// <summary>HDEL of one field; true when it existed.</summary>
    public Task<bool> HDelAsync(string key, string field, CancellationToken cancellationToken = default) =>
        Execute(Commands.Hdel, [Key(key), field], IsOne, cancellationToken);

    private static Dictionary<string, string> ToDictionary(RespValue reply)
    {
        var items = reply.Items;
        if (items.Count % 2 != 0)
        {
            throw new RedisProtocolException("HGETALL returned an odd number of items.");
        }
        var result = new Dictionary<string, string>(items.Count / 2, StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i += 2)
        {
            result[items[i].AsString()!] = items[i + 1].AsString()!;
        }
        return result;
    }

    /// <summary>Closes the connections (views do nothing).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_ownsConnections)
        {
            return;
        }
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    private Task<bool> SetCoreAsync(string key, RedisArg value, TimeSpan? expiry, RedisSetCondition condition, CancellationToken cancellationToken)
    {
        var arguments = new RedisArg[2 + (expiry is null ? 0 : 2) + (condition == RedisSetCondition.Always ? 0 : 1)];
        arguments[0] = Key(key);
        arguments[1] = value;
        var next = 2;
        if (expiry is { } ttl)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero, nameof(expiry));
            if (ttl.Ticks % TimeSpan.TicksPerSecond == 0)
            {
                arguments[next++] = "EX";
                arguments[next++] = (long)ttl.TotalSeconds;
            }
            else
            {
                arguments[next++] = "PX";
                arguments[next++] = (long)Math.Ceiling(ttl.TotalMilliseconds);
            }
        }
        switch (condition)
        {
            case RedisSetCondition.IfNotExists:
                arguments[next] = "NX";
                break;
            case RedisSetCondition.IfExists:
                arguments[next] = "XX";
                break;
            case RedisSetCondition.Always:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(condition));
        }
        // "+OK" when written; a null reply when NX/XX prevented it.
        return Execute(Commands.Set, arguments, static reply => !reply.IsNull, cancellationToken);
    }

    private Task<RespValue> MSetCoreAsync<T>(IEnumerable<KeyValuePair<string, T>> values, Func<T, RedisArg> toArg, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        var arguments = new List<RedisArg>();
        foreach (var (key, value) in values)
        {
            arguments.Add(Key(key));
            arguments.Add(toArg(value));
        }
        if (arguments.Count == 0)
        {
            throw new ArgumentException("MSET needs at least one key.", nameof(values));
        }
        return Execute(Commands.Mset, [.. arguments], cancellationToken);
    }

    private RedisArg Key(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return RedisArg.Key(_prefix, key);
    }

    private RedisArg[] Keys(IReadOnlyList<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            throw new ArgumentException("At least one key is needed.", nameof(keys));
        }
        var arguments = new RedisArg[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            arguments[i] = Key(keys[i]);
        }
        return arguments;
    }

    private static ReadOnlyMemory<byte>? Bytes(RespValue reply) => reply.IsNull ? default(ReadOnlyMemory<byte>?) : reply.AsBytes();

    private static string? AsString(RespValue reply) => reply.AsString();

    private static long AsInt64(RespValue reply) => reply.AsInt64();

    private static bool IsOne(RespValue reply) => reply.AsInt64() == 1;

    private static RespValue Identity(RespValue reply) => reply;

    private Task<RespValue> Execute(RedisArg command, RedisArg[] arguments, CancellationToken cancellationToken) =>
        Pick().ExecuteAsync(command, arguments, _timeout, Identity, cancellationToken);

    private Task<T> Execute<T>(RedisArg command, RedisArg[] arguments, Func<RespValue, T> project, CancellationToken cancellationToken) =>
        Pick().ExecuteAsync(command, arguments, _timeout, project, cancellationToken);

    private RedisConnection Pick()
    {
        if (_connections.Length == 1)
        {
            return _connections[0];
        }
        var start = _next.Next(_connections.Length);
        for (var i = 0; i < _connections.Length; i++)
        {
            var candidate = _connections[(start + i) % _connections.Length];
            if (candidate.IsConnected)
            {
                return candidate;
            }
        }
        return _connections[start];
    }

    /// <summary>Shared between a client and its views so load spreads over the pool.</summary>
    private sealed class RoundRobin
    {
        private uint _counter;

        public int Next(int count) => (int)(Interlocked.Increment(ref _counter) % (uint)count);
    }

    /// <summary>Command names encoded once, so writing them is a copy.</summary>
    private static class Commands
    {
        public static readonly RedisArg Del = RedisArg.FromBytes("DEL"u8.ToArray());

        public static readonly RedisArg Expire = RedisArg.FromBytes("EXPIRE"u8.ToArray());

        public static readonly RedisArg Get = RedisArg.FromBytes("GET"u8.ToArray());

        public static readonly RedisArg Hdel = RedisArg.FromBytes("HDEL"u8.ToArray());

        public static readonly RedisArg Hget = RedisArg.FromBytes("HGET"u8.ToArray());

        public static readonly RedisArg Hgetall = RedisArg.FromBytes("HGETALL"u8.ToArray());

        public static readonly RedisArg Hset = RedisArg.FromBytes("HSET"u8.ToArray());

        public static readonly RedisArg Incr = RedisArg.FromBytes("INCR"u8.ToArray());

        public static readonly RedisArg Incrby = RedisArg.FromBytes("INCRBY"u8.ToArray());

        public static readonly RedisArg Mget = RedisArg.FromBytes("MGET"u8.ToArray());

        public static readonly RedisArg Mset = RedisArg.FromBytes("MSET"u8.ToArray());

        public static readonly RedisArg Pexpire = RedisArg.FromBytes("PEXPIRE"u8.ToArray());

        public static readonly RedisArg Ping = RedisArg.FromBytes("PING"u8.ToArray());

        public static readonly RedisArg Pttl = RedisArg.FromBytes("PTTL"u8.ToArray());

        public static readonly RedisArg Set = RedisArg.FromBytes("SET"u8.ToArray());
    }
}
