namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>An expression of the supported GoogleSQL subset. Nodes are compared by reference; <see cref="SqlText"/> gives structure.</summary>
internal abstract class SqlExpr(SqlPosition position)
{
    public SqlPosition Position { get; } = position;
}

internal sealed class LiteralExpr(object? value, string type, SqlPosition position) : SqlExpr(position)
{
    public object? Value { get; } = value;

    public string Type { get; } = type;
}

internal sealed class ColumnExpr(IReadOnlyList<string> path, SqlPosition position) : SqlExpr(position)
{
    public IReadOnlyList<string> Path { get; } = path;
}

internal sealed class ParameterExpr(string? name, int index, SqlPosition position) : SqlExpr(position)
{
    /// <summary>The name of a named parameter (@name); null for a positional one (?).</summary>
    public string? Name { get; } = name;

    public int Index { get; } = index;
}

internal sealed class UnaryExpr(string op, SqlExpr operand, SqlPosition position) : SqlExpr(position)
{
    public string Op { get; } = op;

    public SqlExpr Operand { get; } = operand;
}

internal sealed class BinaryExpr(string op, SqlExpr left, SqlExpr right, SqlPosition position) : SqlExpr(position)
{
    public string Op { get; } = op;

    public SqlExpr Left { get; } = left;

    public SqlExpr Right { get; } = right;
}

internal sealed class IsNullExpr(SqlExpr operand, bool negated, SqlPosition position) : SqlExpr(position)
{
    public SqlExpr Operand { get; } = operand;

    public bool Negated { get; } = negated;
}

internal sealed class InExpr(SqlExpr operand, IReadOnlyList<SqlExpr> items, bool negated, SqlPosition position) : SqlExpr(position)
{
    public SqlExpr Operand { get; } = operand;

    public IReadOnlyList<SqlExpr> Items { get; } = items;

    public bool Negated { get; } = negated;
}

internal sealed class LikeExpr(SqlExpr operand, SqlExpr pattern, bool negated, SqlPosition position) : SqlExpr(position)
{
    public SqlExpr Operand { get; } = operand;

    public SqlExpr Pattern { get; } = pattern;

    public bool Negated { get; } = negated;
}

internal sealed class BetweenExpr(SqlExpr operand, SqlExpr low, SqlExpr high, bool negated, SqlPosition position) : SqlExpr(position)
{
    public SqlExpr Operand { get; } = operand;

    public SqlExpr Low { get; } = low;

    public SqlExpr High { get; } = high;

    public bool Negated { get; } = negated;
}

internal sealed class CastExpr(SqlExpr operand, string targetType, bool safe, SqlPosition position) : SqlExpr(position)
{
    public SqlExpr Operand { get; } = operand;

    public string TargetType { get; } = targetType;

    public bool Safe { get; } = safe;
}

internal sealed class FunctionExpr(string name, IReadOnlyList<SqlExpr> arguments, bool star, bool distinct, SqlPosition position) : SqlExpr(position)
{
    /// <summary>Upper-case function name.</summary>
    public string Name { get; } = name;

    public IReadOnlyList<SqlExpr> Arguments { get; } = arguments;

    /// <summary>COUNT(*).</summary>
    public bool Star { get; } = star;

    public bool Distinct { get; } = distinct;

    public bool IsAggregate => Name is "COUNT" or "SUM" or "MIN" or "MAX" or "AVG" or "COUNTIF" or "LOGICAL_AND" or "LOGICAL_OR";
}

/// <summary>One entry of the select list: an expression with an optional alias, or * / alias.*.</summary>
internal sealed record SelectItem(SqlExpr? Expression, string? Alias, bool IsStar, string? StarQualifier, SqlPosition Position);

internal sealed record OrderItem(SqlExpr Expression, bool Descending, bool? NullsFirst);

/// <summary>A table path: project (optional), dataset (optional with a default dataset) and table.</summary>
internal sealed record TableName(string? Project, string? Dataset, string Table, SqlPosition Position);

internal sealed record SelectStatement(
    bool Distinct,
    IReadOnlyList<SelectItem> Items,
    TableName? From,
    string? FromAlias,
    SqlExpr? Where,
    IReadOnlyList<SqlExpr> GroupBy,
    SqlExpr? Having,
    IReadOnlyList<OrderItem> OrderBy,
    SqlExpr? Limit,
    SqlExpr? Offset,
    int PositionalParameterCount);

/// <summary>Canonical text of an expression, used to match SELECT expressions against GROUP BY expressions.</summary>
internal static class SqlText
{
    public static string Of(SqlExpr expr) => expr switch
    {
        LiteralExpr l => l.Value is null ? "NULL" : $"{l.Type}:{Convert.ToString(l.Value, System.Globalization.CultureInfo.InvariantCulture)}",
        ColumnExpr c => string.Join('.', c.Path).ToUpperInvariant(),
        ParameterExpr p => p.Name is null ? $"?{p.Index}" : $"@{p.Name.ToUpperInvariant()}",
        UnaryExpr u => $"({u.Op} {Of(u.Operand)})",
        BinaryExpr b => $"({Of(b.Left)} {b.Op} {Of(b.Right)})",
        IsNullExpr n => $"({Of(n.Operand)} IS {(n.Negated ? "NOT " : string.Empty)}NULL)",
        InExpr i => $"({Of(i.Operand)} {(i.Negated ? "NOT " : string.Empty)}IN ({string.Join(", ", i.Items.Select(Of))}))",
        LikeExpr k => $"({Of(k.Operand)} {(k.Negated ? "NOT " : string.Empty)}LIKE {Of(k.Pattern)})",
        BetweenExpr w => $"({Of(w.Operand)} {(w.Negated ? "NOT " : string.Empty)}BETWEEN {Of(w.Low)} AND {Of(w.High)})",
        CastExpr c => $"{(c.Safe ? "SAFE_CAST" : "CAST")}({Of(c.Operand)} AS {c.TargetType})",
        FunctionExpr f => $"{f.Name}({(f.Distinct ? "DISTINCT " : string.Empty)}{(f.Star ? "*" : string.Join(", ", f.Arguments.Select(Of)))})",
        _ => throw new ArgumentOutOfRangeException(nameof(expr), expr.GetType().Name, "Unknown expression node."),
    };
}
