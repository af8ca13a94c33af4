using Dataflow.Accounts.Domain;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class AccountStateTests
{
    private static readonly Guid AccountId = Guid.NewGuid();
    private static readonly Guid Owner = Guid.NewGuid();

    private static List<AccountEvent> History() =>
    [
        AccountEvent.Opened(AccountId, 1, Guid.NewGuid(), Owner),
        AccountEvent.Deposited(AccountId, 2, Guid.NewGuid(), 10, 10),
        AccountEvent.Withdrawn(AccountId, 3, Guid.NewGuid(), 4, 6),
        AccountEvent.Withdrawn(AccountId, 4, Guid.NewGuid(), 6, 0),
        AccountEvent.Closed(AccountId, 5, Guid.NewGuid()),
    ];

    [Fact]
    public void Replay_folds_events_into_owner_balance_open_flag_and_version()
    {
        var events = History();

        Assert.Equal(new AccountState(AccountId, Owner, 6, true, 3), AccountState.Replay(AccountId, null, events.Take(3)));
        Assert.Equal(new AccountState(AccountId, Owner, 0, false, 5), AccountState.Replay(AccountId, null, events));
    }

    [Fact]
    public void Replay_without_events_is_a_non_existent_account()
    {
        var state = AccountState.Replay(AccountId, null, []);

        Assert.False(state.Exists);
        Assert.Equal(0, state.Version);
    }

    [Fact]
    public void Replay_from_a_snapshot_applies_only_later_events()
    {
        var events = History();
        var snapshot = AccountState.Replay(AccountId, null, events.Take(2)).ToSnapshot();

        Assert.Equal(AccountState.Replay(AccountId, null, events), AccountState.Replay(AccountId, snapshot, events.Skip(2)));
    }

    [Fact]
    public void Replay_skips_events_a_newer_snapshot_already_covers()
    {
        var events = History();
        var snapshot = AccountState.Replay(AccountId, null, events.Take(3)).ToSnapshot();

        Assert.Equal(new AccountState(AccountId, Owner, 6, true, 3), AccountState.Replay(AccountId, snapshot, events.Take(2)));
    }

    [Fact]
    public void Apply_refuses_an_event_that_does_not_follow_the_version()
    {
        var state = AccountState.Replay(AccountId, null, History().Take(1));

        Assert.Throws<InvalidOperationException>(() => state.Apply(AccountEvent.Deposited(AccountId, 3, Guid.NewGuid(), 1, 1)));
    }
}
