using System.Collections.Concurrent;
using System.Text;
using Dataflow.Accounts.Domain;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// PostgreSQL event store on an <see cref="NpgsqlDataSource"/> (auto-prepared statements). A load is one
/// round trip (events after the snapshot, the snapshot, the transaction-id lookup); an append is one round
/// trip too: an Npgsql batch runs in one implicit transaction, so the event rows and the snapshot upserts
/// commit or roll back together. Rows go in ascending (account id, sequence number) order, so opposite
/// transfers wait on each other instead of deadlocking. A unique index on (account id, transaction id) refuses a
/// transaction id already recorded on the account, as a conflict.
/// </summary>
public sealed class PostgreSqlEventStore(NpgsqlDataSource dataSource) : IEventStore
{
    private const long SchemaLockKey = 0x4461_7461_466C_6F77; // "DataFlow": serialises concurrent migrations.

    private const string LoadEventsSql =
        "SELECT sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id FROM account_events " +
        "WHERE aggregate_id = $1 AND sequence_number > COALESCE((SELECT sequence_number FROM account_snapshots WHERE aggregate_id = $1), 0) " +
        "ORDER BY sequence_number";

    private const string LoadSnapshotSql =
        "SELECT sequence_number, owner_id, balance, is_open FROM account_snapshots WHERE aggregate_id = $1";

    private const string LoadTransactionSql =
        "SELECT sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id FROM account_events " +
        "WHERE aggregate_id = $1 AND transaction_id = $2 ORDER BY sequence_number";

    private const string ReadStreamSql =
        "SELECT sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id FROM account_events " +
        "WHERE aggregate_id = $1 ORDER BY sequence_number";

    private const string UpsertSnapshotSql =
        "INSERT INTO account_snapshots (aggregate_id, sequence_number, owner_id, balance, is_open) VALUES ($1, $2, $3, $4, $5) " +
        "ON CONFLICT (aggregate_id) DO UPDATE SET sequence_number = EXCLUDED.sequence_number, owner_id = EXCLUDED.owner_id, " +
        "balance = EXCLUDED.balance, is_open = EXCLUDED.is_open WHERE account_snapshots.sequence_number < EXCLUDED.sequence_number";

    /// <summary>Ordered migrations; each runs once, in a transaction, under an advisory lock.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS account_events (
            aggregate_id uuid NOT NULL,
            sequence_number bigint NOT NULL,
            transaction_id uuid NOT NULL,
            event_type smallint NOT NULL,
            owner_id uuid NULL,
            amount bigint NOT NULL,
            balance bigint NOT NULL,
            counterparty_id uuid NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT account_events_pkey PRIMARY KEY (aggregate_id, sequence_number));
        CREATE INDEX IF NOT EXISTS account_events_transaction_idx ON account_events (aggregate_id, transaction_id);
        CREATE TABLE IF NOT EXISTS account_snapshots (
            aggregate_id uuid NOT NULL PRIMARY KEY,
            sequence_number bigint NOT NULL,
            owner_id uuid NOT NULL,
            balance bigint NOT NULL,
            is_open boolean NOT NULL);
        """,
        // A transaction id is recorded at most once per account (accounts.md §2), enforced by the database so that
        // an append decided without re-reading the account cannot record a repeat.
        """
        CREATE UNIQUE INDEX IF NOT EXISTS account_events_transaction_key ON account_events (aggregate_id, transaction_id);
        DROP INDEX IF EXISTS account_events_transaction_idx;
        """,
    ];

    private static readonly ConcurrentDictionary<int, string> InsertEventsSql = new();

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SchemaLockKey });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var command = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS accounts_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            connection,
            transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        int applied;
        await using (var command = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM accounts_schema_migrations", connection, transaction))
        {
            applied = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        }

        for (var version = applied + 1; version <= Migrations.Length; version++)
        {
            await using (var migrate = new NpgsqlCommand(Migrations[version - 1], connection, transaction))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var record = new NpgsqlCommand("INSERT INTO accounts_schema_migrations (version) VALUES ($1)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken) =>
        LostPreparedStatement.RetryOnceAsync(() => LoadOnceAsync(accountId, transactionId, cancellationToken));

    public Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken) =>
        LostPreparedStatement.RetryOnceAsync(() => ReadStreamOnceAsync(accountId, cancellationToken));

    public Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken) =>
        LostPreparedStatement.RetryOnceAsync(async () =>
        {
            await AppendOnceAsync(events, snapshots, cancellationToken);
            return true;
        });

    private async Task<StoredStream> LoadOnceAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command(LoadEventsSql, accountId));
        batch.BatchCommands.Add(Command(LoadSnapshotSql, accountId));
        if (transactionId is { } tx)
        {
            var lookup = Command(LoadTransactionSql, accountId);
            lookup.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tx });
            batch.BatchCommands.Add(lookup);
        }

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var events = await ReadEventsAsync(reader, accountId, cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        AccountSnapshot? snapshot = null;
        if (await reader.ReadAsync(cancellationToken))
        {
            snapshot = new AccountSnapshot(accountId, reader.GetInt64(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetBoolean(3));
        }

        IReadOnlyList<AccountEvent> transactionEvents = [];
        if (transactionId is not null)
        {
            await reader.NextResultAsync(cancellationToken);
            transactionEvents = await ReadEventsAsync(reader, accountId, cancellationToken);
        }

        return new StoredStream(snapshot, events, transactionEvents);
    }

    private async Task<IReadOnlyList<AccountEvent>> ReadStreamOnceAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(ReadStreamSql, connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = accountId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadEventsAsync(reader, accountId, cancellationToken);
    }

    private async Task AppendOnceAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(snapshots);
        if (events.Count == 0 && snapshots.Count == 0)
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        if (events.Count > 0)
        {
            var insert = new NpgsqlBatchCommand(InsertEventsSql.GetOrAdd(events.Count, BuildInsertEventsSql));
            foreach (var e in events.OrderBy(e => e.AccountId).ThenBy(e => e.SequenceNumber))
            {
                insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = e.AccountId });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = e.SequenceNumber });
                insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = e.TransactionId });
                insert.Parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)e.Type });
                insert.Parameters.Add(e.Type == AccountEventType.AccountOpened
                    ? new NpgsqlParameter<Guid> { TypedValue = e.OwnerId }
                    : new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Uuid, Value = DBNull.Value });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = e.Amount });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = e.Balance });
                insert.Parameters.Add(e.CounterpartyId is { } counterparty
                    ? new NpgsqlParameter<Guid> { TypedValue = counterparty }
                    : new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Uuid, Value = DBNull.Value });
            }

            batch.BatchCommands.Add(insert);
        }

        foreach (var snapshot in snapshots.OrderBy(s => s.AccountId))
        {
            var upsert = Command(UpsertSnapshotSql, snapshot.AccountId);
            upsert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.SequenceNumber });
            upsert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = snapshot.OwnerId });
            upsert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.Balance });
            upsert.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = snapshot.IsOpen });
            batch.BatchCommands.Add(upsert);
        }

        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
        {
            throw new ConcurrencyConflictException($"Append conflicted ({ex.SqlState}): {ex.MessageText}", ex);
        }
    }

    private static NpgsqlBatchCommand Command(string sql, Guid accountId)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = accountId });
        return command;
    }

    private static string BuildInsertEventsSql(int rows)
    {
        var sql = new StringBuilder("INSERT INTO account_events (aggregate_id, sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id) VALUES ");
        for (var row = 0; row < rows; row++)
        {
            sql.Append(row == 0 ? "(" : ", (");
            for (var column = 1; column <= 8; column++)
            {
                sql.Append(column == 1 ? "$" : ", $").Append((row * 8) + column);
            }

            sql.Append(')');
        }

        return sql.ToString();
    }

    private static async Task<List<AccountEvent>> ReadEventsAsync(NpgsqlDataReader reader, Guid accountId, CancellationToken cancellationToken)
    {
        var events = new List<AccountEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new AccountEvent(
                accountId,
                reader.GetInt64(0),
                reader.GetGuid(1),
                (AccountEventType)reader.GetInt16(2),
                reader.IsDBNull(3) ? Guid.Empty : reader.GetGuid(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetGuid(6)));
        }

        return events;
    }
}
