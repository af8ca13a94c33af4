using Dataflow.Hosting;
using Dataflow.Hosting.ApplicationModel;

namespace Dataflow.Tests.Unit.Hosting;

[Trait("Category", "Unit")]
public sealed class ApplicationModelTests
{
    [Theory]
    [InlineData("1redis")]
    [InlineData("re--dis")]
    [InlineData("redis-")]
    [InlineData("re_dis")]
    [InlineData("")]
    public void Invalid_resource_names_are_rejected_with_the_rule(string name)
    {
        var builder = DistributedApplication.CreateBuilder([]);

        var error = Assert.ThrowsAny<ArgumentException>(() => builder.AddRedis(name));
        Assert.Contains("name", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Two_resources_with_the_same_name_are_rejected()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        builder.AddRedis("cache");

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddMosquitto("Cache"));
        Assert.Contains("'Cache'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_resource_cannot_wait_for_itself()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var redis = builder.AddRedis("cache");

        Assert.Throws<InvalidOperationException>(() => redis.WaitFor(redis));
    }

    [Fact]
    public void WaitForCompletion_needs_a_process()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var parameter = builder.AddParameter("setting", defaultValue: "x");
        var job = builder.AddExecutable("job", "true");

        Assert.Throws<InvalidOperationException>(() => job.WaitForCompletion(parameter));
    }

    [Fact]
    public void An_unknown_publisher_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => DistributedApplication.CreateBuilder(["--publisher", "helm"]));
        Assert.Contains("manifest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_manifest_publisher_switches_the_builder_to_publish_mode()
    {
        var builder = DistributedApplication.CreateBuilder(["--publisher", "manifest", "--output-path", "out.json"]);

        Assert.Equal(ExecutionMode.Publish, builder.ExecutionMode);
        Assert.Equal("out.json", builder.Options.OutputPath);
    }

    [Fact]
    public async Task A_reference_expression_renders_both_its_value_and_its_manifest_expression()
    {
        var builder = DistributedApplication.CreateBuilder(["--Parameters:secret=s3cret"]);
        var secret = builder.AddParameter("secret", secret: true);
        var expression = ReferenceExpression.Create($"user=admin;password={secret.Resource};n={42}");

        Assert.Equal("user=admin;password={secret.value};n=42", expression.ValueExpression);
        Assert.Equal("user=admin;password=s3cret;n=42", await expression.GetValueAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Generated_secrets_use_the_requested_length_and_alphabet()
    {
        var value = new GenerateParameterDefault(MinLength: 30, Upper: false, Special: false).GenerateValue();

        Assert.Equal(30, value.Length);
        Assert.Matches("^[a-z0-9]+$", value);
    }

    [Fact]
    public void A_missing_binary_is_reported_with_the_package_to_install()
    {
        var builder = DistributedApplication.CreateBuilder([]);
        var tool = builder.AddResource(new ExecutableResource("tool", "dataflow-no-such-program") { Package = "dataflow-tools" });

        var backing = tool.Resource.ResolveBacking();

        Assert.False(backing.IsAvailable);
        Assert.Contains("apt-get install dataflow-tools", backing.Description, StringComparison.Ordinal);
    }
}
