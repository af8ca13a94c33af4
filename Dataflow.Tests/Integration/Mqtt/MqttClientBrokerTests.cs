using Dataflow.Mqtt.Broker;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Mqtt;

[Trait("Category", "Integration")]
public sealed class MqttClientMosquittoTests(SharedServers servers) : MqttClientContractTests
{
    protected override async Task<string> GetConnectionStringAsync() => (await servers.GetMosquittoAsync()).ConnectionString;
}

[Trait("Category", "Integration")]
public sealed class MqttClientEmbeddedBrokerTests : MqttClientContractTests, IAsyncLifetime
{
    private readonly MqttBroker _broker = new(new MqttBrokerOptions { Port = 0 });

    protected override Task<string> GetConnectionStringAsync() => Task.FromResult(_broker.ConnectionString);

    public async ValueTask InitializeAsync() => await _broker.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await _broker.DisposeAsync();
}
