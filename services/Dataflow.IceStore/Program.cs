using Dataflow.IceStore.Replay;

if (args is [ReplayCommand.Name, .. var replayArguments])
{
    return await ReplayCommand.RunAsync(replayArguments);
}

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddIceStore();

var app = builder.Build();

app.MapDefaultEndpoints();

await app.RunAsync();
return 0;
