using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Dataflow.Pipeline.Envelopes;

/// <summary>
/// An RFC 3339 instant with nanosecond precision and its original UTC offset, so that a timestamp written by the
/// reference system (Go's RFC3339Nano) is re-encoded byte for byte. <see cref="DateTimeOffset"/> keeps only 100 ns.
/// </summary>
public readonly record struct RfcTimestamp
{
    private const long NanosPerSecond = 1_000_000_000;
    private static readonly long MinUnixSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    public RfcTimestamp(long unixSeconds, int nanoseconds, int offsetMinutes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nanoseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(nanoseconds, (int)NanosPerSecond);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Math.Abs(offsetMinutes), (23 * 60) + 59, nameof(offsetMinutes));
        ArgumentOutOfRangeException.ThrowIfLessThan(unixSeconds, MinUnixSeconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(unixSeconds, MaxUnixSeconds);
        UnixSeconds = unixSeconds;
        Nanoseconds = nanoseconds;
        OffsetMinutes = offsetMinutes;
    }

    /// <summary>Seconds since the Unix epoch (UTC).</summary>
    public long UnixSeconds { get; }

    /// <summary>Nanoseconds within the second, 0..999 999 999.</summary>
    public int Nanoseconds { get; }

    /// <summary>The UTC offset the instant was written with (0 = "Z").</summary>
    public int OffsetMinutes { get; }

    /// <summary>The instant, truncated to 100 ns, in its original offset.</summary>
    public DateTimeOffset ToDateTimeOffset() =>
        DateTimeOffset.FromUnixTimeSeconds(UnixSeconds).AddTicks(Nanoseconds / 100).ToOffset(TimeSpan.FromMinutes(OffsetMinutes));

    public static RfcTimestamp FromDateTimeOffset(DateTimeOffset value)
    {
        var utc = value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(utc, TimeSpan.TicksPerSecond, out var remainderTicks);
        if (remainderTicks < 0)
        {
            seconds--;
            remainderTicks += TimeSpan.TicksPerSecond;
        }

        return new RfcTimestamp(seconds, (int)(remainderTicks * 100), (int)value.Offset.TotalMinutes);
    }

    /// <summary>Longest formatted value: <c>yyyy-MM-ddTHH:mm:ss.fffffffff+hh:mm</c>.</summary>
    public const int MaxFormattedLength = 35;

    /// <summary>Formats like Go's <c>time.RFC3339Nano</c>: trailing zeros of the fraction are dropped.</summary>
    public override string ToString()
    {
        Span<char> buffer = stackalloc char[MaxFormattedLength];
        TryFormat(buffer, out var written);
        return new string(buffer[..written]);
    }

    /// <summary>
    /// Formats as <see cref="ToString"/> does into <paramref name="destination"/> without allocating (a hot path: one
    /// per archived or published message); false when it is shorter than <see cref="MaxFormattedLength"/>.
    /// </summary>
    public bool TryFormat(Span<char> destination, out int charsWritten)
    {
        charsWritten = 0;
        if (destination.Length < MaxFormattedLength)
        {
            return false;
        }

        var local = DateTimeOffset.FromUnixTimeSeconds(UnixSeconds).ToOffset(TimeSpan.FromMinutes(OffsetMinutes)).DateTime;
        WriteDigits(destination[..4], local.Year);
        destination[4] = '-';
        WriteDigits(destination[5..7], local.Month);
        destination[7] = '-';
        WriteDigits(destination[8..10], local.Day);
        destination[10] = 'T';
        WriteDigits(destination[11..13], local.Hour);
        destination[13] = ':';
        WriteDigits(destination[14..16], local.Minute);
        destination[16] = ':';
        WriteDigits(destination[17..19], local.Second);
        var written = 19;
        if (Nanoseconds != 0)
        {
            destination[written++] = '.';
            var digits = 9;
            var nanos = Nanoseconds;
            while (nanos % 10 == 0)
            {
                nanos /= 10;
                digits--;
            }

            WriteDigits(destination.Slice(written, digits), nanos);
            written += digits;
        }

        if (OffsetMinutes == 0)
        {
            destination[written++] = 'Z';
        }
        else
        {
            var offset = Math.Abs(OffsetMinutes);
            destination[written++] = OffsetMinutes < 0 ? '-' : '+';
            WriteDigits(destination.Slice(written, 2), offset / 60);
            destination[written + 2] = ':';
            WriteDigits(destination.Slice(written + 3, 2), offset % 60);
            written += 5;
        }

        charsWritten = written;
        return true;
    }

    /// <summary>Writes <paramref name="value"/> zero-padded to exactly the destination's length.</summary>
    private static void WriteDigits(Span<char> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (char)('0' + (value % 10));
            value /= 10;
        }
    }

    /// <summary>Parses an RFC 3339 date-time (<c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)</c>), up to 9 fraction digits.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, [NotNullWhen(true)] out RfcTimestamp? value)
    {
        value = null;
        if (text.Length < 20
            || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't')
            || text[13] != ':' || text[16] != ':'
            || !TryDigits(text[..4], out var year) || !TryDigits(text[5..7], out var month)
            || !TryDigits(text[8..10], out var day) || !TryDigits(text[11..13], out var hour)
            || !TryDigits(text[14..16], out var minute) || !TryDigits(text[17..19], out var second))
        {
            return false;
        }

        var position = 19;
        var nanos = 0;
        if (text[position] == '.')
        {
            position++;
            var start = position;
            while (position < text.Length && char.IsAsciiDigit(text[position]))
            {
                position++;
            }

            var fraction = text[start..position];
            if (fraction.Length is 0 or > 9 || !TryDigits(fraction, out nanos))
            {
                return false;
            }

            for (var i = fraction.Length; i < 9; i++)
            {
                nanos *= 10;
            }
        }

        if (position >= text.Length)
        {
            return false;
        }

        int offsetMinutes;
        if (text[position] is 'Z' or 'z' && position == text.Length - 1)
        {
            offsetMinutes = 0;
        }
        else if (text[position] is '+' or '-' && text.Length - position == 6 && text[position + 3] == ':'
            && TryDigits(text.Slice(position + 1, 2), out var offsetHours) && TryDigits(text.Slice(position + 4, 2), out var offsetMins)
            && offsetHours <= 23 && offsetMins <= 59)
        {
            offsetMinutes = ((offsetHours * 60) + offsetMins) * (text[position] == '-' ? -1 : 1);
        }
        else
        {
            return false;
        }

        if (month is < 1 or > 12 || day < 1 || year < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
        var utcSeconds = (long)(local - DateTime.UnixEpoch).TotalSeconds - (offsetMinutes * 60L);
        if (utcSeconds < MinUnixSeconds || utcSeconds > MaxUnixSeconds)
        {
            return false;
        }

        value = new RfcTimestamp(utcSeconds, nanos, offsetMinutes);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
