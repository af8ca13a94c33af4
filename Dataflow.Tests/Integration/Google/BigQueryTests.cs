using System.Net;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dataflow.Emulators;
using Dataflow.Google.BigQuery;
using Dataflow.Google.Core;
using GoogleApiException = Dataflow.Google.Core.GoogleApiException;

namespace Dataflow.Tests.Integration.Google;

/// <summary>The BigQuery client against the in-process BigQuery stand-in.</summary>
[Trait("Category", "Integration")]
public sealed class BigQueryTests : IAsyncLifetime
{
    private RunningEmulator? _emulator;
    private BigQueryClient _client = null!;
    private string _dataset = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record Uplink
    {
        [JsonPropertyName("device_id")]
        public required string DeviceId { get; init; }

        public long Sequence { get; init; }

        public double? Temperature { get; init; }

        public DateTimeOffset ReceivedAt { get; init; }

        public IReadOnlyList<string> Tags { get; init; } = [];

        public Position? Where { get; init; }
    }

    public sealed record Position(double Lat, double Lon);

    public async ValueTask InitializeAsync()
    {
        _emulator = await EmulatorHost.StartAsync(new EmulatorOptions(), Ct);
        _client = BigQueryClient.Create(
            new BigQueryOptions { ProjectId = GoogleTestClients.NewProjectId(), EmulatorHost = _emulator.HostPort },
            GoogleHttp.CreateHttpClient(TimeSpan.FromSeconds(60)));
        _dataset = "ds_" + Guid.NewGuid().ToString("N")[..8];
        await _client.CreateDatasetAsync(_dataset, new BigQueryDataset { Location = "EU", Description = "test" }, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    private static Uplink Row(int i) => new()
    {
        DeviceId = $"dev-{i % 3}",
        Sequence = i,
        Temperature = i % 5 == 0 ? null : 20 + (i / 10.0),
        ReceivedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_714_557_600_000 + i).AddTicks(10 * (i % 1000)),
        Tags = i % 2 == 0 ? ["even", $"t{i}"] : [],
        Where = new Position(50 + i, 10 - i),
    };

    [Fact]
    public async Task Table_with_record_and_repeated_fields_is_created_read_back_and_deleted_with_its_dataset()
    {
        var created = await _client.CreateTableAsync<Uplink>(_dataset, "uplinks", Ct);
        var table = await _client.GetTableAsync(_dataset, "uplinks", Ct);
        var dataset = await _client.GetDatasetAsync(_dataset, Ct);

        await _client.DeleteDatasetAsync(_dataset, deleteContents: true, Ct);
        var missing = await Assert.ThrowsAsync<GoogleApiException>(() => _client.GetTableAsync(_dataset, "uplinks", Ct));

        Assert.Equal(new BigQueryTableReference(_client.ProjectId, _dataset, "uplinks"), created.TableReference);
        Assert.Equal("test", dataset.Description);
        var where = table.Schema!.Fields.Single(f => f.Name == "Where");
        Assert.Equal("RECORD", where.Type);
        Assert.Equal(["Lat", "Lon"], where.Fields!.Select(f => f.Name));
        Assert.Equal("REPEATED", table.Schema.Fields.Single(f => f.Name == "Tags").Mode);
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatus);
    }

    [Fact]
    public async Task Inserted_rows_list_back_typed_across_pages()
    {
        await _client.CreateTableAsync<Uplink>(_dataset, "uplinks", Ct);
        var rows = Enumerable.Range(0, 25).Select(Row).ToList();

        var result = await _client.InsertRowsAsync(_dataset, "uplinks", rows, Ct);
        var schema = (await _client.GetTableAsync(_dataset, "uplinks", Ct)).Schema!;
        var firstPage = await _client.ListRowsPageAsync<Uplink>(_dataset, "uplinks", schema, 10, null, Ct);
        var all = new List<Uplink>();
        await foreach (var row in _client.ListRowsAsync<Uplink>(_dataset, "uplinks", pageSize: 10, Ct))
        {
            all.Add(row);
        }

        Assert.True(result.Succeeded);
        Assert.Equal(10, firstPage.Rows.Count);
        Assert.Equal(25, firstPage.TotalRows);
        Assert.NotNull(firstPage.PageToken);
        Assert.Equal(rows.Select(r => r with { Tags = [.. r.Tags] }).OrderBy(r => r.Sequence).Select(Describe), all.OrderBy(r => r.Sequence).Select(Describe));
    }

    private static string Describe(Uplink u) => $"{u.DeviceId}|{u.Sequence}|{u.Temperature}|{u.ReceivedAt:O}|{string.Join(",", u.Tags)}|{u.Where}";

    [Fact]
    public async Task Bad_row_is_reported_by_index_and_skip_invalid_rows_keeps_the_good_ones()
    {
        await _client.CreateTableAsync<Uplink>(_dataset, "uplinks", Ct);
        var good = BigQueryRows.ToJson(Row(1));
        var bad = BigQueryRows.ToJson(Row(2));
        bad["Sequence"] = "not a number";

        var strict = await _client.InsertRowsAsync(_dataset, "uplinks", new JsonObject[] { good, bad }, Ct);
        var countAfterStrict = await CountAsync();
        var lenient = await _client.InsertRowsAsync(_dataset, "uplinks", new JsonObject[] { good.DeepClone().AsObject(), bad.DeepClone().AsObject() }, Ct,
            new BigQueryInsertOptions { SkipInvalidRows = true });

        Assert.False(strict.Succeeded);
        Assert.Contains(strict.Errors, e => e.Index == 1 && e.Errors.Any(x => x.Reason == "invalid"));
        Assert.Equal(0, countAfterStrict);
        Assert.Equal(1, Assert.Single(lenient.Errors).Index);
        Assert.Equal(1, await CountAsync());
    }

    [Fact]
    public async Task Rows_resent_with_the_same_insert_id_are_stored_once()
    {
        await _client.CreateTableAsync<Uplink>(_dataset, "uplinks", Ct);
        var batch = Enumerable.Range(0, 5).Select(i => new BigQueryInsertRow<Uplink>(Row(i), $"msg-{i}")).ToList();

        await _client.InsertRowsAsync(_dataset, "uplinks", batch, null, Ct);
        await _client.InsertRowsAsync(_dataset, "uplinks", batch, null, Ct);

        Assert.Equal(5, await CountAsync());
    }

    [Fact]
    public async Task Query_returns_typed_rows_across_pages_and_aggregates()
    {
        await _client.CreateTableAsync<Uplink>(_dataset, "uplinks", Ct);
        await _client.InsertRowsAsync(_dataset, "uplinks", Enumerable.Range(0, 30).Select(Row), Ct);
        var table = $"`{_client.ProjectId}.{_dataset}.uplinks`";

        var selected = await _client.QueryAsync<Uplink>($"SELECT * FROM {table} WHERE Sequence >= 10 ORDER BY Sequence", Ct, new BigQueryQueryOptions { PageSize = 7 });
        var grouped = await _client.QueryAsync<DeviceCount>($"SELECT device_id, COUNT(*) AS n FROM {table} GROUP BY device_id ORDER BY device_id", Ct);
        var streamed = new List<Uplink>();
        await foreach (var row in _client.QueryRowsAsync<Uplink>($"SELECT * FROM {table} WHERE device_id = 'dev-0' ORDER BY Sequence", new BigQueryQueryOptions { PageSize = 3 }, Ct))
        {
            streamed.Add(row);
        }

        Assert.Equal(20, selected.TotalRows);
        Assert.Equal(Enumerable.Range(10, 20).Select(i => Describe(Row(i))), selected.Rows.Select(Describe));
        Assert.Equal([new DeviceCount("dev-0", 10), new DeviceCount("dev-1", 10), new DeviceCount("dev-2", 10)], grouped.Rows);
        Assert.Equal(Enumerable.Range(0, 30).Where(i => i % 3 == 0).Select(i => (long)i), streamed.Select(r => r.Sequence));
    }

    [Fact]
    public async Task Query_of_a_missing_table_fails_with_the_google_error()
    {
        var error = await Assert.ThrowsAsync<GoogleApiException>(() =>
            _client.QueryAsync<JsonObject>($"SELECT * FROM `{_client.ProjectId}.{_dataset}.nope`", Ct));

        Assert.Equal(HttpStatusCode.NotFound, error.HttpStatus);
    }

    public sealed record DeviceCount([property: JsonPropertyName("device_id")] string DeviceId, long N);

    private async Task<long> CountAsync()
    {
        var count = 0L;
        await foreach (var _ in _client.ListRowsAsync<JsonObject>(_dataset, "uplinks", cancellationToken: Ct))
        {
            count++;
        }

        return count;
    }
}
