using Dataflow.Accounts.Domain;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class AccountDecisionsTests
{
    private static readonly Guid AccountId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid TargetId = Guid.Parse("22222222-2222-2222-2222-222222222222");
    private static readonly Guid Owner = Guid.Parse("33333333-3333-3333-3333-333333333333");
    private static readonly Guid Tx = Guid.Parse("44444444-4444-4444-4444-444444444444");

    private static AccountState OpenAccount(Guid id, long balance = 0, long version = 1) => new(id, Owner, balance, true, version);

    private static AccountState ClosedAccount(Guid id) => new(id, Owner, 0, false, 3);

    [Fact]
    public void Open_on_a_new_account_records_AccountOpened_with_the_owner_as_event_1()
    {
        var decision = AccountDecisions.Open(AccountState.Empty(AccountId), Owner, Tx);

        Assert.Equal(DecisionOutcome.Append, decision.Outcome);
        Assert.Equal([AccountEvent.Opened(AccountId, 1, Tx, Owner)], decision.Events);
    }

    [Fact]
    public void Open_an_existing_account_is_a_conflict()
    {
        var decision = AccountDecisions.Open(OpenAccount(AccountId), Owner, Tx);

        AssertRejected(decision, RejectionKind.Conflict, $"Account {AccountId} already exists.");
    }

    [Fact]
    public void Open_a_closed_account_is_a_conflict()
    {
        AssertRejected(AccountDecisions.Open(ClosedAccount(AccountId), Owner, Tx), RejectionKind.Conflict, $"Account {AccountId} already exists.");
    }

    [Fact]
    public void Deposit_records_amount_and_new_balance_at_the_next_sequence_number()
    {
        var decision = AccountDecisions.Deposit(OpenAccount(AccountId, balance: 10, version: 4), [], 5, Tx);

        Assert.Equal([AccountEvent.Deposited(AccountId, 5, Tx, 5, 15)], decision.Events);
    }

    [Fact]
    public void Deposit_of_zero_is_a_no_op()
    {
        Assert.Same(Decision.Unchanged, AccountDecisions.Deposit(OpenAccount(AccountId), [], 0, Tx));
    }

    [Fact]
    public void Deposit_of_a_negative_amount_is_invalid()
    {
        AssertRejected(AccountDecisions.Deposit(OpenAccount(AccountId), [], -1, Tx), RejectionKind.Invalid, "Amount must not be negative.");
    }

    [Fact]
    public void Deposit_to_an_unknown_account_is_not_found()
    {
        AssertRejected(AccountDecisions.Deposit(AccountState.Empty(AccountId), [], 1, Tx), RejectionKind.NotFound, $"Account {AccountId} was not found.");
    }

    [Fact]
    public void Deposit_to_a_closed_account_is_a_conflict()
    {
        AssertRejected(AccountDecisions.Deposit(ClosedAccount(AccountId), [], 1, Tx), RejectionKind.Conflict, $"Account {AccountId} is closed.");
    }

    [Fact]
    public void Deposit_that_would_overflow_the_balance_is_invalid_and_does_not_wrap()
    {
        var decision = AccountDecisions.Deposit(OpenAccount(AccountId, balance: long.MaxValue - 1), [], 2, Tx);

        AssertRejected(decision, RejectionKind.Invalid, $"The balance of account {AccountId} would exceed the largest representable amount.");
    }

    [Fact]
    public void Deposit_up_to_exactly_the_largest_balance_is_accepted()
    {
        var decision = AccountDecisions.Deposit(OpenAccount(AccountId, balance: long.MaxValue - 2), [], 2, Tx);

        Assert.Equal(long.MaxValue, Assert.Single(decision.Events).Balance);
    }

    [Fact]
    public void Deposit_repeating_the_same_transaction_is_unchanged()
    {
        var seen = AccountEvent.Deposited(AccountId, 2, Tx, 5, 5);

        Assert.Same(Decision.Unchanged, AccountDecisions.Deposit(OpenAccount(AccountId, 5, 2), [seen], 5, Tx));
    }

    [Fact]
    public void Deposit_repeating_an_applied_transaction_after_the_account_closed_is_still_unchanged()
    {
        var seen = AccountEvent.Deposited(AccountId, 2, Tx, 5, 5);

        Assert.Same(Decision.Unchanged, AccountDecisions.Deposit(ClosedAccount(AccountId), [seen], 5, Tx));
    }

    [Fact]
    public void Deposit_reusing_a_transaction_with_a_different_amount_is_a_conflict()
    {
        var seen = AccountEvent.Deposited(AccountId, 2, Tx, 5, 5);

        AssertRejected(
            AccountDecisions.Deposit(OpenAccount(AccountId, 5, 2), [seen], 6, Tx),
            RejectionKind.Conflict,
            $"Transaction {Tx} was already used on account {AccountId} for a different operation.");
    }

    [Fact]
    public void Deposit_reusing_a_withdrawal_transaction_is_a_conflict()
    {
        var seen = AccountEvent.Withdrawn(AccountId, 3, Tx, 5, 0);

        Assert.Equal(RejectionKind.Conflict, AccountDecisions.Deposit(OpenAccount(AccountId, 0, 3), [seen], 5, Tx).Rejection);
    }

    [Fact]
    public void Deposit_reusing_the_transaction_of_a_transfer_into_the_account_is_a_conflict()
    {
        var seen = AccountEvent.Deposited(AccountId, 2, Tx, 5, 5, TargetId);

        AssertRejected(
            AccountDecisions.Deposit(OpenAccount(AccountId, 5, 2), [seen], 5, Tx),
            RejectionKind.Conflict,
            $"Transaction {Tx} was already used on account {AccountId} for a different operation.");
    }

    [Fact]
    public void Withdraw_records_amount_and_new_balance()
    {
        var decision = AccountDecisions.Withdraw(OpenAccount(AccountId, balance: 10, version: 2), [], 4, Tx);

        Assert.Equal([AccountEvent.Withdrawn(AccountId, 3, Tx, 4, 6)], decision.Events);
    }

    [Fact]
    public void Withdraw_of_the_whole_balance_leaves_zero()
    {
        Assert.Equal(0, Assert.Single(AccountDecisions.Withdraw(OpenAccount(AccountId, 10, 2), [], 10, Tx).Events).Balance);
    }

    [Fact]
    public void Withdraw_more_than_the_balance_is_invalid()
    {
        AssertRejected(
            AccountDecisions.Withdraw(OpenAccount(AccountId, 10, 2), [], 11, Tx),
            RejectionKind.Invalid,
            $"Insufficient balance in account {AccountId}: balance 10, requested 11.");
    }

    [Fact]
    public void Withdraw_of_a_negative_amount_is_invalid()
    {
        Assert.Equal(RejectionKind.Invalid, AccountDecisions.Withdraw(OpenAccount(AccountId, 10), [], -5, Tx).Rejection);
    }

    [Fact]
    public void Withdraw_of_zero_is_a_no_op()
    {
        Assert.Same(Decision.Unchanged, AccountDecisions.Withdraw(OpenAccount(AccountId), [], 0, Tx));
    }

    [Fact]
    public void Withdraw_from_unknown_or_closed_accounts_is_refused()
    {
        Assert.Equal(RejectionKind.NotFound, AccountDecisions.Withdraw(AccountState.Empty(AccountId), [], 1, Tx).Rejection);
        Assert.Equal(RejectionKind.Conflict, AccountDecisions.Withdraw(ClosedAccount(AccountId), [], 1, Tx).Rejection);
    }

    [Fact]
    public void Withdraw_repeating_the_same_transaction_is_unchanged_and_with_another_amount_a_conflict()
    {
        var seen = AccountEvent.Withdrawn(AccountId, 3, Tx, 4, 6);

        Assert.Same(Decision.Unchanged, AccountDecisions.Withdraw(OpenAccount(AccountId, 6, 3), [seen], 4, Tx));
        Assert.Equal(RejectionKind.Conflict, AccountDecisions.Withdraw(OpenAccount(AccountId, 6, 3), [seen], 3, Tx).Rejection);
    }

    [Fact]
    public void Transfer_records_a_withdrawal_and_a_deposit_naming_each_other()
    {
        var decision = AccountDecisions.Transfer(OpenAccount(AccountId, 10, 2), [], OpenAccount(TargetId, 1, 7), [], 4, Tx);

        Assert.Equal(
            [AccountEvent.Withdrawn(AccountId, 3, Tx, 4, 6, TargetId), AccountEvent.Deposited(TargetId, 8, Tx, 4, 5, AccountId)],
            decision.Events);
    }

    [Fact]
    public void Transfer_to_the_same_account_is_invalid_and_does_not_change_the_balance()
    {
        var account = OpenAccount(AccountId, 10, 2);

        AssertRejected(AccountDecisions.Transfer(account, [], account, [], 4, Tx), RejectionKind.Invalid, "Cannot transfer to the same account.");
    }

    [Fact]
    public void Transfer_of_a_negative_amount_is_invalid()
    {
        Assert.Equal(RejectionKind.Invalid, AccountDecisions.Transfer(OpenAccount(AccountId, 10), [], OpenAccount(TargetId), [], -1, Tx).Rejection);
    }

    [Fact]
    public void Transfer_from_an_unknown_account_or_to_an_unknown_target_is_not_found()
    {
        AssertRejected(
            AccountDecisions.Transfer(AccountState.Empty(AccountId), [], OpenAccount(TargetId), [], 1, Tx),
            RejectionKind.NotFound,
            $"Account {AccountId} was not found.");
        AssertRejected(
            AccountDecisions.Transfer(OpenAccount(AccountId, 10), [], AccountState.Empty(TargetId), [], 1, Tx),
            RejectionKind.NotFound,
            $"Transfer target account {TargetId} was not found.");
    }

    [Fact]
    public void Transfer_from_or_to_a_closed_account_is_a_conflict()
    {
        AssertRejected(AccountDecisions.Transfer(ClosedAccount(AccountId), [], OpenAccount(TargetId), [], 1, Tx), RejectionKind.Conflict, $"Account {AccountId} is closed.");
        AssertRejected(AccountDecisions.Transfer(OpenAccount(AccountId, 10), [], ClosedAccount(TargetId), [], 1, Tx), RejectionKind.Conflict, $"Account {TargetId} is closed.");
    }

    [Fact]
    public void Transfer_more_than_the_source_balance_is_invalid()
    {
        Assert.Equal(RejectionKind.Invalid, AccountDecisions.Transfer(OpenAccount(AccountId, 3), [], OpenAccount(TargetId), [], 4, Tx).Rejection);
    }

    [Fact]
    public void Transfer_that_would_overflow_the_target_is_invalid()
    {
        var decision = AccountDecisions.Transfer(OpenAccount(AccountId, 10), [], OpenAccount(TargetId, long.MaxValue - 5), [], 6, Tx);

        AssertRejected(decision, RejectionKind.Invalid, $"The balance of account {TargetId} would exceed the largest representable amount.");
    }

    [Fact]
    public void Transfer_of_zero_is_a_no_op()
    {
        Assert.Same(Decision.Unchanged, AccountDecisions.Transfer(OpenAccount(AccountId, 10), [], OpenAccount(TargetId), [], 0, Tx));
    }

    [Fact]
    public void Transfer_is_a_repeat_when_its_transaction_is_on_the_source_only_or_the_target_only()
    {
        var onSource = AccountEvent.Withdrawn(AccountId, 3, Tx, 4, 6, TargetId);
        var onTarget = AccountEvent.Deposited(TargetId, 8, Tx, 4, 5, AccountId);

        Assert.Same(Decision.Unchanged, AccountDecisions.Transfer(OpenAccount(AccountId, 6, 3), [onSource], OpenAccount(TargetId, 5, 8), [onTarget], 4, Tx));
        Assert.Same(Decision.Unchanged, AccountDecisions.Transfer(OpenAccount(AccountId, 6, 3), [onSource], OpenAccount(TargetId, 5, 8), [], 4, Tx));
        Assert.Same(Decision.Unchanged, AccountDecisions.Transfer(OpenAccount(AccountId, 6, 3), [], OpenAccount(TargetId, 5, 8), [onTarget], 4, Tx));
    }

    [Fact]
    public void Transfer_reusing_a_transaction_with_another_amount_or_target_is_a_conflict()
    {
        var onSource = AccountEvent.Withdrawn(AccountId, 3, Tx, 4, 6, TargetId);
        var elsewhere = Guid.Parse("55555555-5555-5555-5555-555555555555");

        AssertRejected(
            AccountDecisions.Transfer(OpenAccount(AccountId, 6, 3), [onSource], OpenAccount(TargetId, 5, 8), [], 3, Tx),
            RejectionKind.Conflict,
            $"Transaction {Tx} was already used on account {AccountId} for a different operation.");
        Assert.Equal(RejectionKind.Conflict, AccountDecisions.Transfer(OpenAccount(AccountId, 6, 3), [onSource], OpenAccount(elsewhere, 5, 8), [], 4, Tx).Rejection);
    }

    [Fact]
    public void Transfer_reusing_a_plain_deposit_transaction_of_the_target_is_a_conflict()
    {
        var deposit = AccountEvent.Deposited(TargetId, 2, Tx, 4, 4);

        AssertRejected(
            AccountDecisions.Transfer(OpenAccount(AccountId, 10, 2), [], OpenAccount(TargetId, 4, 2), [deposit], 4, Tx),
            RejectionKind.Conflict,
            $"Transaction {Tx} was already used on account {TargetId} for a different operation.");
    }

    [Fact]
    public void Close_with_zero_balance_records_AccountClosed()
    {
        Assert.Equal([AccountEvent.Closed(AccountId, 5, Tx)], AccountDecisions.Close(OpenAccount(AccountId, 0, 4), Tx).Events);
    }

    [Fact]
    public void Close_with_a_non_zero_balance_is_a_conflict()
    {
        AssertRejected(
            AccountDecisions.Close(OpenAccount(AccountId, 7, 4), Tx),
            RejectionKind.Conflict,
            $"Account {AccountId} cannot be closed: its balance is 7, not 0.");
    }

    [Fact]
    public void Close_a_closed_account_records_nothing()
    {
        Assert.Same(Decision.Unchanged, AccountDecisions.Close(ClosedAccount(AccountId), Tx));
    }

    [Fact]
    public void Close_an_unknown_account_is_not_found()
    {
        Assert.Equal(RejectionKind.NotFound, AccountDecisions.Close(AccountState.Empty(AccountId), Tx).Rejection);
    }

    private static void AssertRejected(Decision decision, RejectionKind kind, string message)
    {
        Assert.Equal(DecisionOutcome.Rejected, decision.Outcome);
        Assert.Equal(kind, decision.Rejection);
        Assert.Equal(message, decision.Message);
        Assert.Empty(decision.Events);
    }
}
