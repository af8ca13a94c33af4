using System.ComponentModel.DataAnnotations;

namespace Dataflow.Emulators;

/// <summary>Settings of the Cloud Storage and BigQuery stand-ins, bound from the "Emulators" section.</summary>
public sealed class EmulatorOptions
{
    public const string SectionName = "Emulators";

    /// <summary>
    /// Folder where buckets, objects, datasets, tables and rows are persisted; null keeps everything in memory.
    /// Also settable with the <c>--data-dir</c> command-line switch.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>How long an insertId is remembered for best-effort de-duplication of streaming inserts.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan InsertIdDeduplicationWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an idle resumable upload session lives (Cloud Storage keeps them a week).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan ResumableSessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Whether objects get an md5Hash (Cloud Storage gives every non-composite object one). MD5 is the slowest part of
    /// an upload; switching it off leaves objects with crc32c only, as Cloud Storage does for composite objects.
    /// An MD5 the client sends is still verified.
    /// </summary>
    public bool ComputeMd5Hash { get; set; } = true;

    /// <summary>Default page size of BigQuery tabledata.list and getQueryResults when maxResults is absent.</summary>
    [Range(1, 100_000)]
    public int DefaultBigQueryPageSize { get; set; } = 10_000;
}
