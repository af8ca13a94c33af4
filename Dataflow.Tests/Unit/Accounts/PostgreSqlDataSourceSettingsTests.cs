using Dataflow.Accounts;

namespace Dataflow.Tests.Unit.Accounts;

[Trait("Category", "Unit")]
public sealed class PostgreSqlDataSourceSettingsTests
{
    [Fact]
    public void A_connection_string_without_settings_gets_multiplexing_and_auto_prepared_statements()
    {
        var settings = AccountsServiceCollectionExtensions.CreateDataSourceBuilder("Host=db;Username=app;Database=accounts").ConnectionStringBuilder;

        Assert.True(settings.Multiplexing);
        Assert.Equal(16, settings.MaxAutoPrepare);
        Assert.Equal(2, settings.AutoPrepareMinUsages);
    }

    [Fact]
    public void Settings_in_the_connection_string_win()
    {
        var settings = AccountsServiceCollectionExtensions.CreateDataSourceBuilder(
            "Host=db;Username=app;Database=accounts;Multiplexing=false;Max Auto Prepare=4;Auto Prepare Min Usages=5").ConnectionStringBuilder;

        Assert.False(settings.Multiplexing);
        Assert.Equal(4, settings.MaxAutoPrepare);
        Assert.Equal(5, settings.AutoPrepareMinUsages);
    }
}
