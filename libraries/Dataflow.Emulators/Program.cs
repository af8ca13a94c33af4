using Dataflow.Emulators;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGoogleEmulators();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGoogleEmulatorsApi();
app.Run();
