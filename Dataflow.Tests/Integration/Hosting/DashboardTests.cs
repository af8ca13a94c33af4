using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Dataflow.Hosting;
using Dataflow.Hosting.Dashboard.Otlp.Proto;
using Dataflow.Hosting.Testing;
using Google.Protobuf;

namespace Dataflow.Tests.Integration.Hosting;

[Trait("Category", "Integration")]
public sealed class DashboardTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(TestingApplication App, HttpClient Anonymous, HttpClient SignedIn)> StartAsync()
    {
        var builder = TestingBuilder.Create(o => o.DashboardEnabled = true);
        var secret = builder.AddParameter("api-key", secret: true, defaultValue: "very-secret-value");
        builder.AddExecutable("worker", "sleep", null, "600").WithEnvironment("API_KEY", secret).WithEnvironment("MODE", "fast");
        var app = await builder.BuildAsync();
        await app.StartAsync(Ct);
        await app.WaitForResourceHealthyAsync("worker", cancellationToken: Ct);
        var url = app.Application.DashboardUrl!;
        var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = url };
        var signedIn = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = url };
        using var login = await signedIn.GetAsync($"login?t={app.Application.DashboardToken}", Ct);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (app, anonymous, signedIn);
    }

    [Fact]
    public async Task Pages_and_apis_need_the_login_token()
    {
        var (app, anonymous, signedIn) = await StartAsync();
        await using var _ = app;
        using (anonymous)
        using (signedIn)
        {
            using var page = await anonymous.GetAsync("", Ct);
            using var api = await anonymous.GetAsync("api/resources", Ct);
            using var wrong = await anonymous.PostAsync("login", new FormUrlEncodedContent([new("token", "guess")]), Ct);

            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.Equal("/login", page.Headers.Location!.OriginalString);
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("Dataflow", await signedIn.GetStringAsync("", Ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_resource_api_shows_state_and_environment_with_secrets_masked()
    {
        var (app, anonymous, signedIn) = await StartAsync();
        await using var _ = app;
        using (anonymous)
        using (signedIn)
        {
            var resources = JsonDocument.Parse(await signedIn.GetStringAsync("api/resources", Ct)).RootElement;
            var worker = resources.EnumerateArray().Single(r => r.GetProperty("name").GetString() == "worker");
            var environment = worker.GetProperty("environment").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString());

            Assert.Equal("Running", worker.GetProperty("state").GetString());
            Assert.Equal("Healthy", worker.GetProperty("health").GetString());
            Assert.Equal("fast", environment["MODE"]);
            Assert.DoesNotContain("very-secret-value", environment["API_KEY"], StringComparison.Ordinal);

            using var restart = await signedIn.PostAsync("api/resources/worker/restart", null, Ct);
            Assert.Equal(HttpStatusCode.NoContent, restart.StatusCode);
            await app.WaitForResourceHealthyAsync("worker", cancellationToken: Ct);
            Assert.Contains("stopping", await signedIn.GetStringAsync("api/resources/worker/logs?after=0", Ct), StringComparison.Ordinal);
            using var unknown = await signedIn.PostAsync("api/resources/nope/restart", null, Ct);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
    }

    [Fact]
    public async Task Otlp_protobuf_traces_logs_and_metrics_are_ingested_and_queryable()
    {
        var (app, anonymous, signedIn) = await StartAsync();
        await using var _ = app;
        using (anonymous)
        using (signedIn)
        {
            var resource = new Resource { Attributes = { Attribute("service.name", "accounts"), Attribute("service.instance.id", "accounts-1") } };
            var traceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray());
            var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
            var traces = new ExportTraceServiceRequest
            {
                ResourceSpans =
                {
                    new ResourceSpans
                    {
                        Resource = resource,
                        ScopeSpans =
                        {
                            new ScopeSpans
                            {
                                Spans =
                                {
                                    Span(traceId, 1, null, "PUT /api/account/{id}", now, now + 5_000_000),
                                    Span(traceId, 2, 1, "INSERT events", now + 1_000_000, now + 3_000_000),
                                },
                            },
                        },
                    },
                },
            };
            var logs = new ExportLogsServiceRequest
            {
                ResourceLogs = { new ResourceLogs { Resource = resource, ScopeLogs = { new ScopeLogs { LogRecords =
                {
                    new LogRecord { TimeUnixNano = now, SeverityNumber = SeverityNumber.Warn, SeverityText = "Warning", Body = new AnyValue { StringValue = "Deposit conflicted, retrying" }, TraceId = traceId },
                } } } } },
            };
            var metrics = new ExportMetricsServiceRequest
            {
                ResourceMetrics = { new ResourceMetrics { Resource = resource, ScopeMetrics = { new ScopeMetrics { Metrics =
                {
                    new Metric { Name = "accounts.deposits", Unit = "{deposit}", Sum = new Sum { IsMonotonic = true, DataPoints = { new NumberDataPoint { TimeUnixNano = now, AsInt = 42 } } } },
                } } } } },
            };

            Assert.Equal(HttpStatusCode.OK, (await PostAsync(anonymous, "v1/traces", traces)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(anonymous, "v1/logs", logs)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(anonymous, "v1/metrics", metrics)).StatusCode);
            using var json = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await anonymous.PostAsync("v1/traces", json, Ct)).StatusCode);
            using var garbage = new ByteArrayContent([0xFF, 0xFF, 0xFF]);
            garbage.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            Assert.Equal(HttpStatusCode.BadRequest, (await anonymous.PostAsync("v1/traces", garbage, Ct)).StatusCode);

            var hex = Convert.ToHexStringLower(traceId.Span);
            var list = JsonDocument.Parse(await signedIn.GetStringAsync("api/traces?q=account", Ct)).RootElement;
            var trace = Assert.Single(list.EnumerateArray());
            Assert.Equal(hex, trace.GetProperty("traceId").GetString());
            Assert.Equal("accounts: PUT /api/account/{id}", trace.GetProperty("rootName").GetString());
            Assert.Equal(2, trace.GetProperty("spanCount").GetInt32());
            Assert.Equal(5.0, trace.GetProperty("durationMs").GetDouble(), 3);
            var spans = JsonDocument.Parse(await signedIn.GetStringAsync($"api/traces/{hex}", Ct)).RootElement;
            Assert.Equal(["PUT /api/account/{id}", "INSERT events"], spans.EnumerateArray().Select(s => s.GetProperty("name").GetString()));

            var found = JsonDocument.Parse(await signedIn.GetStringAsync("api/logs?q=conflicted&minSeverity=13", Ct)).RootElement;
            Assert.Equal("Deposit conflicted, retrying", Assert.Single(found.EnumerateArray()).GetProperty("body").GetString());
            Assert.Empty(JsonDocument.Parse(await signedIn.GetStringAsync("api/logs?q=conflicted&minSeverity=17", Ct)).RootElement.EnumerateArray());

            var points = JsonDocument.Parse(await signedIn.GetStringAsync("api/metrics/series?service=accounts&name=accounts.deposits", Ct)).RootElement;
            Assert.Equal(42, Assert.Single(points.EnumerateArray()).GetProperty("value").GetDouble());
        }
    }

    private static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static Span Span(ByteString traceId, byte id, byte? parent, string name, ulong start, ulong end) => new()
    {
        TraceId = traceId,
        SpanId = ByteString.CopyFrom([0, 0, 0, 0, 0, 0, 0, id]),
        ParentSpanId = parent is { } p ? ByteString.CopyFrom([0, 0, 0, 0, 0, 0, 0, p]) : ByteString.Empty,
        Name = name,
        Kind = Dataflow.Hosting.Dashboard.Otlp.Proto.Span.Types.SpanKind.Server,
        StartTimeUnixNano = start,
        EndTimeUnixNano = end,
    };

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, IMessage message)
    {
        using var content = new ByteArrayContent(message.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return await client.PostAsync(path, content, Ct);
    }
}
