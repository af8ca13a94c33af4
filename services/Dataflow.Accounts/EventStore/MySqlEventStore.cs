using System.Text;
using Dataflow.Accounts.Domain;
using MySql.Data.MySqlClient;

namespace Dataflow.Accounts.EventStore;

/// <summary>
/// MySQL / MariaDB event store (MySql.Data). Ids are BINARY(16) in big-endian (textual) byte order and every
/// table is utf8mb4 without text columns: MySql.Data 8.0.16 cannot read utf8mb3 result columns from MariaDB.
/// A load is one multi-statement command; an append is one transaction inserting rows in ascending
/// (account id, sequence number) order. Duplicate keys (sequence number, or a transaction id already recorded on
/// the account), deadlocks and lock-wait timeouts are conflicts.
/// Note: MySql.Data 8.0.16 implements its async methods synchronously, so each database call holds a thread.
/// </summary>
public sealed class MySqlEventStore(string connectionString) : IEventStore
{
    private const string SchemaLockName = "dataflow_accounts_schema";
    private const string Columns = "sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id";

    private const string LoadSql =
        "SELECT " + Columns + " FROM account_events WHERE aggregate_id = @id AND sequence_number > " +
        "COALESCE((SELECT sequence_number FROM account_snapshots WHERE aggregate_id = @id), 0) ORDER BY sequence_number; " +
        "SELECT sequence_number, owner_id, balance, is_open FROM account_snapshots WHERE aggregate_id = @id";

    private const string LoadTransactionSql =
        "; SELECT " + Columns + " FROM account_events WHERE aggregate_id = @id AND transaction_id = @tx ORDER BY sequence_number";

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS account_events (
            aggregate_id BINARY(16) NOT NULL,
            sequence_number BIGINT NOT NULL,
            transaction_id BINARY(16) NOT NULL,
            event_type TINYINT UNSIGNED NOT NULL,
            owner_id BINARY(16) NULL,
            amount BIGINT NOT NULL,
            balance BIGINT NOT NULL,
            counterparty_id BINARY(16) NULL,
            recorded_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
            PRIMARY KEY (aggregate_id, sequence_number),
            INDEX account_events_transaction_idx (aggregate_id, transaction_id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
        CREATE TABLE IF NOT EXISTS account_snapshots (
            aggregate_id BINARY(16) NOT NULL PRIMARY KEY,
            sequence_number BIGINT NOT NULL,
            owner_id BINARY(16) NOT NULL,
            balance BIGINT NOT NULL,
            is_open BOOLEAN NOT NULL
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        // A transaction id is recorded at most once per account (accounts.md §2), enforced by the database so that
        // an append decided without re-reading the account cannot record a repeat.
        """
        ALTER TABLE account_events ADD UNIQUE INDEX account_events_transaction_key (aggregate_id, transaction_id),
            DROP INDEX account_events_transaction_idx
        """,
    ];

    private readonly string _connectionString = Normalize(connectionString);

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var command = new MySqlCommand("SELECT GET_LOCK(@name, 60)", connection))
        {
            command.Parameters.AddWithValue("@name", SchemaLockName);
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 1)
            {
                throw new TimeoutException("Timed out waiting for the schema lock held by another instance starting up.");
            }
        }

        // The lock is per session: it is released explicitly on success, and with the session when a failure
        // leaves the connection unusable (a broken connection is not returned to the pool).
        await MigrateAsync(connection, cancellationToken);
        await using var release = new MySqlCommand("DO RELEASE_LOCK(@name)", connection);
        release.Parameters.AddWithValue("@name", SchemaLockName);
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task MigrateAsync(MySqlConnection connection, CancellationToken cancellationToken)
    {
        // "CREATE TABLE IF NOT EXISTS" on an existing table raises a note, and MySql.Data then reads SHOW WARNINGS,
        // whose utf8mb3 columns it cannot decode on MariaDB: keep notes out of this (pooled) session while migrating.
        await using (var quiet = new MySqlCommand("SET SESSION sql_notes = 0", connection))
        {
            await quiet.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var command = new MySqlCommand(
            "CREATE TABLE IF NOT EXISTS accounts_schema_migrations (version INT NOT NULL PRIMARY KEY, applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            connection))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        long applied;
        await using (var command = new MySqlCommand("SELECT COALESCE(MAX(version), 0) FROM accounts_schema_migrations", connection))
        {
            applied = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        for (var version = (int)applied + 1; version <= Migrations.Length; version++)
        {
            await using var command = new MySqlCommand(Migrations[version - 1] + "; INSERT INTO accounts_schema_migrations (version) VALUES (@version)", connection);
            command.Parameters.AddWithValue("@version", version);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var restore = new MySqlCommand("SET SESSION sql_notes = 1", connection);
        await restore.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new MySqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new MySqlCommand(transactionId is null ? LoadSql : LoadSql + LoadTransactionSql, connection);
        command.Parameters.Add(Id("@id", accountId));
        if (transactionId is { } tx)
        {
            command.Parameters.Add(Id("@tx", tx));
        }

        await using var reader = (MySqlDataReader)await command.ExecuteReaderAsync(cancellationToken);
        var events = await ReadEventsAsync(reader, accountId, cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        AccountSnapshot? snapshot = null;
        if (await reader.ReadAsync(cancellationToken))
        {
            snapshot = new AccountSnapshot(accountId, reader.GetInt64(0), ReadGuid(reader, 1), reader.GetInt64(2), reader.GetBoolean(3));
        }

        IReadOnlyList<AccountEvent> transactionEvents = [];
        if (transactionId is not null)
        {
            await reader.NextResultAsync(cancellationToken);
            transactionEvents = await ReadEventsAsync(reader, accountId, cancellationToken);
        }

        return new StoredStream(snapshot, events, transactionEvents);
    }

    public async Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new MySqlCommand("SELECT " + Columns + " FROM account_events WHERE aggregate_id = @id ORDER BY sequence_number", connection);
        command.Parameters.Add(Id("@id", accountId));
        await using var reader = (MySqlDataReader)await command.ExecuteReaderAsync(cancellationToken);
        return await ReadEventsAsync(reader, accountId, cancellationToken);
    }

    public async Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(snapshots);
        if (events.Count == 0 && snapshots.Count == 0)
        {
            return;
        }

        var sql = new StringBuilder();
        await using var command = new MySqlCommand();
        if (events.Count > 0)
        {
            sql.Append("INSERT INTO account_events (aggregate_id, sequence_number, transaction_id, event_type, owner_id, amount, balance, counterparty_id) VALUES ");
            var row = 0;
            foreach (var e in events.OrderBy(e => e.AccountId).ThenBy(e => e.SequenceNumber))
            {
                sql.Append(row == 0 ? "(" : ", (")
                    .Append($"@a{row}, @s{row}, @t{row}, @y{row}, @o{row}, @m{row}, @b{row}, @c{row})");
                command.Parameters.Add(Id($"@a{row}", e.AccountId));
                command.Parameters.AddWithValue($"@s{row}", e.SequenceNumber);
                command.Parameters.Add(Id($"@t{row}", e.TransactionId));
                command.Parameters.AddWithValue($"@y{row}", (byte)e.Type);
                command.Parameters.Add(e.Type == AccountEventType.AccountOpened ? Id($"@o{row}", e.OwnerId) : Null($"@o{row}"));
                command.Parameters.AddWithValue($"@m{row}", e.Amount);
                command.Parameters.AddWithValue($"@b{row}", e.Balance);
                command.Parameters.Add(e.CounterpartyId is { } counterparty ? Id($"@c{row}", counterparty) : Null($"@c{row}"));
                row++;
            }
        }

        var index = 0;
        foreach (var snapshot in snapshots.OrderBy(s => s.AccountId))
        {
            // Assign sequence_number last: MySQL evaluates the assignments left to right.
            sql.Append(sql.Length == 0 ? string.Empty : "; ")
                .Append($"INSERT INTO account_snapshots (aggregate_id, sequence_number, owner_id, balance, is_open) VALUES (@sa{index}, @ss{index}, @so{index}, @sb{index}, @sx{index}) ")
                .Append("ON DUPLICATE KEY UPDATE owner_id = IF(VALUES(sequence_number) > sequence_number, VALUES(owner_id), owner_id), ")
                .Append("balance = IF(VALUES(sequence_number) > sequence_number, VALUES(balance), balance), ")
                .Append("is_open = IF(VALUES(sequence_number) > sequence_number, VALUES(is_open), is_open), ")
                .Append("sequence_number = GREATEST(sequence_number, VALUES(sequence_number))");
            command.Parameters.Add(Id($"@sa{index}", snapshot.AccountId));
            command.Parameters.AddWithValue($"@ss{index}", snapshot.SequenceNumber);
            command.Parameters.Add(Id($"@so{index}", snapshot.OwnerId));
            command.Parameters.AddWithValue($"@sb{index}", snapshot.Balance);
            command.Parameters.AddWithValue($"@sx{index}", snapshot.IsOpen);
            index++;
        }

        command.CommandText = sql.ToString();
        await using var connection = await OpenAsync(cancellationToken);
        command.Connection = connection;
        var single = events.Count + snapshots.Count == 1;
        await using var transaction = single ? null : (MySqlTransaction)await connection.BeginTransactionAsync(cancellationToken);
        command.Transaction = transaction;
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            if (transaction is not null)
            {
                await transaction.CommitAsync(cancellationToken);
            }
        }
        catch (MySqlException ex) when (ex.Number is 1062 or 1213 or 1205)
        {
            throw new ConcurrencyConflictException($"Append conflicted ({ex.Number}): {ex.Message}", ex);
        }
    }

    private static string Normalize(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString)
        {
            OldGuids = false,
            CharacterSet = "utf8mb4",
            AllowUserVariables = false,
        };
        return builder.ConnectionString;
    }

    private async Task<MySqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new MySqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static MySqlParameter Id(string name, Guid value) =>
        new(name, MySqlDbType.Binary, 16) { Value = value.ToByteArray(bigEndian: true) };

    private static MySqlParameter Null(string name) => new(name, MySqlDbType.Binary, 16) { Value = DBNull.Value };

    private static Guid ReadGuid(MySqlDataReader reader, int ordinal) => reader.GetValue(ordinal) switch
    {
        byte[] bytes => new Guid(bytes, bigEndian: true),
        Guid guid => guid,
        var other => throw new InvalidDataException($"Unexpected id column type {other.GetType()}."),
    };

    private static async Task<List<AccountEvent>> ReadEventsAsync(MySqlDataReader reader, Guid accountId, CancellationToken cancellationToken)
    {
        var events = new List<AccountEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new AccountEvent(
                accountId,
                reader.GetInt64(0),
                ReadGuid(reader, 1),
                (AccountEventType)reader.GetByte(2),
                reader.IsDBNull(3) ? Guid.Empty : ReadGuid(reader, 3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.IsDBNull(6) ? null : ReadGuid(reader, 6)));
        }

        return events;
    }
}
