using Npgsql;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// Npgsql's automatic preparation can lose track of a statement when another statement sent on the same multiplexed
/// connection fails (PostgreSQL skips the rest of a failed command, a Parse included): the next use then fails with
/// 26000 "prepared statement _autoN does not exist". Seen in CI as a 503 among concurrent conflicting transfers.
/// Every operation of the store is one implicit transaction, so the failed one applied nothing and runs once more.
/// </summary>
internal static class LostPreparedStatement
{
    public static async Task<T> RetryOnceAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidSqlStatementName)
        {
            return await operation();
        }
    }
}
