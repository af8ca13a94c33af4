using Dataflow.Accounts.Application;
using Dataflow.Accounts.Domain;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class AccountStateCacheTests
{
    private static AccountState State(Guid id, long version, long balance = 0) => new(id, Guid.Empty, balance, true, version);

    [Fact]
    public void The_least_recently_used_account_is_dropped_when_full()
    {
        var cache = new AccountStateCache(2);
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        cache.Remember(State(a, 1));
        cache.Remember(State(b, 1));
        Assert.True(cache.TryGet(a, out _));

        cache.Remember(State(c, 1));

        Assert.True(cache.TryGet(a, out _));
        Assert.False(cache.TryGet(b, out _));
        Assert.True(cache.TryGet(c, out _));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void A_newer_version_replaces_an_older_one_but_never_the_reverse()
    {
        var cache = new AccountStateCache(10);
        var id = Guid.NewGuid();
        cache.Remember(State(id, 5, balance: 50));

        cache.Remember(State(id, 4, balance: 40));
        Assert.True(cache.TryGet(id, out var kept));
        Assert.Equal(5, kept.Version);

        cache.Remember(State(id, 6, balance: 60));
        Assert.True(cache.TryGet(id, out var newer));
        Assert.Equal(60, newer.Balance);
    }

    [Fact]
    public void Accounts_that_do_not_exist_are_not_cached_and_forgotten_ones_are_gone()
    {
        var cache = new AccountStateCache(10);
        var missing = Guid.NewGuid();
        var id = Guid.NewGuid();
        cache.Remember(AccountState.Empty(missing));
        cache.Remember(State(id, 1));

        cache.Forget(id);

        Assert.False(cache.TryGet(missing, out _));
        Assert.False(cache.TryGet(id, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_capacity_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AccountStateCache(0));
}
