using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataflow.Emulators.BigQuery;

/// <summary>
/// Mirrors datasets and tables into a folder: bigquery/{project}/{dataset}/dataset.json, {table}.table.json and an
/// append-only {table}.rows.ndjson holding each row as the JSON it could be re-inserted with. Jobs are not persisted.
/// </summary>
internal sealed class BigQueryPersistence
{
    private readonly string _root;

    public BigQueryPersistence(string dataDirectory)
    {
        _root = Path.Combine(dataDirectory, "bigquery");
        Directory.CreateDirectory(_root);
    }

    public void SaveDataset(StoredDataset dataset)
    {
        var folder = DatasetFolder(dataset.Project, dataset.DatasetId);
        Directory.CreateDirectory(folder);
        WriteAtomically(Path.Combine(folder, "dataset.json"), JsonSerializer.SerializeToUtf8Bytes(dataset, EmulatorJson.Options));
    }

    public void DeleteDataset(string project, string datasetId) => Directory.Delete(DatasetFolder(project, datasetId), recursive: true);

    public void SaveTable(StoredTable table)
    {
        var folder = DatasetFolder(table.Project, table.DatasetId);
        WriteAtomically(Path.Combine(folder, table.TableId + ".table.json"), JsonSerializer.SerializeToUtf8Bytes(table, EmulatorJson.Options));
        File.WriteAllBytes(RowsPath(table), []);
    }

    public void DeleteTable(string project, string datasetId, string tableId)
    {
        var folder = DatasetFolder(project, datasetId);
        File.Delete(Path.Combine(folder, tableId + ".table.json"));
        File.Delete(Path.Combine(folder, tableId + ".rows.ndjson"));
    }

    public void AppendRows(StoredTable table, IReadOnlyList<object?[]> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.Append(BigQueryValues.ToInputJson(row, table.Schema.Fields).ToJsonString()).Append('\n');
        }

        File.AppendAllText(RowsPath(table), text.ToString());
    }

    public async Task<IReadOnlyList<(StoredDataset Dataset, IReadOnlyList<(StoredTable Table, IReadOnlyList<JsonObject> Rows)> Tables)>> LoadAsync(CancellationToken cancellationToken)
    {
        var result = new List<(StoredDataset, IReadOnlyList<(StoredTable, IReadOnlyList<JsonObject>)>)>();
        foreach (var projectFolder in Directory.EnumerateDirectories(_root))
        {
            foreach (var datasetFolder in Directory.EnumerateDirectories(projectFolder))
            {
                var datasetFile = Path.Combine(datasetFolder, "dataset.json");
                if (!File.Exists(datasetFile))
                {
                    continue;
                }

                var dataset = JsonSerializer.Deserialize<StoredDataset>(await File.ReadAllBytesAsync(datasetFile, cancellationToken), EmulatorJson.Options)
                    ?? throw new InvalidDataException($"Empty dataset file {datasetFile}.");
                var tables = new List<(StoredTable, IReadOnlyList<JsonObject>)>();
                foreach (var tableFile in Directory.EnumerateFiles(datasetFolder, "*.table.json"))
                {
                    var table = JsonSerializer.Deserialize<StoredTable>(await File.ReadAllBytesAsync(tableFile, cancellationToken), EmulatorJson.Options)
                        ?? throw new InvalidDataException($"Empty table file {tableFile}.");
                    var rows = new List<JsonObject>();
                    var rowsPath = RowsPath(table);
                    if (File.Exists(rowsPath))
                    {
                        foreach (var line in await File.ReadAllLinesAsync(rowsPath, cancellationToken))
                        {
                            // A torn last line (crash mid-append) is dropped; every complete line is a row.
                            if (line.Length > 0 && TryParseRow(line) is { } row)
                            {
                                rows.Add(row);
                            }
                        }
                    }

                    tables.Add((table, rows));
                }

                result.Add((dataset, tables));
            }
        }

        return result;
    }

    private static JsonObject? TryParseRow(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private string DatasetFolder(string project, string datasetId) => Path.Combine(_root, Uri.EscapeDataString(project), datasetId);

    private string RowsPath(StoredTable table) => Path.Combine(DatasetFolder(table.Project, table.DatasetId), table.TableId + ".rows.ndjson");

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
