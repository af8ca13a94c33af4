using System.Text.Json.Nodes;
using Dataflow.Emulators;
using Dataflow.Emulators.BigQuery;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dataflow.Tests.Unit.Emulators;

[Trait("Category", "Unit")]
public sealed class EmulatorConfigurationTests
{
    [Fact]
    public void Data_dir_switch_and_Emulators_section_bind_to_the_options()
    {
        var directory = Path.Combine(Path.GetTempPath(), "emulator-options-" + Guid.NewGuid().ToString("N"));
        try
        {
            var builder = WebApplication.CreateBuilder(["--data-dir", directory, "--Emulators:ComputeMd5Hash", "false"]);
            builder.AddGoogleEmulators();
            using var app = builder.Build();

            var options = app.Services.GetRequiredService<IOptions<EmulatorOptions>>().Value;

            Assert.Equal(directory, options.DataDirectory);
            Assert.False(options.ComputeMd5Hash);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public void Out_of_range_settings_fail_validation_naming_the_setting()
    {
        var builder = WebApplication.CreateBuilder(["--Emulators:DefaultBigQueryPageSize", "0"]);
        builder.AddGoogleEmulators();
        using var app = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<EmulatorOptions>>().Value);

        Assert.Contains("DefaultBigQueryPageSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_insertId_is_forgotten_once_the_deduplication_window_has_passed()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var store = new BigQueryStore(null, time, TimeSpan.FromMinutes(1));
        store.CreateDataset("p", "d", null, null, null, null);
        store.CreateTable(new StoredTable("p", "d", "t", new TableSchema([new TableFieldSchema("x", "INTEGER", "NULLABLE")]),
            null, null, null, null, null, time.GetUtcNow(), time.GetUtcNow()));
        InsertRow[] row = [new("same-id", new JsonObject { ["x"] = 1 })];

        store.InsertAll("p", "d", "t", row, skipInvalidRows: false, ignoreUnknownValues: false);
        time.Advance(TimeSpan.FromSeconds(59));
        store.InsertAll("p", "d", "t", row, skipInvalidRows: false, ignoreUnknownValues: false);
        Assert.Equal(1, store.GetTable("p", "d", "t").NumRows);

        time.Advance(TimeSpan.FromSeconds(2));
        store.InsertAll("p", "d", "t", row, skipInvalidRows: false, ignoreUnknownValues: false);
        Assert.Equal(2, store.GetTable("p", "d", "t").NumRows);
    }

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
