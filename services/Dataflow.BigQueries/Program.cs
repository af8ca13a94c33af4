var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddBigQueries();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
