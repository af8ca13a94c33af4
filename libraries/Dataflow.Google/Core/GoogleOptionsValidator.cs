using Microsoft.Extensions.Options;

namespace Dataflow.Google.Core;

/// <summary>Start-up validation whose messages name the configuration keys at fault.</summary>
internal sealed class GoogleOptionsValidator<TOptions>(string section) : IValidateOptions<TOptions>
    where TOptions : GoogleClientOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var failures = options.Validate(section).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
