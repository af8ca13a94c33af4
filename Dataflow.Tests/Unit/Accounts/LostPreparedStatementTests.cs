using Dataflow.Accounts.EventStore;
using Npgsql;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class LostPreparedStatementTests
{
    private static PostgresException Error(string sqlState) => new("prepared statement \"_auto6\" does not exist", "ERROR", "ERROR", sqlState);

    [Fact]
    public async Task A_lost_prepared_statement_runs_the_operation_once_more()
    {
        var attempts = 0;

        var result = await LostPreparedStatement.RetryOnceAsync(() => ++attempts == 1 ? throw Error(PostgresErrorCodes.InvalidSqlStatementName) : Task.FromResult(42));

        Assert.Equal(42, result);
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task It_is_retried_only_once()
    {
        var attempts = 0;

        var error = await Assert.ThrowsAsync<PostgresException>(() => LostPreparedStatement.RetryOnceAsync<int>(() => { attempts++; throw Error(PostgresErrorCodes.InvalidSqlStatementName); }));

        Assert.Equal(PostgresErrorCodes.InvalidSqlStatementName, error.SqlState);
        Assert.Equal(2, attempts);
    }

    [Theory]
    [InlineData(PostgresErrorCodes.UniqueViolation)]
    [InlineData(PostgresErrorCodes.AdminShutdown)]
    public async Task Other_errors_are_not_retried(string sqlState)
    {
        var attempts = 0;

        await Assert.ThrowsAsync<PostgresException>(() => LostPreparedStatement.RetryOnceAsync<int>(() => { attempts++; throw Error(sqlState); }));

        Assert.Equal(1, attempts);
    }
}
