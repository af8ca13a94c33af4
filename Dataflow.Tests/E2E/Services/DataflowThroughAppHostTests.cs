using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Dataflow.Hosting;
using Dataflow.Hosting.Testing;
using Dataflow.Mqtt.Client;
using Dataflow.Mqtt.Protocol;

namespace Dataflow.Tests.E2E.Services;

/// <summary>
/// Spec §7 fan-out through the real AppHost topology (Dataflow.AppHost/DataflowServices.cs): MQTT telemetry →
/// ingestion → enrich → bigqueries → BigQuery stand-in, and ingestion → icestore → Cloud Storage stand-in. Every run has
/// its own processes, GCP project id and bucket (run-id suffixed); disposing the app tears everything down.
/// </summary>
[Trait("Category", "E2E")]
public sealed class DataflowThroughAppHostTests
{
    private const int MessagesPerDevice = 5;
    private static readonly string[] Devices = ["dev-1", "dev-2", "dev-3", "dev-unknown"];
    private static readonly TimeSpan SinkTimeout = TimeSpan.FromMinutes(2);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Qos1_telemetry_ends_up_enriched_in_BigQuery_and_archived_in_Cloud_Storage_exactly_once_each()
    {
        await using var app = await TestingBuilder.CreateAsync<Projects.Dataflow_AppHost>(configure: o =>
        {
            o.Log = line => TestContext.Current.TestOutputHelper?.WriteLine(line);
            o.DefaultWaitTimeout = TimeSpan.FromMinutes(6);
        }, cancellationToken: Ct);
        await app.StartAsync(Ct);
        foreach (var service in new[] { "ingestion", "enrich", "icestore", "bigqueries" })
        {
            await app.WaitForResourceHealthyAsync(service, cancellationToken: Ct);
        }
        var seeded = ((FirestoreDocumentsResource)app.Model.Find("devices-seed")).Documents;
        Assert.Contains("dev-1", seeded.Keys);
        Assert.DoesNotContain("dev-unknown", seeded.Keys);

        var sent = await PublishTelemetryAsync(await app.GetConnectionStringAsync("mqtt", Ct));

        using var standIns = app.CreateHttpClient("gcp-standins");
        var project = EnvironmentOf(app, "bigqueries", "GOOGLE_CLOUD_PROJECT");
        Assert.EndsWith(app.RunId, project, StringComparison.Ordinal);
        var rows = await PollAsync(() => ReadRowsAsync(standIns, project), r => r.Count >= sent.Count, "BigQuery rows");
        Assert.Equal(sent.Count, rows.Count);
        Assert.Equal(sent.Keys.Order(), rows.Select(r => Key(r["device_id"]!, r["value"]!)).Order());
        foreach (var row in rows)
        {
            var device = row["device_id"]!;
            Assert.Equal($"devices/{device}/telemetry", row["mqtt_topic"]);
            if (seeded.TryGetValue(device, out var document))
            {
                Assert.Equal(document["ClientID"], row["name"]);
                Assert.Equal(document["LocationID"], row["location"]);
                Assert.Equal(document["Category"], row["service_tag"]);
            }
            else
            {
                Assert.Null(row["name"]);
            }
        }

        var bucket = EnvironmentOf(app, "icestore", "IceStore__Bucket");
        Assert.EndsWith(app.RunId, bucket, StringComparison.Ordinal);
        var lines = await PollAsync(() => ReadArchiveLinesAsync(standIns, bucket), l => l.Count >= sent.Count, "archived lines");
        Assert.Equal(sent.Count, lines.Count);
        Assert.Equal(sent.Keys.Order(), lines.Select(ArchivedReadingKey).Order());
    }

    /// <summary>QoS 1 readings <c>{"device_id","timestamp","value"}</c>; each counts once the broker acknowledged it. Keyed by device and value.</summary>
    private static async Task<Dictionary<string, string>> PublishTelemetryAsync(string connectionString)
    {
        var sent = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var device = new MqttClient(MqttClientOptions.Parse(connectionString));
        await device.ConnectAsync(Ct);
        for (var i = 0; i < MessagesPerDevice; i++)
        {
            foreach (var id in Devices)
            {
                var value = $"{i}.{Array.IndexOf(Devices, id)}";
                var payload = $$"""{"device_id":"{{id}}","timestamp":"{{DateTimeOffset.UtcNow:O}}","value":{{value}}}""";
                var reason = await device.PublishAsync(new MqttApplicationMessage
                {
                    Topic = $"devices/{id}/telemetry",
                    Payload = Encoding.UTF8.GetBytes(payload),
                    QoS = MqttQualityOfService.AtLeastOnce,
                }, Ct);
                Assert.True((byte)reason < 0x80, $"the broker refused a reading: {reason}");
                sent.Add(Key(id, value), payload);
            }
        }
        await device.DisconnectAsync(Ct);
        return sent;
    }

    private static string Key(string device, string value) => $"{device}={double.Parse(value, System.Globalization.CultureInfo.InvariantCulture):0.0}";

    private static string EnvironmentOf(TestingApplication app, string resource, string variable) =>
        app.GetResources().Single(r => r.Name == resource).Environment.Single(e => e.Name == variable).Value;

    /// <summary>Every row of telemetry.readings, by column name (tabledata.list, paged).</summary>
    private static async Task<List<Dictionary<string, string?>>> ReadRowsAsync(HttpClient standIns, string project)
    {
        var table = $"bigquery/v2/projects/{project}/datasets/telemetry/tables/readings";
        using var schema = JsonDocument.Parse(await standIns.GetStringAsync(table, Ct));
        var columns = schema.RootElement.GetProperty("schema").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToList();
        var rows = new List<Dictionary<string, string?>>();
        string? pageToken = null;
        do
        {
            using var page = JsonDocument.Parse(await standIns.GetStringAsync($"{table}/data{(pageToken is null ? "" : $"?pageToken={Uri.EscapeDataString(pageToken)}")}", Ct));
            if (page.RootElement.TryGetProperty("rows", out var items))
            {
                rows.AddRange(items.EnumerateArray().Select(row => row.GetProperty("f").EnumerateArray()
                    .Select((cell, i) => (columns[i], cell.GetProperty("v")))
                    .ToDictionary(c => c.Item1, c => c.Item2.ValueKind == JsonValueKind.Null ? null : c.Item2.GetString(), StringComparer.Ordinal)));
            }
            pageToken = page.RootElement.TryGetProperty("pageToken", out var token) ? token.GetString() : null;
        }
        while (pageToken is not null);
        return rows;
    }

    /// <summary>Every JSON line of every gzip object in the bucket (objects.list, then each object's media).</summary>
    private static async Task<List<JsonElement>> ReadArchiveLinesAsync(HttpClient standIns, string bucket)
    {
        using var listing = await standIns.GetAsync($"storage/v1/b/{bucket}/o", Ct);
        if (listing.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return [];
        }
        listing.EnsureSuccessStatusCode();
        using var objects = JsonDocument.Parse(await listing.Content.ReadAsStringAsync(Ct));
        var lines = new List<JsonElement>();
        if (!objects.RootElement.TryGetProperty("items", out var items))
        {
            return lines;
        }
        foreach (var item in items.EnumerateArray())
        {
            Assert.Equal("application/gzip", item.GetProperty("contentType").GetString());
            Assert.EndsWith(".jsonl.gz", item.GetProperty("name").GetString(), StringComparison.Ordinal);
            await using var media = await standIns.GetStreamAsync(
                $"download/storage/v1/b/{bucket}/o/{Uri.EscapeDataString(item.GetProperty("name").GetString()!)}?alt=media", Ct);
            await using var gunzip = new GZipStream(media, CompressionMode.Decompress);
            using var reader = new StreamReader(gunzip, Encoding.UTF8);
            while (await reader.ReadLineAsync(Ct) is { } line)
            {
                lines.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }
        return lines;
    }

    /// <summary>The device reading inside an archived line: originalPubSubPayload → envelope → payload.</summary>
    private static string ArchivedReadingKey(JsonElement line)
    {
        using var envelope = JsonDocument.Parse(line.GetProperty("originalPubSubPayload").GetBytesFromBase64());
        using var reading = JsonDocument.Parse(envelope.RootElement.GetProperty("payload").GetBytesFromBase64());
        return Key(reading.RootElement.GetProperty("device_id").GetString()!, reading.RootElement.GetProperty("value").GetRawText());
    }

    /// <summary>Reads until <paramref name="done"/> holds or <see cref="SinkTimeout"/> passes; a timeout reports the last read.</summary>
    private static async Task<List<T>> PollAsync<T>(Func<Task<List<T>>> read, Func<List<T>, bool> done, string what)
    {
        var deadline = DateTimeOffset.UtcNow + SinkTimeout;
        while (true)
        {
            var current = await read();
            if (done(current))
            {
                return current;
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                Assert.Fail($"{what}: {current.Count} after {SinkTimeout.TotalSeconds:0} s, fewer than expected.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), Ct);
        }
    }
}
