using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.BigQueries;
using Dataflow.Google.Core;
using Dataflow.Google.PubSub;
using Dataflow.IceStore;
using Dataflow.Pipeline.Envelopes;
using Dataflow.Testing.Load;
using Dataflow.Tests.Integration.Services;

namespace Dataflow.Tests.E2E.DataflowScenarios;

/// <summary>Polling instead of sleeping: reads until a condition holds or the time limit passes, then fails with what it saw last.</summary>
internal static class Poll
{
    public static async Task<T> UntilAsync<T>(
        string what, Func<CancellationToken, Task<T>> read, Func<T, bool> done, Func<T, string> describe, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var last = default(T);
        var reads = 0;
        try
        {
            while (true)
            {
                last = await read(limit.Token);
                reads++;
                if (done(last))
                {
                    return last;
                }

                await Task.Delay(250, limit.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"{what}: not there after {timeout.TotalSeconds:F0} s ({reads} reads); last seen: {(reads == 0 ? "nothing (no read completed)" : describe(last!))}");
            throw;
        }
    }
}

/// <summary>Readers of the final sinks (spec §7): each polls until the expected count, then the caller checks exactness and content.</summary>
internal static class Sinks
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Pulls (and acks) until <paramref name="expected"/> messages arrived, then keeps pulling for a quiet period:
    /// the result holds every message, so an extra or duplicate one fails the count check of the caller.
    /// </summary>
    public static async Task<List<PubSubMessage>> PullAsync(DataflowRun run, string subscription, int expected, CancellationToken cancellationToken)
    {
        var received = new List<PubSubMessage>();
        await Poll.UntilAsync($"{expected} messages on {subscription}", async ct =>
        {
            await PubSubTestProject.PullOnceAsync(run.PubSub, subscription, received, ct);
            return received.Count;
        }, count => count >= expected, count => $"{count} messages", Timeout, cancellationToken);

        var quietUntil = DateTime.UtcNow.AddSeconds(2);
        while (DateTime.UtcNow < quietUntil)
        {
            if (!await PubSubTestProject.PullOnceAsync(run.PubSub, subscription, received, cancellationToken))
            {
                await Task.Delay(200, cancellationToken);
            }
        }

        return received;
    }

    /// <summary>Every line of every archive object under <paramref name="prefix"/> (gunzipped and parsed by the product's <see cref="ArchiveReader"/>).</summary>
    public static async Task<List<(string Object, ArchivedMessage Line)>> ReadArchiveAsync(DataflowRun run, string bucket, string prefix, CancellationToken cancellationToken)
    {
        var lines = new List<(string, ArchivedMessage)>();
        try
        {
            await foreach (var item in run.Storage.ListObjectsAsync(bucket, prefix, cancellationToken: cancellationToken))
            {
                await using var stream = await run.Storage.OpenReadAsync(bucket, item.Name!, null, cancellationToken);
                await foreach (var result in ArchiveReader.ReadAsync(stream, cancellationToken))
                {
                    Assert.True(result.Message is not null, $"{item.Name} line {result.LineNumber}: {result.Error}");
                    lines.Add((item.Name!, result.Message));
                }
            }
        }
        catch (GoogleApiException ex) when (ex.HttpStatus == System.Net.HttpStatusCode.NotFound)
        {
            // The bucket is not there yet.
        }

        return lines;
    }

    /// <summary>Polls Cloud Storage until the archives under <paramref name="prefix"/> hold <paramref name="expected"/> lines.</summary>
    public static Task<List<(string Object, ArchivedMessage Line)>> WaitForArchiveAsync(DataflowRun run, string bucket, string prefix, int expected, CancellationToken cancellationToken) =>
        Poll.UntilAsync($"{expected} archived lines in gs://{bucket}/{prefix}", ct => ReadArchiveAsync(run, bucket, prefix, ct),
            lines => lines.Count >= expected, lines => $"{lines.Count} lines in {lines.Select(l => l.Object).Distinct().Count()} objects", Timeout, cancellationToken);

    public static async Task<long> CountRowsAsync(DataflowRun run, string dataset, string table, CancellationToken cancellationToken)
    {
        try
        {
            var result = await run.BigQuery.QueryAsync<RowCount>($"SELECT COUNT(*) AS n FROM {dataset}.{table}", cancellationToken);
            return result.Rows.Single().N;
        }
        catch (GoogleApiException ex) when (ex.HttpStatus == System.Net.HttpStatusCode.NotFound)
        {
            return 0; // bigqueries has not created the table yet
        }
    }

    /// <summary>Polls BigQuery until the table holds <paramref name="expected"/> rows, then reads them.</summary>
    public static async Task<List<TelemetryRow>> WaitForRowsAsync(DataflowRun run, string dataset, string table, int expected, CancellationToken cancellationToken)
    {
        await Poll.UntilAsync($"{expected} rows in {dataset}.{table}", ct => CountRowsAsync(run, dataset, table, ct),
            count => count >= expected, count => $"{count} rows", Timeout, cancellationToken);
        return (await run.BigQuery.QueryAsync<TelemetryRow>($"SELECT * FROM {dataset}.{table}", cancellationToken)).Rows.ToList();
    }

    /// <summary>The envelope of a Pub/Sub message, asserting it is one.</summary>
    public static Envelope Envelope(PubSubMessage message)
    {
        Assert.True(EnvelopeCodec.TryDecode(message.Data.Span, out var envelope), $"not an envelope: {Encoding.UTF8.GetString(message.Data.Span)}");
        return envelope;
    }

    /// <summary>The reading a device payload carries, asserting it is exactly <c>{"device_id","timestamp","value"}</c> of an acknowledged send.</summary>
    public static TelemetryReading Reading(ReadOnlyMemory<byte> payload, IReadOnlyDictionary<string, TelemetryReading> sent)
    {
        using var document = JsonDocument.Parse(payload);
        var root = document.RootElement;
        Assert.Equal(["device_id", "timestamp", "value"], root.EnumerateObject().Select(p => p.Name));
        var key = TelemetryReading.FormatKey(root.GetProperty("device_id").GetString()!, root.GetProperty("value").GetDouble());
        Assert.True(sent.TryGetValue(key, out var reading), $"payload {Encoding.UTF8.GetString(payload.Span)} was not among the acknowledged sends");
        Assert.Equal(reading.TimestampText, root.GetProperty("timestamp").GetString());
        return reading;
    }

    /// <summary>Asserts that the keys seen at a sink are exactly the acknowledged sends, each once.</summary>
    public static void AssertExactlyOnce(IReadOnlyDictionary<string, TelemetryReading> sent, IEnumerable<string> seenKeys, string sink)
    {
        var seen = seenKeys.ToList();
        var duplicates = seen.GroupBy(k => k, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var missing = sent.Keys.Except(seen, StringComparer.Ordinal).ToList();
        Assert.True(duplicates.Count == 0 && missing.Count == 0 && seen.Count == sent.Count, string.Create(CultureInfo.InvariantCulture,
            $"{sink}: {seen.Count} seen for {sent.Count} sent; missing [{string.Join(", ", missing.Take(10))}], duplicates [{string.Join(", ", duplicates.Take(10))}]"));
    }

    private sealed record RowCount([property: JsonPropertyName("n")] long N);
}
