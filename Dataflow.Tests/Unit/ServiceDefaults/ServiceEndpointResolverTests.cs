using Dataflow.ServiceDefaults.ServiceDiscovery;
using Microsoft.Extensions.Configuration;

namespace Dataflow.Tests.Unit.ServiceDefaults;

[Trait("Category", "Unit")]
public sealed class ServiceEndpointResolverTests
{
    private static ServiceEndpointResolver Resolver(params (string Key, string Value)[] settings) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build());

    [Fact]
    public void Http_service_name_resolves_to_the_http_endpoint_keeping_path_and_query()
    {
        var resolver = Resolver(("services:accounts:http:0", "http://127.0.0.1:5123"));

        Assert.Equal(new Uri("http://127.0.0.1:5123/api/account/1?x=2"), resolver.Resolve(new Uri("http://accounts/api/account/1?x=2")));
    }

    [Fact]
    public void Https_plus_http_prefers_https_when_the_service_has_it()
    {
        var resolver = Resolver(("services:accounts:http:0", "http://127.0.0.1:5123"), ("services:accounts:https:0", "https://127.0.0.1:5124"));

        Assert.Equal(new Uri("https://127.0.0.1:5124/ping"), resolver.Resolve(new Uri("https+http://accounts/ping")));
    }

    [Fact]
    public void Https_plus_http_falls_back_to_http()
    {
        var resolver = Resolver(("services:accounts:http:0", "http://127.0.0.1:5123"));

        Assert.Equal(new Uri("http://127.0.0.1:5123/ping"), resolver.Resolve(new Uri("https+http://accounts/ping")));
    }

    [Fact]
    public void Underscore_prefix_selects_a_named_endpoint()
    {
        var resolver = Resolver(("services:accounts:http:0", "http://127.0.0.1:5123"), ("services:accounts:admin:0", "http://127.0.0.1:9000"));

        Assert.Equal(new Uri("http://127.0.0.1:9000/stats"), resolver.Resolve(new Uri("http://_admin.accounts/stats")));
    }

    [Fact]
    public void Host_that_is_not_a_configured_service_is_left_alone()
    {
        var resolver = Resolver(("services:accounts:http:0", "http://127.0.0.1:5123"));

        Assert.Equal(new Uri("https://pubsub.googleapis.com/v1/x"), resolver.Resolve(new Uri("https://pubsub.googleapis.com/v1/x")));
    }

    [Fact]
    public void Service_without_an_endpoint_for_the_scheme_fails_naming_the_variable()
    {
        var resolver = Resolver(("services:accounts:http:0", "http://127.0.0.1:5123"));

        var error = Assert.Throws<InvalidOperationException>(() => resolver.Resolve(new Uri("https://accounts/ping")));
        Assert.Contains("services__accounts__https__0", error.Message);
    }
}
