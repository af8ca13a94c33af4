var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddEnrich();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
