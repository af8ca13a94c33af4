using System.Net;
using Dataflow.Google.Core;
using Dataflow.Google.Firestore;
using Dataflow.Tests.Infrastructure;

namespace Dataflow.Tests.Integration.Google;

/// <summary>The Firestore client against Google's Firestore emulator, one random project per test.</summary>
[Trait("Category", "Integration")]
public sealed class FirestoreTests(SharedServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record Device(string Name, string Region, long Readings, double Temperature, DateTimeOffset SeenAt, IReadOnlyList<string> Tags, FirestoreGeoPoint Location, byte[] Key);

    private async Task<FirestoreClient> ClientAsync() => FirestoreClient.Create(
        new FirestoreOptions { ProjectId = GoogleTestClients.NewProjectId(), EmulatorHost = (await servers.GetFirestoreAsync()).HostPort },
        GoogleHttp.CreateHttpClient(TimeSpan.FromSeconds(60)));

    private static Device Sample(int i) => new(
        $"device-{i}", i % 2 == 0 ? "eu" : "us", i * 10, 20 + i, new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(10 * (123_456 + i)), ["t", $"n{i}"],
        new FirestoreGeoPoint(i % 90, 10), [(byte)i, 255]);

    [Fact]
    public async Task Set_document_reads_back_with_every_value_kind_and_server_times()
    {
        var client = await ClientAsync();
        var owner = new FirestoreReference(client.DocumentName("owners/o1"));
        var fields = new Dictionary<string, object?>
        {
            ["nothing"] = null,
            ["flag"] = true,
            ["count"] = long.MinValue,
            ["ratio"] = 0.25,
            // Firestore keeps microseconds.
            ["at"] = new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560),
            ["text"] = "grüße",
            ["blob"] = new byte[] { 0, 1, 2, 255 },
            ["owner"] = owner,
            ["where"] = new FirestoreGeoPoint(-33.5, 151.25),
            ["list"] = new object?[] { 1L, "two", null },
            ["nested"] = new Dictionary<string, object?> { ["deep"] = new Dictionary<string, object?> { ["x"] = 1.5 } },
        };

        var written = await client.SetAsync("things/all-kinds", fields, Ct);
        var document = await client.GetDocumentAsync("things/all-kinds", Ct);

        Assert.NotNull(document);
        Assert.Equal("all-kinds", document.Id);
        Assert.Equal(written.UpdateTime, document.UpdateTime);
        Assert.Equal(FirestoreMapper.ToFields(fields), document.Fields);
    }

    [Fact]
    public async Task Missing_document_reads_as_null()
    {
        var client = await ClientAsync();

        Assert.Null(await client.GetDocumentAsync("devices/none", Ct));
        Assert.Null(await client.GetAsync<Device>("devices/none", Ct));
    }

    [Fact]
    public async Task Typed_document_round_trips()
    {
        var client = await ClientAsync();

        await client.SetAsync("devices/d1", Sample(1), Ct);
        var back = await client.GetAsync<Device>("devices/d1", Ct);

        Assert.NotNull(back);
        Assert.Equal(Sample(1) with { Tags = back.Tags, Key = back.Key }, back);
        Assert.Equal(Sample(1).Tags, back.Tags);
        Assert.Equal(Sample(1).Key, back.Key);
    }

    [Fact]
    public async Task Batch_get_returns_found_and_missing_documents_in_request_order()
    {
        var client = await ClientAsync();
        await client.CommitAsync([FirestoreWrite.Set("devices/a", Sample(1)), FirestoreWrite.Set("devices/c", Sample(3))], Ct);

        var results = await client.BatchGetAsync(["devices/c", "devices/b", "devices/a"], Ct);

        Assert.Equal(["devices/c", "devices/b", "devices/a"], results.Select(r => r.Path));
        Assert.Equal("device-3", results[0].Document!.ConvertTo<Device>().Name);
        Assert.Null(results[1].Document);
        Assert.Equal("device-1", results[2].Document!.ConvertTo<Device>().Name);
    }

    [Fact]
    public async Task Update_with_mask_changes_only_named_fields_and_needs_an_existing_document()
    {
        var client = await ClientAsync();
        await client.SetAsync("devices/d1", new Dictionary<string, object?> { ["name"] = "old", ["keep"] = 1L, ["stats"] = new Dictionary<string, object?> { ["a"] = 1L, ["b"] = 2L } }, Ct);

        await client.UpdateAsync("devices/d1", new Dictionary<string, object?> { ["name"] = "new", ["stats.b"] = 3L }, Ct);
        var document = (await client.GetDocumentAsync("devices/d1", Ct))!;
        var missing = await Assert.ThrowsAsync<GoogleApiException>(() => client.UpdateAsync("devices/none", new Dictionary<string, object?> { ["name"] = "x" }, Ct));

        Assert.Equal("new", document.Fields["name"].StringValue);
        Assert.Equal(1, document.Fields["keep"].IntegerValue);
        Assert.Equal(1, document.Fields["stats"].MapValue["a"].IntegerValue);
        Assert.Equal(3, document.Fields["stats"].MapValue["b"].IntegerValue);
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatus);
    }

    [Fact]
    public async Task Preconditions_on_existence_and_update_time_are_enforced()
    {
        var client = await ClientAsync();
        var created = await client.SetAsync("devices/d1", Sample(1), Ct, FirestorePrecondition.MustNotExist);

        var duplicate = await Assert.ThrowsAsync<GoogleApiException>(() => client.SetAsync("devices/d1", Sample(2), Ct, FirestorePrecondition.MustNotExist));
        await client.SetAsync("devices/d1", Sample(3), Ct, FirestorePrecondition.LastUpdatedAt(created.UpdateTime!.Value));
        var stale = await Assert.ThrowsAsync<GoogleApiException>(() => client.SetAsync("devices/d1", Sample(4), Ct, FirestorePrecondition.LastUpdatedAt(created.UpdateTime!.Value)));

        Assert.Equal("ALREADY_EXISTS", duplicate.Status);
        Assert.Equal("FAILED_PRECONDITION", stale.Status);
        Assert.Equal("device-3", (await client.GetAsync<Device>("devices/d1", Ct))!.Name);
    }

    [Fact]
    public async Task Commit_is_atomic_and_delete_removes_the_document()
    {
        var client = await ClientAsync();
        await client.SetAsync("devices/d1", Sample(1), Ct);

        await Assert.ThrowsAsync<GoogleApiException>(() => client.CommitAsync(
            [FirestoreWrite.Set("devices/d2", Sample(2)), FirestoreWrite.Delete("devices/none", FirestorePrecondition.MustExist)], Ct));
        await client.DeleteAsync("devices/d1", Ct, FirestorePrecondition.MustExist);

        Assert.Null(await client.GetDocumentAsync("devices/d2", Ct));
        Assert.Null(await client.GetDocumentAsync("devices/d1", Ct));
    }

    [Fact]
    public async Task Query_filters_orders_and_limits()
    {
        var client = await ClientAsync();
        await client.CommitAsync([.. Enumerable.Range(0, 10).Select(i => FirestoreWrite.Set($"devices/d{i}", Sample(i)))], Ct);
        await client.SetAsync("other/x", Sample(99), Ct);

        var eu = await client.QueryAsync<Device>(
            new FirestoreQuery("devices").Where("Region", FirestoreOperator.Equal, "eu").Where("Readings", FirestoreOperator.GreaterThanOrEqual, 20L)
                .OrderByField("Readings", descending: true).Take(3), Ct);
        var tagged = await client.QueryAsync<Device>(new FirestoreQuery("devices").Where("Tags", FirestoreOperator.ArrayContains, "n7"), Ct);
        var some = await client.QueryAsync<Device>(new FirestoreQuery("devices").Where("Name", FirestoreOperator.In, new[] { "device-1", "device-2" }).OrderByField("Name"), Ct);
        var paged = await client.QueryAsync<Device>(new FirestoreQuery("devices").OrderByField("Readings").Skip(8), Ct);

        Assert.Equal(["device-8", "device-6", "device-4"], eu.Select(d => d.Name));
        Assert.Equal("device-7", Assert.Single(tagged).Name);
        Assert.Equal(["device-1", "device-2"], some.Select(d => d.Name));
        Assert.Equal(["device-8", "device-9"], paged.Select(d => d.Name));
    }
}
