using Dataflow.Accounts;
using Dataflow.Accounts.Api;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddAccounts();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapAccountsApi();

app.Run();
