using System.Net;
using Dataflow.Google.Core;

namespace Dataflow.Tests.Unit.Google;

[Trait("Category", "Unit")]
public sealed class GoogleApiExceptionTests
{
    [Fact]
    public void Google_json_error_is_parsed_into_code_status_message_and_details()
    {
        const string body = """
            {"error":{"code":404,"message":"Resource not found (resource=t1).","status":"NOT_FOUND",
              "details":[{"@type":"type.googleapis.com/google.rpc.ResourceInfo","resourceName":"projects/p/topics/t1"}]}}
            """;

        var error = GoogleApiException.Parse(HttpStatusCode.NotFound, body, "GET", new Uri("http://x/v1/projects/p/topics/t1"));

        Assert.Equal(HttpStatusCode.NotFound, error.HttpStatus);
        Assert.Equal(404, error.Code);
        Assert.Equal("NOT_FOUND", error.Status);
        Assert.Equal("Resource not found (resource=t1).", error.ErrorMessage);
        var detail = Assert.Single(error.Details);
        Assert.Equal("projects/p/topics/t1", detail.GetProperty("resourceName").GetString());
        Assert.Contains("GET http://x/v1/projects/p/topics/t1", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public void Legacy_errors_array_of_storage_and_bigquery_becomes_the_details()
    {
        const string body = """{"error":{"code":412,"message":"Precondition Failed","errors":[{"domain":"global","reason":"conditionNotMet","message":"Precondition Failed"}]}}""";

        var error = GoogleApiException.Parse(HttpStatusCode.PreconditionFailed, body);

        Assert.Equal("FAILED_PRECONDITION", error.Status);
        Assert.Equal("conditionNotMet", Assert.Single(error.Details).GetProperty("reason").GetString());
    }

    [Fact]
    public void Body_that_is_not_json_becomes_the_message_and_status_follows_http()
    {
        var error = GoogleApiException.Parse(HttpStatusCode.ServiceUnavailable, "upstream connect error");

        Assert.Equal("UNAVAILABLE", error.Status);
        Assert.Equal("upstream connect error", error.ErrorMessage);
        Assert.True(error.IsTransient);
    }

    [Fact]
    public void OAuth_string_error_keeps_its_description()
    {
        var error = GoogleApiException.Parse(HttpStatusCode.BadRequest, """{"error":"invalid_grant","error_description":"Bad Request"}""");

        Assert.Equal("invalid_grant: Bad Request", error.ErrorMessage);
        Assert.Equal("INVALID_ARGUMENT", error.Status);
    }

    [Theory]
    [InlineData(429, null, true)]
    [InlineData(500, null, true)]
    [InlineData(502, null, true)]
    [InlineData(503, null, true)]
    [InlineData(504, null, true)]
    [InlineData(400, "UNAVAILABLE", true)]
    [InlineData(409, "DEADLINE_EXCEEDED", true)]
    [InlineData(400, "INVALID_ARGUMENT", false)]
    [InlineData(404, null, false)]
    [InlineData(409, "ABORTED", false)]
    [InlineData(412, null, false)]
    public void Transient_classification_follows_http_status_and_google_status(int http, string? status, bool transient)
    {
        var body = status is null ? "" : $$$"""{"error":{"code":{{{http}}},"message":"m","status":"{{{status}}}"}}""";

        Assert.Equal(transient, GoogleApiException.Parse((HttpStatusCode)http, body).IsTransient);
    }
}
