using System.Globalization;
using Dataflow.Hosting.Processes;

namespace Dataflow.Testing.Servers;

/// <summary>A throwaway redis-server without persistence.</summary>
public sealed class RedisServer : ServerProcess
{
    private readonly IReadOnlyList<string> _extraArguments;

    private RedisServer(IReadOnlyList<string> extraArguments)
        : base("redis") => _extraArguments = extraArguments;

    /// <summary>StackExchange.Redis/Aspire-style connection string: <c>127.0.0.1:port</c>.</summary>
    public string ConnectionString => $"{Host}:{Port}";

    /// <param name="extraArguments">Extra redis-server arguments, e.g. <c>["--requirepass", "secret"]</c>.</param>
    public static Task<RedisServer> StartAsync(IReadOnlyList<string>? extraArguments = null, CancellationToken cancellationToken = default) =>
        StartAsync(new RedisServer(extraArguments ?? []), prepare: null, cancellationToken);

    protected override ChildProcessOptions CreateProcessOptions() =>
        new(ServerBinaries.RedisServer,
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", DataDirectory, .. _extraArguments,
        ])
        {
            DisplayName = "redis-server",
        };

    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        // +PONG, or -NOAUTH when a password is required: either way the server accepts commands (-LOADING does not).
        var reply = await Probes.TcpExchangeAsync(Host, Port, "PING\r\n", cancellationToken);
        return reply.StartsWith('+') || reply.StartsWith("-NOAUTH", StringComparison.Ordinal);
    }
}
