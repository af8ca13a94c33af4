using Dataflow.Google.BigQuery;
using Dataflow.Pipeline;

namespace Dataflow.BigQueries;

/// <summary>
/// Streams a batch with insertAll: the insertId of each row is its message id, so a redelivered message does not
/// duplicate its row; invalid rows are skipped by BigQuery and reported back as item failures (dead-lettered),
/// the valid ones stored. A failed request throws (the batch is nacked).
/// </summary>
public sealed class BigQueryRowSink<TRow>(BigQueryClient client, string dataset, string table) : IBatchSink<TRow>
{
    public async Task<BatchWriteResult> WriteBatchAsync(string batchKey, IReadOnlyList<BatchItem<TRow>> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        var result = await client.InsertRowsAsync(
            dataset, table, items.Select(i => new BigQueryInsertRow<TRow>(i.Value, i.Message.Id)),
            new BigQueryInsertOptions { SkipInvalidRows = true }, cancellationToken);
        return result.Succeeded
            ? BatchWriteResult.Success
            : new BatchWriteResult(result.Errors.Select(e => new BatchItemFailure(
                e.Index, string.Join("; ", e.Errors.Select(x => $"{x.Reason}: {x.Message}")))).ToList());
    }
}

/// <summary>Without a dead-letter topic, a rejected row is logged and acked (it would be rejected again).</summary>
internal sealed class LoggingDeadLetters(ILogger<LoggingDeadLetters> logger) : IDeadLetterSink
{
    public Task DeadLetterAsync(Message message, string reason, CancellationToken cancellationToken)
    {
        logger.LogWarning("Row of message {MessageId} rejected by BigQuery and dropped: {Reason}", message.Id, reason);
        return Task.CompletedTask;
    }
}
