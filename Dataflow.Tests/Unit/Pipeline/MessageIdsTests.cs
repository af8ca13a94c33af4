using System.Globalization;
using Dataflow.Pipeline;

namespace Dataflow.Tests.Unit.Pipeline;

[Trait("Category", "Unit")]
public sealed class MessageIdsTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void An_id_is_a_version_7_uuid_in_32_lowercase_hex_digits_carrying_the_unix_milliseconds()
    {
        var now = new DateTimeOffset(2026, 11, 21, 12, 34, 56, 789, TimeSpan.Zero);

        var id = MessageIds.NewVersion7(new FixedTime(now));

        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(now.ToUnixTimeMilliseconds(), long.Parse(id[..12], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        var guid = Guid.ParseExact(id, "N");
        Assert.Equal(7, guid.Version);
        // RFC 9562 variant: the top two bits of byte 8 are 10.
        Assert.Contains(id[16], "89ab");
    }

    [Fact]
    public void Ids_made_in_the_same_millisecond_are_distinct()
    {
        var time = new FixedTime(DateTimeOffset.UnixEpoch.AddDays(20_000));

        var ids = Enumerable.Range(0, 100_000).Select(_ => MessageIds.NewVersion7(time)).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(100_000, ids.Count);
    }
}
