using Dataflow.Ingestion.Routing;
using Microsoft.Extensions.Options;

namespace Dataflow.Ingestion;

/// <summary>Validates the options at start, including the routing file (file, line and reason) and the broker settings.</summary>
internal sealed class IngestionOptionsValidator : IValidateOptions<IngestionOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestionOptions options)
    {
        var errors = new List<string>(options.Pipeline.Validate($"{IngestionOptions.Section}:Pipeline"));
        if (string.IsNullOrWhiteSpace(options.RoutingFile))
        {
            errors.Add($"{IngestionOptions.Section}:RoutingFile is required (path of the YAML routing file).");
        }
        else
        {
            try
            {
                RoutingFileLoader.Load(options.RoutingFile);
            }
            catch (RoutingConfigurationException ex)
            {
                errors.Add($"{IngestionOptions.Section}:RoutingFile: {ex.Message}");
            }
        }

        try
        {
            MqttClientFactory.CreateOptions(options);
        }
        catch (ArgumentException ex)
        {
            errors.Add(ex.Message);
        }

        if (options.DeviceIdTopicLevel is < 0)
        {
            errors.Add($"{IngestionOptions.Section}:DeviceIdTopicLevel must be 0 or more (was {options.DeviceIdTopicLevel}).");
        }

        if (options.EnrichFromTopic && options.DeviceIdTopicLevel is null)
        {
            errors.Add($"{IngestionOptions.Section}:EnrichFromTopic needs {IngestionOptions.Section}:DeviceIdTopicLevel.");
        }

        if (options.MaxPublishRetryDelay <= TimeSpan.Zero)
        {
            errors.Add($"{IngestionOptions.Section}:MaxPublishRetryDelay must be positive.");
        }

        if (options.Publisher.MaxMessagesPerBatch is < 1 or > 1000)
        {
            errors.Add($"{IngestionOptions.Section}:Publisher:MaxMessagesPerBatch must be 1 to 1000 (was {options.Publisher.MaxMessagesPerBatch}).");
        }

        if (options.Publisher.DelayThreshold <= TimeSpan.Zero)
        {
            errors.Add($"{IngestionOptions.Section}:Publisher:DelayThreshold must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
