using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Dataflow.Accounts;

public enum EventStoreProvider
{
    InMemory,
    PostgreSql,
    MySql,
}

/// <summary>
/// Bound from the "Accounts" section. The database comes Aspire-style from <c>ConnectionStrings:accounts</c>;
/// without one the embedded in-memory store is used.
/// </summary>
public sealed class AccountsOptions
{
    public const string SectionName = "Accounts";
    public const string ConnectionStringName = "accounts";

    /// <summary>Which store to use; when unset it is inferred from the connection string (Host= → PostgreSql, Server= → MySql).</summary>
    public EventStoreProvider? Provider { get; set; }

    /// <summary>Write a snapshot every this many events of an account; 0 disables snapshots.</summary>
    [Range(0, 1_000_000)]
    public int SnapshotInterval { get; set; } = 50;

    /// <summary>
    /// How many accounts' last known states to keep, so that a command on a recently used account is appended
    /// without loading it first (a stale state is detected by the append and reloaded); 0 disables the cache.
    /// Database stores only: the in-memory store's loads cost no round trip.
    /// </summary>
    [Range(0, 10_000_000)]
    public int StateCacheCapacity { get; set; } = 10_000;
}

/// <summary>The options' data annotations, checked by code generated at build time (trim-safe, unlike <c>ValidateDataAnnotations</c>).</summary>
[OptionsValidator]
internal sealed partial class AccountsOptionsRangeValidator : IValidateOptions<AccountsOptions>;
