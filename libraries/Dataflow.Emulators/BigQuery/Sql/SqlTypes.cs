namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>The static type of an expression: a BigQuery column type, possibly REPEATED, with sub-fields for RECORD.</summary>
internal sealed record SqlType(string Type, bool Repeated = false, IReadOnlyList<TableFieldSchema>? Fields = null)
{
    public static readonly SqlType Integer = new("INTEGER");
    public static readonly SqlType Float = new("FLOAT");
    public static readonly SqlType Numeric = new("NUMERIC");
    public static readonly SqlType Boolean = new("BOOLEAN");
    public static readonly SqlType String = new("STRING");

    public bool IsNumeric => !Repeated && Type is "INTEGER" or "FLOAT" or "NUMERIC";

    public bool IsTemporal => !Repeated && Type is "TIMESTAMP" or "DATE" or "DATETIME" or "TIME";

    public bool IsScalar => !Repeated && Type != "RECORD";

    public static SqlType Of(TableFieldSchema field) => new(field.Type, field.IsRepeated, field.Fields);

    /// <summary>GoogleSQL's name of the type, as used in error messages.</summary>
    public string Describe()
    {
        var scalar = Type switch
        {
            "INTEGER" => "INT64",
            "FLOAT" => "FLOAT64",
            "BOOLEAN" => "BOOL",
            "RECORD" => $"STRUCT<{string.Join(", ", (Fields ?? []).Select(f => $"{f.Name} {Of(f).Describe()}"))}>",
            var other => other,
        };
        return Repeated ? $"ARRAY<{scalar}>" : scalar;
    }
}

/// <summary>A resolved query parameter.</summary>
internal sealed record QueryParameter(SqlType Type, object? Value);

/// <summary>The table a query reads: its schema and a snapshot of its rows.</summary>
internal sealed record QuerySource(string TableId, string? Alias, IReadOnlyList<TableFieldSchema> Fields, IReadOnlyList<object?[]> Rows);

/// <summary>A query's result: output schema and rows of cell values.</summary>
internal sealed record QueryResult(TableSchema Schema, IReadOnlyList<object?[]> Rows);
