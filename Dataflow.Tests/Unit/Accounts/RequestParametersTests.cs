using Dataflow.Accounts.Api;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class RequestParametersTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("-7", -7L)]
    [InlineData("+7", 7L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Amounts_parse_as_signed_64_bit_integers(string text, long expected)
    {
        Assert.True(RequestParameters.TryAmount(text, "amount", out var value, out _));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData(null, "Missing parameter 'amount'.")]
    [InlineData("", "Missing parameter 'amount'.")]
    [InlineData("1.5", "Parameter 'amount' must be an integer amount in minor units; got '1.5'.")]
    [InlineData("abc", "Parameter 'amount' must be an integer amount in minor units; got 'abc'.")]
    [InlineData("1e3", "Parameter 'amount' must be an integer amount in minor units; got '1e3'.")]
    [InlineData("-", "Parameter 'amount' must be an integer amount in minor units; got '-'.")]
    [InlineData("9223372036854775808", "Parameter 'amount' is out of range: it must be between -9223372036854775808 and 9223372036854775807; got '9223372036854775808'.")]
    [InlineData("-99999999999999999999", "Parameter 'amount' is out of range: it must be between -9223372036854775808 and 9223372036854775807; got '-99999999999999999999'.")]
    public void Bad_amounts_are_refused_with_a_message_naming_the_parameter(string? text, string message)
    {
        Assert.False(RequestParameters.TryAmount(text, "amount", out _, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData(null, "Missing parameter 'transactionId'.")]
    [InlineData("not-a-uuid", "Parameter 'transactionId' must be a UUID; got 'not-a-uuid'.")]
    [InlineData("1234", "Parameter 'transactionId' must be a UUID; got '1234'.")]
    public void Bad_uuids_are_refused_with_a_message_naming_the_parameter(string? text, string message)
    {
        Assert.False(RequestParameters.TryGuid(text, "transactionId", out _, out var error));
        Assert.Equal(message, error);
    }
}
