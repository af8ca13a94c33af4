using Dataflow.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(SharedServers))]

namespace Dataflow.Tests.Infrastructure;

/// <summary>
/// One instance per test run of each server that supports isolation (a database, a key or topic prefix, a
/// project id per test), started on first use and torn down when the run ends. Take it as a constructor
/// parameter of a test class. Tests that stop or kill a server start a private one instead.
/// </summary>
public sealed class SharedServers : IAsyncDisposable
{
    private readonly Shared<PostgresServer> _postgres = new(ct => PostgresServer.StartAsync(cancellationToken: ct));
    private readonly Shared<MariaDbServer> _mariaDb = new(ct => MariaDbServer.StartAsync(cancellationToken: ct));
    private readonly Shared<RedisServer> _redis = new(ct => RedisServer.StartAsync(cancellationToken: ct));
    private readonly Shared<MosquittoServer> _mosquitto = new(ct => MosquittoServer.StartAsync(cancellationToken: ct));
    private readonly Shared<PubSubEmulator> _pubSub = new(PubSubEmulator.StartAsync);
    private readonly Shared<FirestoreEmulator> _firestore = new(FirestoreEmulator.StartAsync);

    public Task<PostgresServer> GetPostgresAsync() => _postgres.GetAsync();

    public Task<MariaDbServer> GetMariaDbAsync() => _mariaDb.GetAsync();

    public Task<RedisServer> GetRedisAsync() => _redis.GetAsync();

    public Task<MosquittoServer> GetMosquittoAsync() => _mosquitto.GetAsync();

    public Task<PubSubEmulator> GetPubSubAsync() => _pubSub.GetAsync();

    public Task<FirestoreEmulator> GetFirestoreAsync() => _firestore.GetAsync();

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(
            _postgres.DisposeAsync().AsTask(), _mariaDb.DisposeAsync().AsTask(), _redis.DisposeAsync().AsTask(),
            _mosquitto.DisposeAsync().AsTask(), _pubSub.DisposeAsync().AsTask(), _firestore.DisposeAsync().AsTask());
    }

    /// <summary>Starts a server once, on first use; a failed start is remembered so every user sees the reason.</summary>
    private sealed class Shared<T>(Func<CancellationToken, Task<T>> start) : IAsyncDisposable
        where T : ServerProcess
    {
        private readonly Lazy<Task<T>> _server = new(() => start(CancellationToken.None));

        public Task<T> GetAsync() => _server.Value;

        public async ValueTask DisposeAsync()
        {
            if (_server.IsValueCreated && _server.Value.IsCompletedSuccessfully)
            {
                await _server.Value.Result.DisposeAsync();
            }
        }
    }
}
