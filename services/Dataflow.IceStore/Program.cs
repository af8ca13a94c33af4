var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddIceStore();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
