var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddIngestion();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
