using System.Net;
using System.Text.Json;
using Dataflow.Accounts.Domain;
using Dataflow.Accounts.EventStore;
using Microsoft.Extensions.DependencyInjection;

namespace Dataflow.Tests.Integration.Accounts;

/// <summary>Every row of the spec's HTTP tables, with exact status codes and bodies (in-memory store).</summary>
[Trait("Category", "Integration")]
public sealed class AccountsApiTests : IAsyncLifetime
{
    private readonly AccountsApp _app = AccountsApp.InMemory();
    private HttpClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _client = _app.CreateClient();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task Ping_answers_pong()
    {
        using var response = await _client.GetAsync("/ping", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pong", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Open_answers_201_with_empty_body_and_location()
    {
        var id = Guid.NewGuid();

        using var response = await _client.PostAsync($"/api/account/{id}?owner={Guid.NewGuid()}", null, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/account/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Get_answers_the_account_with_fields_in_spec_order()
    {
        var id = Guid.NewGuid();
        var owner = Guid.NewGuid();
        (await _client.PostAsync($"/api/account/{id}?owner={owner}", null, Ct)).Dispose();
        await Put($"/api/account/{id}?deposit=25&transactionId={Guid.NewGuid()}");

        using var response = await _client.GetAsync($"/api/account/{id}", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal($$"""{"accountId":"{{id}}","ownerId":"{{owner}}","balance":25,"open":true}""", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Events_lists_every_event_in_sequence_order_with_its_fields()
    {
        var id = Guid.NewGuid();
        var target = await _client.OpenAsync(Ct);
        var owner = Guid.NewGuid();
        (await _client.PostAsync($"/api/account/{id}?owner={owner}", null, Ct)).Dispose();
        var deposit = Guid.NewGuid();
        var withdraw = Guid.NewGuid();
        var transfer = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await Put($"/api/account/{id}/deposit?amount=10&transactionId={deposit}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Put($"/api/account/{id}/withdraw?amount=3&transactionId={withdraw}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Put($"/api/account/{id}/transfer?targetAccount={target}&amount=7&transactionId={transfer}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, $"/api/account/{id}")).Status);

        using var response = await _client.GetAsync($"/api/account/{id}/events", Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        var opened = json.RootElement[0].GetProperty("transactionId").GetGuid();
        var closed = json.RootElement[4].GetProperty("transactionId").GetGuid();
        Assert.Equal(
            "[" +
            $$"""{"sequenceNumber":1,"transactionId":"{{opened}}","type":"AccountOpened","ownerId":"{{owner}}"},""" +
            $$"""{"sequenceNumber":2,"transactionId":"{{deposit}}","type":"MoneyDeposited","amountDeposited":10,"balance":10},""" +
            $$"""{"sequenceNumber":3,"transactionId":"{{withdraw}}","type":"MoneyWithdrawn","amountWithdrawn":3,"balance":7},""" +
            $$"""{"sequenceNumber":4,"transactionId":"{{transfer}}","type":"MoneyWithdrawn","amountWithdrawn":7,"balance":0},""" +
            $$"""{"sequenceNumber":5,"transactionId":"{{closed}}","type":"AccountClosed"}""" +
            "]",
            body);
        Assert.NotEqual(opened, closed);
    }

    [Fact]
    public async Task Events_of_an_unknown_account_is_an_empty_array()
    {
        using var response = await _client.GetAsync($"/api/account/{Guid.NewGuid()}/events", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[]", await response.Content.ReadAsStringAsync(Ct));
    }

    [Theory]
    [InlineData("/api/account/{0}?deposit=40&transactionId={1}")]
    [InlineData("/api/account/{0}/deposit?amount=40&transactionId={1}")]
    public async Task Deposit_in_both_url_styles_answers_204_and_adds_to_the_balance(string template)
    {
        var id = await _client.OpenAsync(Ct);

        var (status, body) = await Put(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id, Guid.NewGuid()));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(string.Empty, body);
        Assert.Equal(40, await _client.BalanceAsync(id, Ct));
    }

    [Theory]
    [InlineData("/api/account/{0}?withdraw=15&transactionId={1}")]
    [InlineData("/api/account/{0}/withdraw?amount=15&transactionId={1}")]
    public async Task Withdraw_in_both_url_styles_answers_204_and_subtracts(string template)
    {
        var id = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, 40, Guid.NewGuid(), Ct);

        var (status, _) = await Put(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id, Guid.NewGuid()));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(25, await _client.BalanceAsync(id, Ct));
    }

    [Theory]
    [InlineData("/api/account/{0}?transfer={1}&amount=15&transactionId={2}")]
    [InlineData("/api/account/{0}/transfer?targetAccount={1}&amount=15&transactionId={2}")]
    public async Task Transfer_in_both_url_styles_answers_204_and_moves_the_money(string template)
    {
        var source = await _client.OpenAsync(Ct);
        var target = await _client.OpenAsync(Ct);
        await _client.DepositAsync(source, 40, Guid.NewGuid(), Ct);

        var (status, _) = await Put(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, source, target, Guid.NewGuid()));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(25, await _client.BalanceAsync(source, Ct));
        Assert.Equal(15, await _client.BalanceAsync(target, Ct));
    }

    [Fact]
    public async Task Close_answers_204_and_the_account_reads_closed()
    {
        var id = await _client.OpenAsync(Ct);

        var (status, body) = await Send(HttpMethod.Delete, $"/api/account/{id}");

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(string.Empty, body);
        using var response = await _client.GetAsync($"/api/account/{id}", Ct);
        Assert.Contains("\"open\":false", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Close_a_closed_account_answers_204_and_records_nothing()
    {
        var id = await _client.OpenAsync(Ct);
        await Send(HttpMethod.Delete, $"/api/account/{id}");

        var (status, _) = await Send(HttpMethod.Delete, $"/api/account/{id}");

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(2, await EventCount(id));
    }

    [Fact]
    public async Task Deposit_of_zero_answers_204_and_records_nothing()
    {
        var id = await _client.OpenAsync(Ct);

        Assert.Equal(HttpStatusCode.NoContent, (await Put($"/api/account/{id}/deposit?amount=0&transactionId={Guid.NewGuid()}")).Status);
        Assert.Equal(1, await EventCount(id));
    }

    [Theory]
    [InlineData("/api/account/not-a-uuid", "GET", "Parameter 'id' must be a UUID; got 'not-a-uuid'.")]
    [InlineData("/api/account/not-a-uuid/events", "GET", "Parameter 'id' must be a UUID; got 'not-a-uuid'.")]
    [InlineData("/api/account/123?owner=8a6e0804-2bd0-4672-b79d-d97027f9071a", "POST", "Parameter 'id' must be a UUID; got '123'.")]
    [InlineData("/api/account/8a6e0804-2bd0-4672-b79d-d97027f9071a?owner=bob", "POST", "Parameter 'owner' must be a UUID; got 'bob'.")]
    [InlineData("/api/account/8a6e0804-2bd0-4672-b79d-d97027f9071a", "POST", "Missing parameter 'owner'.")]
    [InlineData("/api/account/xyz", "DELETE", "Parameter 'id' must be a UUID; got 'xyz'.")]
    [InlineData("/api/account/xyz/deposit?amount=1&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'id' must be a UUID; got 'xyz'.")]
    [InlineData("/api/account/{0}/deposit?transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Missing parameter 'amount'.")]
    [InlineData("/api/account/{0}/deposit?amount=5", "PUT", "Missing parameter 'transactionId'.")]
    [InlineData("/api/account/{0}/deposit?amount=5&transactionId=nope", "PUT", "Parameter 'transactionId' must be a UUID; got 'nope'.")]
    [InlineData("/api/account/{0}/deposit?amount=1.5&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'amount' must be an integer amount in minor units; got '1.5'.")]
    [InlineData("/api/account/{0}/deposit?amount=ten&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'amount' must be an integer amount in minor units; got 'ten'.")]
    [InlineData("/api/account/{0}/deposit?amount=99999999999999999999&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'amount' is out of range: it must be between -9223372036854775808 and 9223372036854775807; got '99999999999999999999'.")]
    [InlineData("/api/account/{0}/withdraw?transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Missing parameter 'amount'.")]
    [InlineData("/api/account/{0}/transfer?amount=1&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Missing parameter 'targetAccount'.")]
    [InlineData("/api/account/{0}/transfer?targetAccount=abc&amount=1&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'targetAccount' must be a UUID; got 'abc'.")]
    [InlineData("/api/account/{0}?deposit=abc&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'deposit' must be an integer amount in minor units; got 'abc'.")]
    [InlineData("/api/account/{0}?withdraw=&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Missing parameter 'withdraw'.")]
    [InlineData("/api/account/{0}?transfer=zzz&amount=1&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Parameter 'transfer' must be a UUID; got 'zzz'.")]
    [InlineData("/api/account/{0}?transfer=8a6e0804-2bd0-4672-b79d-d97027f9071a&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Missing parameter 'amount'.")]
    [InlineData("/api/account/{0}?transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Missing parameter: one of 'deposit', 'withdraw' or 'transfer'.")]
    [InlineData("/api/account/{0}?deposit=1&withdraw=1&transactionId=8a6e0804-2bd0-4672-b79d-d97027f9071a", "PUT", "Give only one of the parameters 'deposit', 'withdraw' and 'transfer'.")]
    public async Task Malformed_or_missing_parameters_answer_400_naming_the_parameter(string template, string method, string message)
    {
        var id = await _client.OpenAsync(Ct);

        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id)), Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "Bad Request", message);
        Assert.Equal(1, await EventCount(id));
    }

    [Theory]
    [InlineData("/api/account/{0}/deposit?amount=-5&transactionId={1}")]
    [InlineData("/api/account/{0}?deposit=-5&transactionId={1}")]
    [InlineData("/api/account/{0}/withdraw?amount=-5&transactionId={1}")]
    [InlineData("/api/account/{0}?withdraw=-5&transactionId={1}")]
    [InlineData("/api/account/{0}/transfer?targetAccount={2}&amount=-5&transactionId={1}")]
    [InlineData("/api/account/{0}?transfer={2}&amount=-5&transactionId={1}")]
    public async Task Negative_amounts_answer_400(string template)
    {
        var id = await _client.OpenAsync(Ct);
        var other = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, 10, Guid.NewGuid(), Ct);

        using var response = await _client.PutAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id, Guid.NewGuid(), other), null, Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "Bad Request", "Amount must not be negative.");
        Assert.Equal(10, await _client.BalanceAsync(id, Ct));
        Assert.Equal(0, await _client.BalanceAsync(other, Ct));
    }

    [Fact]
    public async Task Transfer_to_the_same_account_answers_400_and_leaves_the_balance()
    {
        var id = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, 10, Guid.NewGuid(), Ct);

        using var response = await _client.PutAsync($"/api/account/{id}/transfer?targetAccount={id}&amount=5&transactionId={Guid.NewGuid()}", null, Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "Bad Request", "Cannot transfer to the same account.");
        Assert.Equal(10, await _client.BalanceAsync(id, Ct));
    }

    [Fact]
    public async Task Deposit_that_would_overflow_answers_400_and_leaves_the_balance()
    {
        var id = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, long.MaxValue, Guid.NewGuid(), Ct);

        using var response = await _client.PutAsync($"/api/account/{id}/deposit?amount=1&transactionId={Guid.NewGuid()}", null, Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "Bad Request", $"The balance of account {id} would exceed the largest representable amount.");
        Assert.Equal(long.MaxValue, await _client.BalanceAsync(id, Ct));
    }

    [Fact]
    public async Task Transfer_that_would_overflow_the_target_answers_400_and_moves_nothing()
    {
        var source = await _client.OpenAsync(Ct);
        var target = await _client.OpenAsync(Ct);
        await _client.DepositAsync(source, 10, Guid.NewGuid(), Ct);
        await _client.DepositAsync(target, long.MaxValue - 5, Guid.NewGuid(), Ct);

        using var response = await _client.PutAsync($"/api/account/{source}?transfer={target}&amount=6&transactionId={Guid.NewGuid()}", null, Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "Bad Request", $"The balance of account {target} would exceed the largest representable amount.");
        Assert.Equal(10, await _client.BalanceAsync(source, Ct));
        Assert.Equal(long.MaxValue - 5, await _client.BalanceAsync(target, Ct));
    }

    [Theory]
    [InlineData("/api/account/{0}/withdraw?amount=11&transactionId={1}")]
    [InlineData("/api/account/{0}?transfer={2}&amount=11&transactionId={1}")]
    public async Task Insufficient_balance_answers_400(string template)
    {
        var id = await _client.OpenAsync(Ct);
        var other = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, 10, Guid.NewGuid(), Ct);

        using var response = await _client.PutAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id, Guid.NewGuid(), other), null, Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "Bad Request", $"Insufficient balance in account {id}: balance 10, requested 11.");
        Assert.Equal(10, await _client.BalanceAsync(id, Ct));
    }

    [Theory]
    [InlineData("GET", "/api/account/{0}")]
    [InlineData("PUT", "/api/account/{0}/deposit?amount=1&transactionId={1}")]
    [InlineData("PUT", "/api/account/{0}?deposit=1&transactionId={1}")]
    [InlineData("PUT", "/api/account/{0}/withdraw?amount=1&transactionId={1}")]
    [InlineData("PUT", "/api/account/{0}?withdraw=1&transactionId={1}")]
    [InlineData("PUT", "/api/account/{0}/transfer?targetAccount={2}&amount=1&transactionId={1}")]
    [InlineData("DELETE", "/api/account/{0}")]
    public async Task Unknown_account_answers_404(string method, string template)
    {
        var missing = Guid.NewGuid();
        var other = await _client.OpenAsync(Ct);

        using var response = await _client.SendAsync(
            new HttpRequestMessage(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, template, missing, Guid.NewGuid(), other)),
            Ct);

        await AssertProblem(response, HttpStatusCode.NotFound, "Not Found", $"Account {missing} was not found.");
    }

    [Theory]
    [InlineData("/api/account/{0}/transfer?targetAccount={1}&amount=1&transactionId={2}")]
    [InlineData("/api/account/{0}?transfer={1}&amount=1&transactionId={2}")]
    public async Task Unknown_transfer_target_answers_404_and_moves_nothing(string template)
    {
        var source = await _client.OpenAsync(Ct);
        await _client.DepositAsync(source, 10, Guid.NewGuid(), Ct);
        var missing = Guid.NewGuid();

        using var response = await _client.PutAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, source, missing, Guid.NewGuid()), null, Ct);

        await AssertProblem(response, HttpStatusCode.NotFound, "Not Found", $"Transfer target account {missing} was not found.");
        Assert.Equal(10, await _client.BalanceAsync(source, Ct));
    }

    [Fact]
    public async Task Open_an_existing_account_answers_409()
    {
        var id = await _client.OpenAsync(Ct);

        using var response = await _client.PostAsync($"/api/account/{id}?owner={Guid.NewGuid()}", null, Ct);

        await AssertProblem(response, HttpStatusCode.Conflict, "Conflict", $"Account {id} already exists.");
    }

    [Theory]
    [InlineData("/api/account/{0}/deposit?amount=1&transactionId={1}", "{0}")]
    [InlineData("/api/account/{0}/withdraw?amount=1&transactionId={1}", "{0}")]
    [InlineData("/api/account/{0}/transfer?targetAccount={2}&amount=1&transactionId={1}", "{0}")]
    [InlineData("/api/account/{2}/transfer?targetAccount={0}&amount=1&transactionId={1}", "{0}")]
    public async Task Operations_on_a_closed_account_answer_409(string template, string closedTemplate)
    {
        var closed = await _client.OpenAsync(Ct);
        await Send(HttpMethod.Delete, $"/api/account/{closed}");
        var other = await _client.OpenAsync(Ct);
        await _client.DepositAsync(other, 10, Guid.NewGuid(), Ct);

        using var response = await _client.PutAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, closed, Guid.NewGuid(), other), null, Ct);

        await AssertProblem(response, HttpStatusCode.Conflict, "Conflict", $"Account {string.Format(System.Globalization.CultureInfo.InvariantCulture, closedTemplate, closed)} is closed.");
        Assert.Equal(10, await _client.BalanceAsync(other, Ct));
    }

    [Fact]
    public async Task Close_with_a_non_zero_balance_answers_409_not_500()
    {
        var id = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, 3, Guid.NewGuid(), Ct);

        var response = await _client.DeleteAsync($"/api/account/{id}", Ct);

        await AssertProblem(response, HttpStatusCode.Conflict, "Conflict", $"Account {id} cannot be closed: its balance is 3, not 0.");
    }

    [Theory]
    [InlineData("/api/account/{0}/deposit?amount=6&transactionId={1}")]
    [InlineData("/api/account/{0}/withdraw?amount=5&transactionId={1}")]
    [InlineData("/api/account/{0}/transfer?targetAccount={2}&amount=5&transactionId={1}")]
    public async Task Reusing_a_transaction_id_for_another_operation_or_amount_answers_409(string template)
    {
        var id = await _client.OpenAsync(Ct);
        var other = await _client.OpenAsync(Ct);
        var tx = Guid.NewGuid();
        await _client.DepositAsync(id, 5, tx, Ct);

        using var response = await _client.PutAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id, tx, other), null, Ct);

        await AssertProblem(response, HttpStatusCode.Conflict, "Conflict", $"Transaction {tx} was already used on account {id} for a different operation.");
        Assert.Equal(5, await _client.BalanceAsync(id, Ct));
    }

    [Theory]
    [InlineData("/api/account/{0}/deposit?amount=5&transactionId={1}", 15L, 0L)]
    [InlineData("/api/account/{0}?deposit=5&transactionId={1}", 15L, 0L)]
    [InlineData("/api/account/{0}/withdraw?amount=5&transactionId={1}", 5L, 0L)]
    [InlineData("/api/account/{0}/transfer?targetAccount={2}&amount=5&transactionId={1}", 5L, 5L)]
    [InlineData("/api/account/{0}?transfer={2}&amount=5&transactionId={1}", 5L, 5L)]
    public async Task Repeating_the_same_operation_answers_204_and_applies_once(string template, long balance, long otherBalance)
    {
        var id = await _client.OpenAsync(Ct);
        var other = await _client.OpenAsync(Ct);
        await _client.DepositAsync(id, 10, Guid.NewGuid(), Ct);
        var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id, Guid.NewGuid(), other);

        var first = await Put(url);
        var second = await Put(url);
        var third = await Put(url);

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.NoContent, HttpStatusCode.NoContent], new[] { first.Status, second.Status, third.Status });
        Assert.Equal(balance, await _client.BalanceAsync(id, Ct));
        Assert.Equal(otherBalance, await _client.BalanceAsync(other, Ct));
    }

    [Fact]
    public async Task A_failed_operation_leaves_its_transaction_id_free()
    {
        var id = await _client.OpenAsync(Ct);
        var tx = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.BadRequest, (await Put($"/api/account/{id}/withdraw?amount=5&transactionId={tx}")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await Put($"/api/account/{id}/deposit?amount=5&transactionId={tx}")).Status);
        Assert.Equal(5, await _client.BalanceAsync(id, Ct));
    }

    [Fact]
    public async Task A_transfer_is_a_repeat_when_its_transaction_id_is_on_the_target()
    {
        var source = await _client.OpenAsync(Ct);
        var target = await _client.OpenAsync(Ct);
        await _client.DepositAsync(source, 10, Guid.NewGuid(), Ct);
        var tx = Guid.NewGuid();
        await _client.TransferAsync(source, target, 4, tx, Ct);

        using var reverse = await _client.PutAsync($"/api/account/{target}/transfer?targetAccount={source}&amount=4&transactionId={tx}", null, Ct);

        await AssertProblem(reverse, HttpStatusCode.Conflict, "Conflict", $"Transaction {tx} was already used on account {target} for a different operation.");
        Assert.Equal(6, await _client.BalanceAsync(source, Ct));
    }

    [Fact]
    public async Task Conflicting_after_three_attempts_answers_409()
    {
        await using var app = AccountsApp.InMemory(services => services.AddSingleton<IEventStore>(new AlwaysConflictingStore()));
        using var client = app.CreateClient();
        var id = await client.OpenAsync(Ct);

        using var response = await client.PutAsync($"/api/account/{id}/deposit?amount=1&transactionId={Guid.NewGuid()}", null, Ct);

        await AssertProblem(response, HttpStatusCode.Conflict, "Conflict", $"Account {id} was modified concurrently; gave up after 3 attempts. Retry the request.");
    }

    [Fact]
    public async Task An_unavailable_event_store_answers_503_problem_not_500()
    {
        await using var app = AccountsApp.InMemory(services => services.AddSingleton<IEventStore>(new UnavailableStore()));
        using var client = app.CreateClient();

        using var response = await client.GetAsync($"/api/account/{Guid.NewGuid()}", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(503, json.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()));
    }

    [Theory]
    [InlineData("GET", "/api/account/{0}/balance")]
    [InlineData("PUT", "/api/account/{0}/frobnicate?amount=1")]
    [InlineData("GET", "/api/accounts")]
    [InlineData("GET", "/nothing/here")]
    public async Task Unknown_routes_and_actions_answer_404_problem(string method, string template)
    {
        var id = Guid.NewGuid();
        var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, id);

        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), Ct);

        await AssertProblem(response, HttpStatusCode.NotFound, "Not Found", $"No resource matches {method} {path.Split('?')[0]}.");
    }

    [Theory]
    [InlineData("PATCH", "/api/account/{0}")]
    [InlineData("POST", "/api/account/{0}/deposit")]
    [InlineData("DELETE", "/api/account/{0}/events")]
    [InlineData("GET", "/api/account/{0}/transfer")]
    [InlineData("POST", "/ping")]
    public async Task Wrong_methods_answer_405_problem(string method, string template)
    {
        var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Guid.NewGuid());

        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), Ct);

        await AssertProblem(response, HttpStatusCode.MethodNotAllowed, "Method Not Allowed", $"Method {method} is not allowed on {path}.");
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_both_url_styles()
    {
        using var response = await _client.GetAsync("/openapi/v1.json", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var paths = json.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/account/{id}", "/api/account/{id}/events", "/api/account/{id}/deposit", "/api/account/{id}/withdraw", "/api/account/{id}/transfer", "/ping" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI document lacks {path}");
        }

        var account = paths.GetProperty("/api/account/{id}");
        Assert.True(account.TryGetProperty("post", out _) && account.TryGetProperty("get", out _) && account.TryGetProperty("put", out _) && account.TryGetProperty("delete", out _));
    }

    private async Task<int> EventCount(Guid id)
    {
        using var response = await _client.GetAsync($"/api/account/{id}/events", Ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return json.RootElement.GetArrayLength();
    }

    private Task<(HttpStatusCode Status, string Body)> Put(string url) => Send(HttpMethod.Put, url);

    private async Task<(HttpStatusCode Status, string Body)> Send(HttpMethod method, string url)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(method, url), Ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    internal static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string title, string message)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal((int)status, root.GetProperty("status").GetInt32());
        Assert.Equal(title, root.GetProperty("title").GetString());
        Assert.Equal(message, root.GetProperty("detail").GetString());
        Assert.Equal(message, root.GetProperty("message").GetString());
    }

    /// <summary>A database that does not answer.</summary>
    private sealed class UnavailableStore : IEventStore
    {
        public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task PingAsync(CancellationToken cancellationToken) => throw new TimeoutException("database timed out");

        public Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken) => throw new TimeoutException("database timed out");

        public Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken) => throw new TimeoutException("database timed out");

        public Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken) =>
            throw new TimeoutException("database timed out");
    }

    /// <summary>Every append loses the race, as if another writer always got there first.</summary>
    private sealed class AlwaysConflictingStore : IEventStore
    {
        private readonly InMemoryEventStore _inner = new();
        private bool _opened;

        public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task PingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<StoredStream> LoadAsync(Guid accountId, Guid? transactionId, CancellationToken cancellationToken) => _inner.LoadAsync(accountId, transactionId, cancellationToken);

        public Task<IReadOnlyList<AccountEvent>> ReadStreamAsync(Guid accountId, CancellationToken cancellationToken) => _inner.ReadStreamAsync(accountId, cancellationToken);

        public Task AppendAsync(IReadOnlyList<AccountEvent> events, IReadOnlyList<AccountSnapshot> snapshots, CancellationToken cancellationToken)
        {
            if (!_opened)
            {
                _opened = true;
                return _inner.AppendAsync(events, snapshots, cancellationToken);
            }

            throw new ConcurrencyConflictException();
        }
    }
}
