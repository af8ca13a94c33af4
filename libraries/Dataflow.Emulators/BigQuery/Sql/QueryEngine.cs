namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>
/// Type-checks and runs one parsed SELECT over an in-memory table snapshot: WHERE, GROUP BY with aggregates,
/// HAVING, DISTINCT, ORDER BY, LIMIT/OFFSET. Errors are BigQuery-style invalidQuery messages with positions.
/// </summary>
internal sealed partial class QueryEngine
{
    private readonly SelectStatement _statement;
    private readonly QuerySource? _source;
    private readonly IReadOnlyDictionary<string, QueryParameter> _named;
    private readonly IReadOnlyList<QueryParameter> _positional;
    private readonly Dictionary<SqlExpr, SqlType> _types = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<SqlExpr, int[]> _bindings = new(ReferenceEqualityComparer.Instance);

    private QueryEngine(SelectStatement statement, QuerySource? source, IReadOnlyDictionary<string, QueryParameter> named, IReadOnlyList<QueryParameter> positional)
    {
        _statement = statement;
        _source = source;
        _named = named;
        _positional = positional;
    }

    public static QueryResult Execute(
        SelectStatement statement, QuerySource? source, IReadOnlyDictionary<string, QueryParameter> named, IReadOnlyList<QueryParameter> positional) =>
        new QueryEngine(statement, source, named, positional).Run();

    private QueryResult Run()
    {
        var columns = ExpandSelectList();
        var groupBy = _statement.GroupBy.Select(e => ResolveGroupingReference(e, columns)).ToList();

        if (_statement.Where is { } where)
        {
            RejectAggregates(where, "WHERE clause");
            RequireBoolean(where, "WHERE clause");
        }

        foreach (var key in groupBy)
        {
            RejectAggregates(key, "GROUP BY clause");
            if (!TypeOf(key).IsScalar)
            {
                throw Error($"Grouping by expressions of type {TypeOf(key).Describe()} is not allowed", key.Position);
            }
        }

        foreach (var column in columns)
        {
            TypeOf(column.Expression);
        }

        var orderKeys = _statement.OrderBy.Select(o => ResolveOrderKey(o, columns)).ToList();
        var aggregating = groupBy.Count > 0
            || columns.Any(c => ContainsAggregate(c.Expression))
            || (_statement.Having is { } h && ContainsAggregate(h))
            || orderKeys.Any(k => k.Expression is { } e && ContainsAggregate(e));
        if (_statement.Having is { } having)
        {
            if (!aggregating)
            {
                throw Error("HAVING clause requires GROUP BY or aggregation to be present", having.Position);
            }

            RequireBoolean(having, "HAVING clause");
        }

        if (aggregating)
        {
            var groupTexts = groupBy.Select(SqlText.Of).ToHashSet(StringComparer.Ordinal);
            foreach (var column in columns)
            {
                EnsureGrouped(column.Expression, groupTexts, "SELECT list");
            }

            if (_statement.Having is { } havingExpr)
            {
                EnsureGrouped(havingExpr, groupTexts, "HAVING clause");
            }

            foreach (var key in orderKeys.Where(k => k.Expression is not null))
            {
                EnsureGrouped(key.Expression!, groupTexts, "ORDER BY clause");
            }
        }

        foreach (var key in orderKeys.Where(k => k.Expression is not null))
        {
            if (!TypeOf(key.Expression!).IsScalar)
            {
                throw Error($"ORDER BY does not support expressions of type {TypeOf(key.Expression!).Describe()}", key.Expression!.Position);
            }
        }

        var limit = EvaluateCount(_statement.Limit, "LIMIT");
        var offset = EvaluateCount(_statement.Offset, "OFFSET") ?? 0;
        var schema = BuildSchema(columns);

        var sourceRows = _source?.Rows ?? [Array.Empty<object?>()];
        var filtered = _statement.Where is { } filter
            ? sourceRows.Where(row => Evaluate(filter, row, null) is true).ToList()
            : sourceRows;

        var produced = new List<(object?[] Output, object?[] Keys)>();
        if (aggregating)
        {
            foreach (var group in Group(filtered, groupBy))
            {
                var representative = group.Count > 0 ? group[0] : new object?[_source?.Fields.Count ?? 0];
                if (_statement.Having is { } havingFilter && Evaluate(havingFilter, representative, group) is not true)
                {
                    continue;
                }

                var output = columns.Select(c => Evaluate(c.Expression, representative, group)).ToArray();
                produced.Add((output, OrderValues(orderKeys, output, representative, group)));
            }
        }
        else
        {
            foreach (var row in filtered)
            {
                var output = columns.Select(c => Evaluate(c.Expression, row, null)).ToArray();
                produced.Add((output, OrderValues(orderKeys, output, row, null)));
            }
        }

        IEnumerable<(object?[] Output, object?[] Keys)> ordered = produced;
        if (_statement.Distinct)
        {
            if (columns.Any(c => !TypeOf(c.Expression).IsScalar))
            {
                throw Error("SELECT DISTINCT cannot be used with arrays or structs", _statement.Items[0].Position);
            }

            var seen = new HashSet<object?[]>(RowComparer.Instance);
            ordered = ordered.Where(p => seen.Add(p.Output)).ToList();
        }

        if (orderKeys.Count > 0)
        {
            ordered = ordered.OrderBy(p => p.Keys, new OrderComparer(orderKeys));
        }

        var rows = ordered.Skip((int)Math.Min(offset, int.MaxValue)).Take((int)Math.Min(limit ?? int.MaxValue, int.MaxValue)).Select(p => p.Output).ToList();
        return new QueryResult(schema, rows);
    }

    private List<OutputColumn> ExpandSelectList()
    {
        var columns = new List<OutputColumn>();
        var anonymous = 0;
        foreach (var item in _statement.Items)
        {
            if (item.IsStar)
            {
                if (_source is null)
                {
                    throw Error("SELECT * must have a FROM clause", item.Position);
                }

                if (item.StarQualifier is { } qualifier && !NamesSource(qualifier))
                {
                    throw Error($"Unrecognized name: {qualifier}", item.Position);
                }

                foreach (var field in _source.Fields)
                {
                    columns.Add(new OutputColumn(new ColumnExpr([field.Name], item.Position), field.Name));
                }

                continue;
            }

            var expression = item.Expression!;
            var name = item.Alias ?? (expression is ColumnExpr column ? column.Path[^1] : $"f{anonymous++}_");
            columns.Add(new OutputColumn(expression, name));
        }

        var duplicate = columns.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw GoogleApiException.InvalidQuery($"Duplicate column names in the result are not supported. Found duplicate(s): {duplicate.Key}");
        }

        return columns;
    }

    private SqlExpr ResolveGroupingReference(SqlExpr expression, List<OutputColumn> columns)
    {
        if (expression is LiteralExpr { Value: long position })
        {
            return position >= 1 && position <= columns.Count
                ? columns[(int)position - 1].Expression
                : throw Error($"GROUP BY is out of SELECT column number range: {position}", expression.Position);
        }

        if (expression is ColumnExpr { Path.Count: 1 } column && !HasColumn(column.Path[0])
            && columns.FirstOrDefault(c => c.Name.Equals(column.Path[0], StringComparison.OrdinalIgnoreCase)) is { } aliased)
        {
            return aliased.Expression;
        }

        return expression;
    }

    private OrderKey ResolveOrderKey(OrderItem item, List<OutputColumn> columns)
    {
        var nullsFirst = item.NullsFirst ?? !item.Descending;
        if (item.Expression is LiteralExpr { Value: long position })
        {
            return position >= 1 && position <= columns.Count
                ? new OrderKey((int)position - 1, null, item.Descending, nullsFirst)
                : throw Error($"ORDER BY is out of SELECT column number range: {position}", item.Expression.Position);
        }

        if (item.Expression is ColumnExpr { Path.Count: 1 } column)
        {
            var index = columns.FindIndex(c => c.Name.Equals(column.Path[0], StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                return new OrderKey(index, null, item.Descending, nullsFirst);
            }
        }

        TypeOf(item.Expression);
        return new OrderKey(-1, item.Expression, item.Descending, nullsFirst);
    }

    private object?[] OrderValues(List<OrderKey> keys, object?[] output, object?[] row, IReadOnlyList<object?[]>? group)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        var values = new object?[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            values[i] = keys[i].OutputIndex >= 0 ? output[keys[i].OutputIndex] : Evaluate(keys[i].Expression!, row, group);
        }

        return values;
    }

    private List<List<object?[]>> Group(IReadOnlyList<object?[]> rows, List<SqlExpr> groupBy)
    {
        if (groupBy.Count == 0)
        {
            // Aggregation without GROUP BY yields exactly one row, even over no input.
            return [rows.ToList()];
        }

        var groups = new Dictionary<object?[], List<object?[]>>(RowComparer.Instance);
        var order = new List<List<object?[]>>();
        foreach (var row in rows)
        {
            var key = groupBy.Select(e => Evaluate(e, row, null)).ToArray();
            if (!groups.TryGetValue(key, out var members))
            {
                members = [];
                groups[key] = members;
                order.Add(members);
            }

            members.Add(row);
        }

        return order;
    }

    private long? EvaluateCount(SqlExpr? expression, string clause)
    {
        if (expression is null)
        {
            return null;
        }

        if (expression is not (LiteralExpr or ParameterExpr) || TypeOf(expression).Type != "INTEGER")
        {
            throw Error($"{clause} expects an integer literal or parameter", expression.Position);
        }

        return Evaluate(expression, [], null) switch
        {
            long value when value >= 0 => value,
            null => throw Error($"{clause} must not be NULL", expression.Position),
            var value => throw Error($"{clause} must not be negative, but got {value}", expression.Position),
        };
    }

    private TableSchema BuildSchema(List<OutputColumn> columns) => new(
        [.. columns.Select(c =>
        {
            var type = TypeOf(c.Expression);
            return new TableFieldSchema(c.Name, type.Type, type.Repeated ? "REPEATED" : "NULLABLE", type.Fields);
        })]);

    private bool NamesSource(string name) =>
        _source is not null && (name.Equals(_source.Alias, StringComparison.OrdinalIgnoreCase)
            || (_source.Alias is null && name.Equals(_source.TableId, StringComparison.OrdinalIgnoreCase)));

    private bool HasColumn(string name) => _source?.Fields.Any(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? false;

    private static GoogleApiException Error(string message, SqlPosition position) => SqlLexer.Error(message, position);

    private sealed record OutputColumn(SqlExpr Expression, string Name);

    private sealed record OrderKey(int OutputIndex, SqlExpr? Expression, bool Descending, bool NullsFirst);

    private sealed class OrderComparer(List<OrderKey> keys) : IComparer<object?[]>
    {
        public int Compare(object?[]? x, object?[]? y)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                var (a, b) = (x![i], y![i]);
                int result;
                if (a is null || b is null)
                {
                    result = a is null && b is null ? 0 : (a is null) == keys[i].NullsFirst ? -1 : 1;
                }
                else
                {
                    result = SqlValues.Compare(a, b);
                    if (keys[i].Descending)
                    {
                        result = -result;
                    }
                }

                if (result != 0)
                {
                    return result;
                }
            }

            return 0;
        }
    }
}
