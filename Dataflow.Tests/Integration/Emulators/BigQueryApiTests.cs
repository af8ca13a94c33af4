using System.Net;
using System.Text.Json.Nodes;
using Dataflow.Emulators;

namespace Dataflow.Tests.Integration.Emulators;

[Trait("Category", "Integration")]
public sealed class BigQueryApiTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private const string Project = "bq-proj";
    private const string Root = $"/bigquery/v2/projects/{Project}";
    private readonly HttpClient _http = fixture.Http;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly JsonArray Schema = (JsonArray)JsonNode.Parse("""
        [
          {"name":"name","type":"STRING","mode":"REQUIRED"},
          {"name":"score","type":"INT64"},
          {"name":"ratio","type":"FLOAT64"},
          {"name":"seen","type":"TIMESTAMP"},
          {"name":"tags","type":"STRING","mode":"REPEATED"},
          {"name":"address","type":"STRUCT","fields":[{"name":"city","type":"STRING"},{"name":"lines","type":"STRING","mode":"REPEATED"}]},
          {"name":"visits","type":"RECORD","mode":"REPEATED","fields":[{"name":"day","type":"DATE"}]}
        ]
        """)!;

    [Fact]
    public async Task Dataset_insert_get_list_and_delete_with_and_without_contents()
    {
        var dataset = NewId("ds");
        var created = await (await _http.PostJsonAsync($"{Root}/datasets", new { datasetReference = new { projectId = Project, datasetId = dataset }, location = "EU" })).JsonAsync();
        Assert.Equal($"{Project}:{dataset}", (string?)created["id"]);
        Assert.Equal("EU", (string?)created["location"]);
        await (await _http.GetAsync($"{Root}/datasets/{dataset}", Ct)).JsonAsync();
        var list = await (await _http.GetAsync($"{Root}/datasets", Ct)).JsonAsync();
        Assert.Contains(dataset, list["datasets"]!.AsArray().Select(d => (string?)d!["datasetReference"]!["datasetId"]));

        var (duplicate, _) = await (await _http.PostJsonAsync($"{Root}/datasets", new { datasetReference = new { datasetId = dataset } })).GoogleErrorAsync(HttpStatusCode.Conflict);
        Assert.Equal("duplicate", duplicate);

        await CreateTableAsync(dataset, "t1");
        var (inUse, _) = await (await _http.DeleteAsync($"{Root}/datasets/{dataset}", Ct)).GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("resourceInUse", inUse);
        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync($"{Root}/datasets/{dataset}?deleteContents=true", Ct)).StatusCode);
        var (notFound, message) = await (await _http.GetAsync($"{Root}/datasets/{dataset}", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("notFound", notFound);
        Assert.Equal($"Not found: Dataset {Project}:{dataset}", message);
    }

    [Fact]
    public async Task Table_with_record_and_repeated_fields_reports_its_canonical_schema_and_row_count()
    {
        var dataset = await CreateDatasetAsync();
        await CreateTableAsync(dataset, "people");

        await InsertAsync(dataset, "people", Row("ada"), Row("grace"));
        var table = await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/people", Ct)).JsonAsync();

        Assert.Equal("2", (string?)table["numRows"]);
        var fields = table["schema"]!["fields"]!.AsArray();
        Assert.Equal(["STRING", "INTEGER", "FLOAT", "TIMESTAMP", "STRING", "RECORD", "RECORD"], fields.Select(f => (string?)f!["type"]));
        Assert.Equal(["REQUIRED", "NULLABLE", "NULLABLE", "NULLABLE", "REPEATED", "NULLABLE", "REPEATED"], fields.Select(f => (string?)f!["mode"]));
        Assert.Equal("REPEATED", (string?)fields[5]!["fields"]![1]!["mode"]);
        var tables = await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables", Ct)).JsonAsync();
        Assert.Equal(1, (int)tables["totalItems"]!);
        var (duplicate, _) = await (await CreateTableRawAsync(dataset, "people", Schema)).GoogleErrorAsync(HttpStatusCode.Conflict);
        Assert.Equal("duplicate", duplicate);
        var (invalid, _) = await (await CreateTableRawAsync(dataset, "bad", JsonNode.Parse("""[{"name":"x","type":"RECORD"}]""")!.AsArray())).GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid", invalid);
        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync($"{Root}/datasets/{dataset}/tables/people", Ct)).StatusCode);
        await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/people", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task InsertAll_deduplicates_by_insertId_within_the_window()
    {
        var dataset = await CreateDatasetAsync();
        await CreateTableAsync(dataset, "t");

        await InsertAsync(dataset, "t", ("id-1", Row("a")), ("id-2", Row("b")));
        await InsertAsync(dataset, "t", ("id-1", Row("a")), ("id-3", Row("c")));
        await InsertAsync(dataset, "t", (null, Row("d")), (null, Row("d")));

        var data = await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/t/data", Ct)).JsonAsync();
        Assert.Equal("5", (string?)data["totalRows"]);
        Assert.Equal(["a", "b", "c", "d", "d"], data["rows"]!.AsArray().Select(r => (string?)r!["f"]![0]!["v"]));
    }

    [Fact]
    public async Task InsertAll_reports_invalid_rows_per_row_and_stops_the_others_unless_skipInvalidRows()
    {
        var dataset = await CreateDatasetAsync();
        await CreateTableAsync(dataset, "t");
        JsonObject[] rows = [Row("ok"), new JsonObject { ["score"] = 1 }, new JsonObject { ["name"] = "x", ["score"] = "abc", ["nope"] = 1 }];

        var stopped = await InsertRawAsync(dataset, "t", rows, skipInvalidRows: false, ignoreUnknownValues: false);
        var errors = stopped["insertErrors"]!.AsArray();
        Assert.Equal([0, 1, 2], errors.Select(e => (int)e!["index"]!));
        Assert.Equal("stopped", (string?)errors[0]!["errors"]![0]!["reason"]);
        Assert.Equal("name", (string?)errors[1]!["errors"]![0]!["location"]);
        Assert.Equal(["nope", "score"], errors[2]!["errors"]!.AsArray().Select(e => (string?)e!["location"]));
        Assert.Equal("0", (string?)(await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/t", Ct)).JsonAsync())["numRows"]);

        var skipped = await InsertRawAsync(dataset, "t", rows, skipInvalidRows: true, ignoreUnknownValues: true);
        var skippedErrors = skipped["insertErrors"]!.AsArray();
        Assert.Equal([1, 2], skippedErrors.Select(e => (int)e!["index"]!));
        Assert.Equal(["score"], skippedErrors[1]!["errors"]!.AsArray().Select(e => (string?)e!["location"]));
        Assert.Equal("1", (string?)(await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/t", Ct)).JsonAsync())["numRows"]);
    }

    [Fact]
    public async Task Tabledata_list_pages_and_renders_nested_values_as_strings()
    {
        var dataset = await CreateDatasetAsync();
        await CreateTableAsync(dataset, "t");
        var full = new JsonObject
        {
            ["name"] = "n0",
            ["score"] = 7,
            ["ratio"] = 0.25,
            ["seen"] = "2024-01-02T03:04:05.5Z",
            ["tags"] = new JsonArray("x", "y"),
            ["address"] = new JsonObject { ["city"] = "Oslo", ["lines"] = new JsonArray("l1") },
            ["visits"] = new JsonArray(new JsonObject { ["day"] = "2024-05-06" }),
        };
        await InsertAsync(dataset, "t", [full, .. Enumerable.Range(1, 4).Select(i => Row($"n{i}"))]);

        var first = await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/t/data?maxResults=2&formatOptions.useInt64Timestamp=true", Ct)).JsonAsync();
        Assert.Equal("5", (string?)first["totalRows"]);
        Assert.Equal(
            """{"f":[{"v":"n0"},{"v":"7"},{"v":"0.25"},{"v":"1704164645500000"},{"v":[{"v":"x"},{"v":"y"}]},{"v":{"f":[{"v":"Oslo"},{"v":[{"v":"l1"}]}]}},{"v":[{"v":{"f":[{"v":"2024-05-06"}]}}]}]}""",
            first["rows"]![0]!.ToJsonString());
        var names = first["rows"]!.AsArray().Select(r => (string?)r!["f"]![0]!["v"]).ToList();
        var token = (string?)first["pageToken"];
        while (token is not null)
        {
            var page = await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/t/data?maxResults=2&pageToken={token}", Ct)).JsonAsync();
            names.AddRange(page["rows"]!.AsArray().Select(r => (string?)r!["f"]![0]!["v"]));
            token = (string?)page["pageToken"];
        }

        Assert.Equal(["n0", "n1", "n2", "n3", "n4"], names);
        var legacy = await (await _http.GetAsync($"{Root}/datasets/{dataset}/tables/t/data?maxResults=1&selectedFields=seen,name", Ct)).JsonAsync();
        Assert.Equal("""[{"f":[{"v":"1704164645.5"},{"v":"n0"}]}]""", legacy["rows"]!.ToJsonString());
    }

    [Fact]
    public async Task Query_job_runs_to_DONE_and_getQueryResults_pages_with_schema_and_totalRows()
    {
        var dataset = await CreateDatasetAsync();
        await CreateTableAsync(dataset, "t");
        await InsertAsync(dataset, "t", [.. Enumerable.Range(1, 5).Select(i => Row($"n{i}", i * 10))]);

        var job = await (await _http.PostJsonAsync($"{Root}/jobs", new
        {
            jobReference = new { jobId = "my-job-" + dataset },
            configuration = new { query = new { query = $"SELECT name, score FROM `{Project}.{dataset}.t` WHERE score > 10 ORDER BY score DESC", useLegacySql = false } },
        })).JsonAsync();
        Assert.Equal("DONE", (string?)job["status"]!["state"]);
        var jobId = (string)job["jobReference"]!["jobId"]!;
        Assert.Equal("my-job-" + dataset, jobId);
        Assert.Equal("DONE", (string?)(await (await _http.GetAsync($"{Root}/jobs/{jobId}?location=US", Ct)).JsonAsync())["status"]!["state"]);

        var names = new List<string?>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await (await _http.GetAsync($"{Root}/queries/{jobId}?maxResults=3{(token is null ? string.Empty : "&pageToken=" + token)}", Ct)).JsonAsync();
            Assert.True((bool)page["jobComplete"]!);
            Assert.Equal("4", (string?)page["totalRows"]);
            Assert.Equal(["name", "score"], page["schema"]!["fields"]!.AsArray().Select(f => (string?)f!["name"]));
            names.AddRange(page["rows"]!.AsArray().Select(r => (string?)r!["f"]![0]!["v"]));
            token = (string?)page["pageToken"];
            pages++;
        }
        while (token is not null);

        Assert.Equal(2, pages);
        Assert.Equal(["n5", "n4", "n3", "n2"], names);
        await (await _http.PostJsonAsync($"{Root}/jobs", new { jobReference = new { jobId }, configuration = new { query = new { query = "SELECT 1", useLegacySql = false } } }))
            .GoogleErrorAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Jobs_query_aggregates_with_parameters_and_default_dataset()
    {
        var dataset = await CreateDatasetAsync();
        await CreateTableAsync(dataset, "t");
        await InsertAsync(dataset, "t", Row("a", 10), Row("a", 30), Row("b", 5), Row("c", null));

        var result = await (await _http.PostJsonAsync($"{Root}/queries", new
        {
            query = "SELECT name, COUNT(*) AS n, SUM(score) AS total, AVG(score) AS mean FROM t WHERE name != @skip GROUP BY name ORDER BY name",
            useLegacySql = false,
            defaultDataset = new { projectId = Project, datasetId = dataset },
            parameterMode = "NAMED",
            queryParameters = new[] { new { name = "skip", parameterType = new { type = "STRING" }, parameterValue = new { value = "c" } } },
        })).JsonAsync();

        Assert.Equal("bigquery#queryResponse", (string?)result["kind"]);
        Assert.Equal(["STRING", "INTEGER", "INTEGER", "FLOAT"], result["schema"]!["fields"]!.AsArray().Select(f => (string?)f!["type"]));
        Assert.Equal("""[{"f":[{"v":"a"},{"v":"2"},{"v":"40"},{"v":"20"}]},{"f":[{"v":"b"},{"v":"1"},{"v":"5"},{"v":"5"}]}]""", result["rows"]!.ToJsonString());
        var jobId = (string)result["jobReference"]!["jobId"]!;
        var again = await (await _http.GetAsync($"{Root}/queries/{jobId}", Ct)).JsonAsync();
        Assert.Equal(result["rows"]!.ToJsonString(), again["rows"]!.ToJsonString());
    }

    [Fact]
    public async Task Query_errors_use_bigquery_reasons_and_unsupported_features_answer_501()
    {
        var (syntax, message) = await (await _http.PostJsonAsync($"{Root}/queries", new { query = "SELECT a FROM", useLegacySql = false })).GoogleErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalidQuery", syntax);
        Assert.Contains("at [1:14]", message, StringComparison.Ordinal);

        var (missing, missingMessage) = await (await _http.PostJsonAsync($"{Root}/queries", new { query = "SELECT * FROM nope.t", useLegacySql = false })).GoogleErrorAsync(HttpStatusCode.NotFound);
        Assert.Equal("notFound", missing);
        Assert.Contains("nope", missingMessage, StringComparison.Ordinal);

        var (legacy, legacyMessage) = await (await _http.PostJsonAsync($"{Root}/queries", new { query = "SELECT 1", useLegacySql = true })).GoogleErrorAsync(HttpStatusCode.NotImplemented);
        Assert.Equal("notImplemented", legacy);
        Assert.Contains("legacy SQL", legacyMessage, StringComparison.Ordinal);

        var (load, _) = await (await _http.PostJsonAsync($"{Root}/jobs", new { configuration = new { load = new { } } })).GoogleErrorAsync(HttpStatusCode.NotImplemented);
        Assert.Equal("notImplemented", load);
        await (await _http.PostJsonAsync($"{Root}/datasets/x/tables/y:patch", new { })).GoogleErrorAsync(HttpStatusCode.NotImplemented);
        await (await _http.GetAsync($"{Root}/jobs/unknown-job", Ct)).GoogleErrorAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bigquery_paths_without_the_bigquery_v2_prefix_serve_clients_using_BIGQUERY_EMULATOR_HOST_as_base()
    {
        var dataset = NewId("plain");
        await (await _http.PostJsonAsync($"/projects/{Project}/datasets", new { datasetReference = new { datasetId = dataset } })).JsonAsync();

        await (await _http.GetAsync($"{Root}/datasets/{dataset}", Ct)).JsonAsync();
    }

    [Fact]
    public async Task Data_directory_keeps_datasets_tables_and_rows_across_restarts()
    {
        var directory = Directory.CreateTempSubdirectory("emulator-bigquery-");
        try
        {
            await using (var first = await EmulatorHost.StartAsync(new EmulatorOptions { DataDirectory = directory.FullName }, Ct))
            {
                using var http = new HttpClient { BaseAddress = first.BaseUri };
                await (await http.PostJsonAsync($"{Root}/datasets", new { datasetReference = new { datasetId = "kept" } })).JsonAsync();
                await (await http.PostJsonAsync($"{Root}/datasets/kept/tables", new { tableReference = new { tableId = "t" }, schema = new { fields = Schema } })).JsonAsync();
                var row = Row("persisted", 3);
                row["seen"] = "2024-01-02 03:04:05.123456 UTC";
                row["visits"] = new JsonArray(new JsonObject { ["day"] = "2024-02-03" });
                await (await http.PostJsonAsync($"{Root}/datasets/kept/tables/t/insertAll", new { rows = new[] { new { json = row } } })).JsonAsync();
            }

            await using var second = await EmulatorHost.StartAsync(new EmulatorOptions { DataDirectory = directory.FullName }, Ct);
            using var again = new HttpClient { BaseAddress = second.BaseUri };
            var data = await (await again.GetAsync($"{Root}/datasets/kept/tables/t/data?formatOptions.useInt64Timestamp=true", Ct)).JsonAsync();
            Assert.Equal(
                """[{"f":[{"v":"persisted"},{"v":"3"},{"v":null},{"v":"1704164645123456"},{"v":[]},{"v":null},{"v":[{"v":{"f":[{"v":"2024-02-03"}]}}]}]}]""",
                data["rows"]!.ToJsonString());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string NewId(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static JsonObject Row(string name, int? score = 1) => new() { ["name"] = name, ["score"] = score };

    private async Task<string> CreateDatasetAsync()
    {
        var dataset = NewId("ds");
        await (await _http.PostJsonAsync($"{Root}/datasets", new { datasetReference = new { datasetId = dataset } })).JsonAsync();
        return dataset;
    }

    private async Task CreateTableAsync(string dataset, string table) => await (await CreateTableRawAsync(dataset, table, Schema)).JsonAsync();

    private Task<HttpResponseMessage> CreateTableRawAsync(string dataset, string table, JsonArray fields) =>
        _http.PostJsonAsync($"{Root}/datasets/{dataset}/tables", new JsonObject
        {
            ["tableReference"] = new JsonObject { ["projectId"] = Project, ["datasetId"] = dataset, ["tableId"] = table },
            ["schema"] = new JsonObject { ["fields"] = fields.DeepClone() },
        });

    private Task InsertAsync(string dataset, string table, params JsonObject[] rows) =>
        InsertAsync(dataset, table, [.. rows.Select(r => ((string?)null, r))]);

    private async Task InsertAsync(string dataset, string table, params (string? InsertId, JsonObject Json)[] rows)
    {
        var body = new JsonObject
        {
            ["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject { ["insertId"] = r.InsertId, ["json"] = r.Json.DeepClone() })]),
        };
        var response = await (await _http.PostJsonAsync($"{Root}/datasets/{dataset}/tables/{table}/insertAll", body)).JsonAsync();
        Assert.Null(response["insertErrors"]);
    }

    private async Task<JsonObject> InsertRawAsync(string dataset, string table, JsonObject[] rows, bool skipInvalidRows, bool ignoreUnknownValues) =>
        await (await _http.PostJsonAsync($"{Root}/datasets/{dataset}/tables/{table}/insertAll", new JsonObject
        {
            ["skipInvalidRows"] = skipInvalidRows,
            ["ignoreUnknownValues"] = ignoreUnknownValues,
            ["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject { ["json"] = r.DeepClone() })]),
        })).JsonAsync();
}
