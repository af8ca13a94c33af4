using System.Data.Common;
using Dataflow.Accounts.Application;
using Dataflow.Accounts.Domain;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dataflow.Accounts.Api;

/// <summary>
/// The HTTP API in both URL styles: query verbs on /api/account/{id} (documented) and action sub-paths
/// (what the reference clients call). Ids and amounts are taken as strings and parsed here, so a malformed
/// value is a 400 naming the parameter rather than a routing 404 or a binding failure.
/// </summary>
public static class AccountsApi
{
    public static WebApplication MapAccountsApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Bodiless 4xx from routing (unknown route 404, wrong method 405) and unhandled exceptions become problem
        // details. An unreachable or failing database is a 503, which a load balancer may retry on another instance.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception is DbException or TimeoutException
                ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.MapOpenApi();

        app.MapGet("/ping", () => TypedResults.Text("pong")).WithName("Ping");

        var accounts = app.MapGroup("/api/account").WithTags("Accounts");
        accounts.MapPost("/{id}", OpenAsync).WithName("OpenAccount");
        accounts.MapGet("/{id}", GetAsync).WithName("GetAccount");
        accounts.MapGet("/{id}/events", GetEventsAsync).WithName("GetAccountEvents");
        accounts.MapPut("/{id}", ExecuteQueryVerbAsync).WithName("AccountCommand")
            .WithSummary("Deposit (?deposit=), withdraw (?withdraw=) or transfer (?transfer={targetId}&amount=), each with &transactionId=.");
        accounts.MapPut("/{id}/deposit", DepositAsync).WithName("Deposit");
        accounts.MapPut("/{id}/withdraw", WithdrawAsync).WithName("Withdraw");
        accounts.MapPut("/{id}/transfer", TransferAsync).WithName("Transfer");
        accounts.MapDelete("/{id}", CloseAsync).WithName("CloseAccount");
        return app;
    }

    internal static async Task<Results<Created, ProblemHttpResult>> OpenAsync(string id, string? owner, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var accountId, out var error)
            || !RequestParameters.TryGuid(owner, "owner", out var ownerId, out error))
        {
            return BadRequest(error);
        }

        var decision = await accounts.OpenAsync(accountId, ownerId, cancellationToken);
        return decision.Outcome == DecisionOutcome.Rejected ? Rejected(decision) : TypedResults.Created($"/api/account/{accountId}");
    }

    internal static async Task<Results<Ok<AccountResponse>, ProblemHttpResult>> GetAsync(string id, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var accountId, out var error))
        {
            return BadRequest(error);
        }

        var state = await accounts.GetAsync(accountId, cancellationToken);
        return state is null
            ? Problem(StatusCodes.Status404NotFound, $"Account {accountId} was not found.")
            : TypedResults.Ok(AccountResponse.From(state));
    }

    internal static async Task<Results<Ok<AccountEventResponse[]>, ProblemHttpResult>> GetEventsAsync(string id, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var accountId, out var error))
        {
            return BadRequest(error);
        }

        var events = await accounts.GetEventsAsync(accountId, cancellationToken);
        return TypedResults.Ok(events.Select(AccountEventResponse.From).ToArray());
    }

    internal static Task<Results<NoContent, ProblemHttpResult>> ExecuteQueryVerbAsync(
        string id, string? deposit, string? withdraw, string? transfer, string? amount, string? transactionId, AccountService accounts, CancellationToken cancellationToken)
    {
        var verbs = (deposit is null ? 0 : 1) + (withdraw is null ? 0 : 1) + (transfer is null ? 0 : 1);
        if (verbs != 1)
        {
            return Task.FromResult<Results<NoContent, ProblemHttpResult>>(BadRequest(verbs == 0
                ? "Missing parameter: one of 'deposit', 'withdraw' or 'transfer'."
                : "Give only one of the parameters 'deposit', 'withdraw' and 'transfer'."));
        }

        return deposit is not null ? DepositCoreAsync(id, deposit, "deposit", transactionId, accounts, cancellationToken)
            : withdraw is not null ? WithdrawCoreAsync(id, withdraw, "withdraw", transactionId, accounts, cancellationToken)
            : TransferCoreAsync(id, transfer, "transfer", amount, transactionId, accounts, cancellationToken);
    }

    internal static Task<Results<NoContent, ProblemHttpResult>> DepositAsync(string id, string? amount, string? transactionId, AccountService accounts, CancellationToken cancellationToken) =>
        DepositCoreAsync(id, amount, "amount", transactionId, accounts, cancellationToken);

    internal static Task<Results<NoContent, ProblemHttpResult>> WithdrawAsync(string id, string? amount, string? transactionId, AccountService accounts, CancellationToken cancellationToken) =>
        WithdrawCoreAsync(id, amount, "amount", transactionId, accounts, cancellationToken);

    internal static Task<Results<NoContent, ProblemHttpResult>> TransferAsync(
        string id, string? targetAccount, string? amount, string? transactionId, AccountService accounts, CancellationToken cancellationToken) =>
        TransferCoreAsync(id, targetAccount, "targetAccount", amount, transactionId, accounts, cancellationToken);

    internal static async Task<Results<NoContent, ProblemHttpResult>> CloseAsync(string id, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var accountId, out var error))
        {
            return BadRequest(error);
        }

        return ToResult(await accounts.CloseAsync(accountId, cancellationToken));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DepositCoreAsync(
        string id, string? amount, string amountName, string? transactionId, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var accountId, out var error)
            || !RequestParameters.TryAmount(amount, amountName, out var value, out error)
            || !RequestParameters.TryGuid(transactionId, "transactionId", out var tx, out error))
        {
            return BadRequest(error);
        }

        return ToResult(await accounts.DepositAsync(accountId, value, tx, cancellationToken));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> WithdrawCoreAsync(
        string id, string? amount, string amountName, string? transactionId, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var accountId, out var error)
            || !RequestParameters.TryAmount(amount, amountName, out var value, out error)
            || !RequestParameters.TryGuid(transactionId, "transactionId", out var tx, out error))
        {
            return BadRequest(error);
        }

        return ToResult(await accounts.WithdrawAsync(accountId, value, tx, cancellationToken));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> TransferCoreAsync(
        string id, string? target, string targetName, string? amount, string? transactionId, AccountService accounts, CancellationToken cancellationToken)
    {
        if (!RequestParameters.TryGuid(id, "id", out var sourceId, out var error)
            || !RequestParameters.TryGuid(target, targetName, out var targetId, out error)
            || !RequestParameters.TryAmount(amount, "amount", out var value, out error)
            || !RequestParameters.TryGuid(transactionId, "transactionId", out var tx, out error))
        {
            return BadRequest(error);
        }

        return ToResult(await accounts.TransferAsync(sourceId, targetId, value, tx, cancellationToken));
    }

    private static Results<NoContent, ProblemHttpResult> ToResult(Decision decision) =>
        decision.Outcome == DecisionOutcome.Rejected ? Rejected(decision) : TypedResults.NoContent();

    private static ProblemHttpResult Rejected(Decision decision) => Problem(
        decision.Rejection switch
        {
            RejectionKind.Invalid => StatusCodes.Status400BadRequest,
            RejectionKind.NotFound => StatusCodes.Status404NotFound,
            _ => StatusCodes.Status409Conflict,
        },
        decision.Message ?? decision.Rejection.ToString());

    private static ProblemHttpResult BadRequest(string message) => Problem(StatusCodes.Status400BadRequest, message);

    /// <summary>Problem details carrying the text twice: <c>detail</c> (RFC 9457) and <c>message</c> (what the reference clients read).</summary>
    private static ProblemHttpResult Problem(int status, string message) =>
        TypedResults.Problem(detail: message, statusCode: status, extensions: new Dictionary<string, object?> { ["message"] = message });
}
