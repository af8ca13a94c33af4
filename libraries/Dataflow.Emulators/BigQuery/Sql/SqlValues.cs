using System.Globalization;

namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>Ordering, equality, LIKE matching and casts over cell values.</summary>
internal static class SqlValues
{
    /// <summary>Orders two non-null values of comparable types (numbers across INTEGER/FLOAT/NUMERIC).</summary>
    public static int Compare(object left, object right) => (left, right) switch
    {
        (long a, long b) => a.CompareTo(b),
        (decimal a, decimal b) => a.CompareTo(b),
        (long a, decimal b) => ((decimal)a).CompareTo(b),
        (decimal a, long b) => a.CompareTo(b),
        (double or long or decimal, double or long or decimal) => ToDouble(left).CompareTo(ToDouble(right)),
        (string a, string b) => string.CompareOrdinal(a, b),
        (bool a, bool b) => a.CompareTo(b),
        (BqTimestamp a, BqTimestamp b) => a.CompareTo(b),
        (byte[] a, byte[] b) => a.AsSpan().SequenceCompareTo(b),
        _ => throw GoogleApiException.InvalidQuery($"Cannot compare values of types {TypeName(left)} and {TypeName(right)}"),
    };

    public static bool AreEqual(object? left, object? right) => (left, right) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (object?[] a, object?[] b) => a.Length == b.Length && a.Zip(b).All(pair => AreEqual(pair.First, pair.Second)),
        (IReadOnlyList<object?> a, IReadOnlyList<object?> b) => a.Count == b.Count && a.Zip(b).All(pair => AreEqual(pair.First, pair.Second)),
        (double a, double b) => a.Equals(b),
        _ => Compare(left, right) == 0,
    };

    public static int HashOf(object? value) => value switch
    {
        null => 0,
        object?[] record => record.Aggregate(17, (hash, item) => unchecked((hash * 31) + HashOf(item))),
        IReadOnlyList<object?> items => items.Aggregate(19, (hash, item) => unchecked((hash * 31) + HashOf(item))),
        byte[] bytes => bytes.Length == 0 ? 1 : bytes.Aggregate(23, (hash, b) => unchecked((hash * 31) + b)),
        long l => ((double)l).GetHashCode(),
        decimal m => ((double)m).GetHashCode(),
        _ => value.GetHashCode(),
    };

    public static double ToDouble(object value) => value switch
    {
        long l => l,
        double d => d,
        decimal m => (double)m,
        _ => throw GoogleApiException.InvalidQuery($"Expected a number but got {TypeName(value)}"),
    };

    public static decimal ToDecimal(object value) => value switch
    {
        long l => l,
        decimal m => m,
        double d => (decimal)d,
        _ => throw GoogleApiException.InvalidQuery($"Expected a number but got {TypeName(value)}"),
    };

    /// <summary>GoogleSQL LIKE: % matches any run, _ one character, backslash escapes.</summary>
    public static bool Like(string text, string pattern)
    {
        int t = 0, p = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '%')
            {
                starP = p++;
                starT = t;
            }
            else if (p < pattern.Length && Matches(pattern, ref p, text[t]))
            {
                t++;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '%')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool Matches(string pattern, ref int p, char c)
    {
        if (pattern[p] == '\\' && p + 1 < pattern.Length)
        {
            if (pattern[p + 1] != c)
            {
                return false;
            }

            p += 2;
            return true;
        }

        if (pattern[p] == '_' || pattern[p] == c)
        {
            p++;
            return true;
        }

        return false;
    }

    /// <summary>CAST / SAFE_CAST; null on failure when <paramref name="safe"/>.</summary>
    public static object? Cast(object? value, string target, bool safe)
    {
        if (value is null)
        {
            return null;
        }

        object? result = (target, value) switch
        {
            ("STRING", BqTimestamp ts) => ts.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss.FFFFFFzzz", CultureInfo.InvariantCulture),
            ("STRING", byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes),
            ("STRING", _) => BigQueryValues.FormatScalar(value, int64Timestamps: true),
            ("INTEGER", long l) => l,
            ("INTEGER", double d) => double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)Math.Round(d, MidpointRounding.AwayFromZero) : null,
            ("INTEGER", decimal m) => m is > long.MinValue and < long.MaxValue ? (long)Math.Round(m, MidpointRounding.AwayFromZero) : null,
            ("INTEGER", bool b) => b ? 1L : 0L,
            ("FLOAT", long or double or decimal) => ToDouble(value),
            ("NUMERIC", long or decimal) => ToDecimal(value),
            ("NUMERIC", double d) => double.IsFinite(d) && Math.Abs(d) < 7.9e28 ? (decimal)d : null,
            ("BOOLEAN", bool b) => b,
            ("BOOLEAN", long l) => l != 0,
            ("BYTES", string s) => System.Text.Encoding.UTF8.GetBytes(s),
            ("BYTES", byte[] bytes) => bytes,
            ("TIMESTAMP", BqTimestamp ts) => ts,
            (_, string s) => BigQueryValues.ParseScalar(s.Trim(), target),
            _ => null,
        };
        return result is null && !safe
            ? throw GoogleApiException.InvalidQuery($"Invalid cast from {TypeName(value)} to {target}: {BigQueryValues.FormatScalar(value, true)}")
            : result;
    }

    public static string TypeName(object? value) => value switch
    {
        null => "NULL",
        long => "INT64",
        double => "FLOAT64",
        decimal => "NUMERIC",
        bool => "BOOL",
        string => "STRING",
        byte[] => "BYTES",
        BqTimestamp => "TIMESTAMP",
        object?[] => "STRUCT",
        _ => "ARRAY",
    };
}

/// <summary>Structural equality of rows (DISTINCT, GROUP BY keys).</summary>
internal sealed class RowComparer : IEqualityComparer<object?[]>
{
    public static readonly RowComparer Instance = new();

    public bool Equals(object?[]? x, object?[]? y) => SqlValues.AreEqual(x, y);

    public int GetHashCode(object?[] obj) => SqlValues.HashOf(obj);
}
