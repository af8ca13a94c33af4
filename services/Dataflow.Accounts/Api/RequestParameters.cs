using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Dataflow.Accounts.Api;

/// <summary>Parses route and query values by hand so every bad value gets a 400 naming the parameter.</summary>
internal static class RequestParameters
{
    public static bool TryGuid(string? value, string name, out Guid result, [NotNullWhen(false)] out string? error)
    {
        result = default;
        if (string.IsNullOrEmpty(value))
        {
            error = $"Missing parameter '{name}'.";
            return false;
        }

        if (!Guid.TryParse(value, out result))
        {
            error = $"Parameter '{name}' must be a UUID; got '{value}'.";
            return false;
        }

        error = null;
        return true;
    }

    public static bool TryAmount(string? value, string name, out long result, [NotNullWhen(false)] out string? error)
    {
        result = default;
        if (string.IsNullOrEmpty(value))
        {
            error = $"Missing parameter '{name}'.";
            return false;
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result))
        {
            error = null;
            return true;
        }

        error = IsInteger(value)
            ? $"Parameter '{name}' is out of range: it must be between {long.MinValue} and {long.MaxValue}; got '{value}'."
            : $"Parameter '{name}' must be an integer amount in minor units; got '{value}'.";
        return false;
    }

    private static bool IsInteger(string value)
    {
        var digits = value.AsSpan(value[0] is '+' or '-' ? 1 : 0);
        return !digits.IsEmpty && !digits.ContainsAnyExceptInRange('0', '9');
    }
}
