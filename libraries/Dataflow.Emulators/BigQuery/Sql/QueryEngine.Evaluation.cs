namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>Evaluation of type-checked expressions with SQL's three-valued logic.</summary>
internal sealed partial class QueryEngine
{
    /// <summary>Evaluates against one row; aggregates read <paramref name="group"/> (the rows of the current group).</summary>
    private object? Evaluate(SqlExpr expression, object?[] row, IReadOnlyList<object?[]>? group)
    {
        switch (expression)
        {
            case LiteralExpr literal:
                return literal.Value;
            case ColumnExpr column:
                return ReadColumn(Bind(column).Path, row);
            case ParameterExpr parameter:
                return Parameter(parameter).Value;
            case UnaryExpr { Op: "NOT" } not:
                return Evaluate(not.Operand, row, group) is bool b ? !b : null;
            case UnaryExpr negate:
                return Evaluate(negate.Operand, row, group) switch
                {
                    null => null,
                    long l => l == long.MinValue ? throw GoogleApiException.InvalidQuery($"int64 overflow: -{l}") : -l,
                    double d => -d,
                    decimal m => -m,
                    var other => throw GoogleApiException.InvalidQuery($"Cannot negate {SqlValues.TypeName(other)}"),
                };
            case BinaryExpr { Op: "AND" } and:
                return And(Evaluate(and.Left, row, group), and.Right, row, group);
            case BinaryExpr { Op: "OR" } or:
                return Or(Evaluate(or.Left, row, group), or.Right, row, group);
            case BinaryExpr { Op: "IS" } test:
                return Equals(Evaluate(test.Left, row, group), ((LiteralExpr)test.Right).Value);
            case BinaryExpr { Op: "=" or "!=" or "<" or "<=" or ">" or ">=" } comparison:
                return Compare(comparison, row, group);
            case BinaryExpr binary:
                return Arithmetic(binary, Evaluate(binary.Left, row, group), Evaluate(binary.Right, row, group));
            case IsNullExpr isNull:
                return (Evaluate(isNull.Operand, row, group) is null) != isNull.Negated;
            case InExpr inList:
                return In(inList, row, group);
            case LikeExpr like:
                return (Evaluate(like.Operand, row, group), Evaluate(like.Pattern, row, group)) switch
                {
                    (string text, string pattern) => SqlValues.Like(text, pattern) != like.Negated,
                    _ => null,
                };
            case BetweenExpr between:
                var value = Evaluate(between.Operand, row, group);
                var low = CompareValues(between.Operand, value, between.Low, Evaluate(between.Low, row, group));
                var high = CompareValues(between.Operand, value, between.High, Evaluate(between.High, row, group));
                return low is null || high is null ? null : (low >= 0 && high <= 0) != between.Negated;
            case CastExpr cast:
                return SqlValues.Cast(Evaluate(cast.Operand, row, group), cast.TargetType, cast.Safe);
            case FunctionExpr { IsAggregate: true } aggregate:
                return Aggregate(aggregate, group ?? throw Error("Aggregate function used outside an aggregation", aggregate.Position));
            case FunctionExpr function:
                return Scalar(function, row, group);
            default:
                throw Error("Unsupported expression", expression.Position);
        }
    }

    private static object? ReadColumn(int[] path, object?[] row)
    {
        object? value = row;
        foreach (var index in path)
        {
            if (value is not object?[] record)
            {
                return null;
            }

            value = record[index];
        }

        return value;
    }

    private bool? And(object? left, SqlExpr rightExpression, object?[] row, IReadOnlyList<object?[]>? group)
    {
        if (left is false)
        {
            return false;
        }

        var right = Evaluate(rightExpression, row, group);
        return right is false ? false : left is null || right is null ? null : true;
    }

    private bool? Or(object? left, SqlExpr rightExpression, object?[] row, IReadOnlyList<object?[]>? group)
    {
        if (left is true)
        {
            return true;
        }

        var right = Evaluate(rightExpression, row, group);
        return right is true ? true : left is null || right is null ? null : false;
    }

    private bool? Compare(BinaryExpr comparison, object?[] row, IReadOnlyList<object?[]>? group)
    {
        var order = CompareValues(comparison.Left, Evaluate(comparison.Left, row, group), comparison.Right, Evaluate(comparison.Right, row, group));
        if (order is not { } result)
        {
            return null;
        }

        return comparison.Op switch
        {
            "=" => result == 0,
            "!=" => result != 0,
            "<" => result < 0,
            "<=" => result <= 0,
            ">" => result > 0,
            _ => result >= 0,
        };
    }

    /// <summary>Orders two values, reading a STRING literal as the date/time type it is compared with; null if either is NULL.</summary>
    private int? CompareValues(SqlExpr leftExpression, object? left, SqlExpr rightExpression, object? right)
    {
        if (left is null || right is null)
        {
            return null;
        }

        left = Coerce(left, TypeOf(leftExpression), TypeOf(rightExpression));
        right = Coerce(right, TypeOf(rightExpression), TypeOf(leftExpression));
        return SqlValues.Compare(left, right);
    }

    private static object Coerce(object value, SqlType type, SqlType target)
    {
        if (value is string text && type.Type == "STRING" && target.IsTemporal)
        {
            return BigQueryValues.ParseScalar(text, target.Type)
                ?? throw GoogleApiException.InvalidQuery($"Could not cast literal \"{text}\" to type {target.Type}");
        }

        return value;
    }

    private bool? In(InExpr inList, object?[] row, IReadOnlyList<object?[]>? group)
    {
        var value = Evaluate(inList.Operand, row, group);
        if (value is null)
        {
            return null;
        }

        var sawNull = false;
        foreach (var item in inList.Items)
        {
            var order = CompareValues(inList.Operand, value, item, Evaluate(item, row, group));
            if (order == 0)
            {
                return !inList.Negated;
            }

            sawNull |= order is null;
        }

        return sawNull ? null : inList.Negated;
    }

    private object? Arithmetic(BinaryExpr binary, object? left, object? right)
    {
        if (left is null || right is null)
        {
            return null;
        }

        var type = TypeOf(binary);
        try
        {
            if (binary.Op == "||")
            {
                return (string)left + (string)right;
            }

            if (binary.Op == "/" && SqlValues.ToDouble(right) == 0)
            {
                throw GoogleApiException.InvalidQuery($"division by zero: {BigQueryValues.FormatScalar(left, true)} / {BigQueryValues.FormatScalar(right, true)}");
            }

            return type.Type switch
            {
                "INTEGER" => binary.Op switch
                {
                    "+" => checked((long)left + (long)right),
                    "-" => checked((long)left - (long)right),
                    _ => checked((long)left * (long)right),
                },
                "NUMERIC" => binary.Op switch
                {
                    "+" => SqlValues.ToDecimal(left) + SqlValues.ToDecimal(right),
                    "-" => SqlValues.ToDecimal(left) - SqlValues.ToDecimal(right),
                    "*" => SqlValues.ToDecimal(left) * SqlValues.ToDecimal(right),
                    _ => SqlValues.ToDecimal(left) / SqlValues.ToDecimal(right),
                },
                _ => binary.Op switch
                {
                    "+" => SqlValues.ToDouble(left) + SqlValues.ToDouble(right),
                    "-" => SqlValues.ToDouble(left) - SqlValues.ToDouble(right),
                    "*" => SqlValues.ToDouble(left) * SqlValues.ToDouble(right),
                    _ => SqlValues.ToDouble(left) / SqlValues.ToDouble(right),
                },
            };
        }
        catch (OverflowException)
        {
            throw GoogleApiException.InvalidQuery(
                $"{type.Describe()} overflow: {BigQueryValues.FormatScalar(left, true)} {binary.Op} {BigQueryValues.FormatScalar(right, true)}");
        }
    }

    private object? Aggregate(FunctionExpr aggregate, IReadOnlyList<object?[]> group)
    {
        if (aggregate.Star)
        {
            return (long)group.Count;
        }

        var argument = aggregate.Arguments[0];
        IEnumerable<object?> values = group.Select(row => Evaluate(argument, row, null)).Where(v => v is not null);
        if (aggregate.Distinct)
        {
            values = values.Select(v => new object?[] { v }).Distinct(RowComparer.Instance).Select(v => v[0]);
        }

        var present = values.ToList();
        var type = TypeOf(aggregate);
        try
        {
            switch (aggregate.Name)
            {
                case "COUNT":
                    return (long)present.Count;
                case "COUNTIF":
                    return (long)present.Count(v => v is true);
                case "LOGICAL_AND":
                    return present.Count == 0 ? null : present.All(v => v is true);
                case "LOGICAL_OR":
                    return present.Count == 0 ? null : present.Any(v => v is true);
                case "MIN" or "MAX" when present.Count == 0:
                    return null;
                case "MIN":
                    return present.Aggregate((a, b) => SqlValues.Compare(a!, b!) <= 0 ? a : b);
                case "MAX":
                    return present.Aggregate((a, b) => SqlValues.Compare(a!, b!) >= 0 ? a : b);
                case "SUM" when present.Count == 0:
                case "AVG" when present.Count == 0:
                    return null;
                case "SUM":
                    return type.Type switch
                    {
                        "INTEGER" => present.Aggregate(0L, (sum, v) => checked(sum + (long)v!)),
                        "NUMERIC" => present.Aggregate(0m, (sum, v) => sum + SqlValues.ToDecimal(v!)),
                        _ => present.Sum(v => SqlValues.ToDouble(v!)),
                    };
                default:
                    return type.Type == "NUMERIC"
                        ? present.Aggregate(0m, (sum, v) => sum + SqlValues.ToDecimal(v!)) / present.Count
                        : present.Sum(v => SqlValues.ToDouble(v!)) / present.Count;
            }
        }
        catch (OverflowException)
        {
            throw GoogleApiException.InvalidQuery($"{type.Describe()} overflow in {aggregate.Name}");
        }
    }

    private object? Scalar(FunctionExpr function, object?[] row, IReadOnlyList<object?[]>? group)
    {
        var arguments = function.Arguments.Select(a => Evaluate(a, row, group)).ToList();
        switch (function.Name)
        {
            case "COALESCE" or "IFNULL":
                return arguments.FirstOrDefault(a => a is not null);
            case "CONCAT":
                return arguments.Any(a => a is null) ? null : string.Concat(arguments.Cast<string>());
        }

        if (arguments.Any(a => a is null))
        {
            return null;
        }

        return function.Name switch
        {
            "LOWER" => ((string)arguments[0]!).ToLowerInvariant(),
            "UPPER" => ((string)arguments[0]!).ToUpperInvariant(),
            "LENGTH" => arguments[0] is byte[] bytes ? (long)bytes.Length : (long)((string)arguments[0]!).EnumerateRunes().Count(),
            "STARTS_WITH" => ((string)arguments[0]!).StartsWith((string)arguments[1]!, StringComparison.Ordinal),
            "ENDS_WITH" => ((string)arguments[0]!).EndsWith((string)arguments[1]!, StringComparison.Ordinal),
            "ABS" => arguments[0] switch
            {
                long l => l == long.MinValue ? throw GoogleApiException.InvalidQuery("int64 overflow: ABS(-9223372036854775808)") : Math.Abs(l),
                double d => Math.Abs(d),
                var m => Math.Abs((decimal)m!),
            },
            _ => throw Error($"Function not found: {function.Name}", function.Position),
        };
    }
}
