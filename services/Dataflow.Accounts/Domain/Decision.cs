namespace Dataflow.Accounts.Domain;

/// <summary>Why a command was refused; the HTTP layer maps these to 400, 404 and 409.</summary>
public enum RejectionKind
{
    /// <summary>The command can never succeed as given (negative amount, overdraft, overflow, self-transfer).</summary>
    Invalid,

    /// <summary>The account, or a transfer's target, does not exist.</summary>
    NotFound,

    /// <summary>The command clashes with the account's state or history (exists, closed, transaction id reused).</summary>
    Conflict,
}

public enum DecisionOutcome
{
    /// <summary>Append <see cref="Decision.Events"/>.</summary>
    Append,

    /// <summary>Nothing to record: a zero amount, closing a closed account, or a repeat of an applied transaction.</summary>
    Unchanged,

    /// <summary>Refused; nothing is recorded and the transaction id stays free.</summary>
    Rejected,
}

/// <summary>The result of deciding a command against the current state: events to append, nothing, or a refusal.</summary>
public sealed record Decision(DecisionOutcome Outcome, IReadOnlyList<AccountEvent> Events, RejectionKind Rejection, string? Message)
{
    public static readonly Decision Unchanged = new(DecisionOutcome.Unchanged, [], default, null);

    public static Decision Append(params AccountEvent[] events) => new(DecisionOutcome.Append, events, default, null);

    public static Decision Reject(RejectionKind kind, string message) => new(DecisionOutcome.Rejected, [], kind, message);
}
