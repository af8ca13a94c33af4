namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>Static typing and name resolution.</summary>
internal sealed partial class QueryEngine
{
    private const string SupportedFunctions =
        "COUNT, COUNTIF, SUM, AVG, MIN, MAX, LOGICAL_AND, LOGICAL_OR, LOWER, UPPER, LENGTH, CONCAT, COALESCE, IFNULL, ABS, STARTS_WITH, ENDS_WITH, CAST, SAFE_CAST";

    private SqlType TypeOf(SqlExpr expression)
    {
        if (_types.TryGetValue(expression, out var known))
        {
            return known;
        }

        var type = Infer(expression);
        _types[expression] = type;
        return type;
    }

    private SqlType Infer(SqlExpr expression)
    {
        switch (expression)
        {
            case LiteralExpr literal:
                return new SqlType(literal.Type);
            case ColumnExpr column:
                return SqlType.Of(Bind(column).Field);
            case ParameterExpr parameter:
                return Parameter(parameter).Type;
            case UnaryExpr { Op: "NOT" } not:
                RequireBoolean(not.Operand, "NOT");
                return SqlType.Boolean;
            case UnaryExpr negate:
                var operandType = TypeOf(negate.Operand);
                return operandType.IsNumeric ? operandType : throw NoSignature("-", negate.Position, operandType);
            case BinaryExpr { Op: "AND" or "OR" } logical:
                RequireBoolean(logical.Left, logical.Op);
                RequireBoolean(logical.Right, logical.Op);
                return SqlType.Boolean;
            case BinaryExpr { Op: "IS" } test:
                RequireBoolean(test.Left, "IS");
                return SqlType.Boolean;
            case BinaryExpr { Op: "=" or "!=" or "<" or "<=" or ">" or ">=" } comparison:
                RequireComparable(comparison.Op, comparison.Left, comparison.Right, comparison.Position);
                return SqlType.Boolean;
            case BinaryExpr { Op: "||" } concat:
                RequireType(concat.Left, "STRING", "||");
                RequireType(concat.Right, "STRING", "||");
                return SqlType.String;
            case BinaryExpr arithmetic:
                return ArithmeticType(arithmetic);
            case IsNullExpr isNull:
                TypeOf(isNull.Operand);
                return SqlType.Boolean;
            case InExpr inList:
                foreach (var item in inList.Items)
                {
                    RequireComparable("IN", inList.Operand, item, inList.Position);
                }

                return SqlType.Boolean;
            case LikeExpr like:
                RequireType(like.Operand, "STRING", "LIKE");
                RequireType(like.Pattern, "STRING", "LIKE");
                return SqlType.Boolean;
            case BetweenExpr between:
                RequireComparable("BETWEEN", between.Operand, between.Low, between.Position);
                RequireComparable("BETWEEN", between.Operand, between.High, between.Position);
                return SqlType.Boolean;
            case CastExpr cast:
                var sourceType = TypeOf(cast.Operand);
                if (!sourceType.IsScalar || cast.TargetType is not ("STRING" or "INTEGER" or "FLOAT" or "NUMERIC" or "BOOLEAN" or "BYTES" or "TIMESTAMP" or "DATE" or "DATETIME" or "TIME"))
                {
                    throw Error($"Invalid cast from {sourceType.Describe()} to {cast.TargetType}", cast.Position);
                }

                return new SqlType(cast.TargetType);
            case FunctionExpr function:
                return FunctionType(function);
            default:
                throw Error("Unsupported expression", expression.Position);
        }
    }

    private SqlType ArithmeticType(BinaryExpr arithmetic)
    {
        var left = TypeOf(arithmetic.Left);
        var right = TypeOf(arithmetic.Right);
        if (!left.IsNumeric || !right.IsNumeric)
        {
            throw NoSignature(arithmetic.Op, arithmetic.Position, left, right);
        }

        if (left.Type == "FLOAT" || right.Type == "FLOAT")
        {
            return SqlType.Float;
        }

        if (left.Type == "NUMERIC" || right.Type == "NUMERIC")
        {
            return SqlType.Numeric;
        }

        return arithmetic.Op == "/" ? SqlType.Float : SqlType.Integer;
    }

    private SqlType FunctionType(FunctionExpr function)
    {
        var arguments = function.Arguments;
        if (function.IsAggregate)
        {
            foreach (var argument in arguments)
            {
                if (ContainsAggregate(argument))
                {
                    throw Error("Aggregations of aggregations are not allowed", argument.Position);
                }
            }
        }

        if (function.Distinct && !function.IsAggregate)
        {
            throw Error($"DISTINCT is only allowed in aggregate functions, not {function.Name}", function.Position);
        }

        switch (function.Name)
        {
            case "COUNT" when function.Star:
                return SqlType.Integer;
            case "COUNT":
                RequireArity(function, 1);
                TypeOf(arguments[0]);
                return SqlType.Integer;
            case "COUNTIF":
                RequireArity(function, 1);
                RequireBoolean(arguments[0], "COUNTIF");
                return SqlType.Integer;
            case "LOGICAL_AND" or "LOGICAL_OR":
                RequireArity(function, 1);
                RequireBoolean(arguments[0], function.Name);
                return SqlType.Boolean;
            case "SUM" or "AVG":
                RequireArity(function, 1);
                var numeric = TypeOf(arguments[0]);
                if (!numeric.IsNumeric)
                {
                    throw NoSignature(function.Name, function.Position, numeric);
                }

                return function.Name == "AVG" && numeric.Type == "INTEGER" ? SqlType.Float : numeric;
            case "MIN" or "MAX":
                RequireArity(function, 1);
                var ordered = TypeOf(arguments[0]);
                return ordered.IsScalar ? ordered : throw NoSignature(function.Name, function.Position, ordered);
            case "LOWER" or "UPPER":
                RequireArity(function, 1);
                RequireType(arguments[0], "STRING", function.Name);
                return SqlType.String;
            case "LENGTH":
                RequireArity(function, 1);
                var measured = TypeOf(arguments[0]);
                return measured.Type is "STRING" or "BYTES" && !measured.Repeated ? SqlType.Integer : throw NoSignature("LENGTH", function.Position, measured);
            case "STARTS_WITH" or "ENDS_WITH":
                RequireArity(function, 2);
                RequireType(arguments[0], "STRING", function.Name);
                RequireType(arguments[1], "STRING", function.Name);
                return SqlType.Boolean;
            case "CONCAT":
                if (arguments.Count == 0)
                {
                    throw Error("CONCAT needs at least one argument", function.Position);
                }

                foreach (var argument in arguments)
                {
                    RequireType(argument, "STRING", "CONCAT");
                }

                return SqlType.String;
            case "ABS":
                RequireArity(function, 1);
                var absolute = TypeOf(arguments[0]);
                return absolute.IsNumeric ? absolute : throw NoSignature("ABS", function.Position, absolute);
            case "COALESCE" or "IFNULL":
                if (function.Name == "IFNULL")
                {
                    RequireArity(function, 2);
                }
                else if (arguments.Count == 0)
                {
                    throw Error("COALESCE needs at least one argument", function.Position);
                }

                var result = arguments.Select(TypeOf).ToList();
                var chosen = arguments.Zip(result).FirstOrDefault(pair => pair.First is not LiteralExpr { Value: null }).Second ?? result[0];
                foreach (var (argument, type) in arguments.Zip(result))
                {
                    if (argument is not LiteralExpr { Value: null } && !Comparable(chosen, type))
                    {
                        throw NoSignature(function.Name, function.Position, [.. result]);
                    }
                }

                return chosen;
            default:
                throw Error($"Function not found: {function.Name} (the Dataflow emulator supports {SupportedFunctions})", function.Position);
        }
    }

    private (int[] Path, TableFieldSchema Field) Bind(ColumnExpr column)
    {
        if (_bindings.TryGetValue(column, out var cached))
        {
            return (cached, FieldAt(cached));
        }

        var path = column.Path;
        if (_source is null)
        {
            throw Error($"Unrecognized name: {path[0]}", column.Position);
        }

        var start = 0;
        if (!HasColumn(path[0]) && NamesSource(path[0]))
        {
            if (path.Count == 1)
            {
                throw Error($"Selecting the table {path[0]} as a value is not supported by the Dataflow emulator", column.Position);
            }

            start = 1;
        }

        var indexes = new int[path.Count - start];
        IReadOnlyList<TableFieldSchema> fields = _source.Fields;
        TableFieldSchema? field = null;
        for (var i = start; i < path.Count; i++)
        {
            if (field is not null && (!field.IsRecord || field.IsRepeated))
            {
                throw Error($"Cannot access field {path[i]} on a value with type {SqlType.Of(field).Describe()}", column.Position);
            }

            var index = -1;
            for (var j = 0; j < fields.Count; j++)
            {
                if (fields[j].Name.Equals(path[i], StringComparison.OrdinalIgnoreCase))
                {
                    index = j;
                    break;
                }
            }

            if (index < 0)
            {
                throw field is null
                    ? Error($"Unrecognized name: {path[i]}", column.Position)
                    : Error($"Field name {path[i]} does not exist in {SqlType.Of(field).Describe()}", column.Position);
            }

            indexes[i - start] = index;
            field = fields[index];
            fields = field.Fields ?? [];
        }

        _bindings[column] = indexes;
        return (indexes, field!);
    }

    private TableFieldSchema FieldAt(int[] path)
    {
        IReadOnlyList<TableFieldSchema> fields = _source!.Fields;
        TableFieldSchema field = null!;
        foreach (var index in path)
        {
            field = fields[index];
            fields = field.Fields ?? [];
        }

        return field;
    }

    private QueryParameter Parameter(ParameterExpr parameter)
    {
        if (parameter.Name is { } name)
        {
            return _named.TryGetValue(name, out var named)
                ? named
                : throw Error($"Query parameter '{name}' not found", parameter.Position);
        }

        return parameter.Index < _positional.Count
            ? _positional[parameter.Index]
            : throw Error($"Query parameter number {parameter.Index + 1} is not defined", parameter.Position);
    }

    private void RequireBoolean(SqlExpr expression, string context)
    {
        var type = TypeOf(expression);
        if (type.Type != "BOOLEAN" || type.Repeated)
        {
            throw Error($"{context} expects BOOL but got {type.Describe()}", expression.Position);
        }
    }

    private void RequireType(SqlExpr expression, string expected, string context)
    {
        var type = TypeOf(expression);
        if (type.Type != expected || type.Repeated)
        {
            throw NoSignature(context, expression.Position, type);
        }
    }

    private void RequireComparable(string op, SqlExpr left, SqlExpr right, SqlPosition position)
    {
        var leftType = TypeOf(left);
        var rightType = TypeOf(right);
        if (left is LiteralExpr { Value: null } || right is LiteralExpr { Value: null })
        {
            return;
        }

        if (!leftType.IsScalar || !rightType.IsScalar || !(Comparable(leftType, rightType) || Coercible(left, leftType, rightType) || Coercible(right, rightType, leftType)))
        {
            throw NoSignature(op, position, leftType, rightType);
        }
    }

    private static bool Comparable(SqlType left, SqlType right) =>
        (left.IsNumeric && right.IsNumeric) || (left.Type == right.Type && left.Repeated == right.Repeated);

    /// <summary>A STRING literal or parameter compared with a date/time column is read as that type (TIMESTAMP '...' implied).</summary>
    private static bool Coercible(SqlExpr expression, SqlType type, SqlType target) =>
        expression is LiteralExpr or ParameterExpr && type.Type == "STRING" && target.IsTemporal;

    private static void RequireArity(FunctionExpr function, int count)
    {
        if (function.Arguments.Count != count || function.Star)
        {
            throw Error($"Number of arguments does not match for function {function.Name}. Supported signature: {function.Name}({string.Join(", ", Enumerable.Repeat("ANY", count))})", function.Position);
        }
    }

    private static GoogleApiException NoSignature(string op, SqlPosition position, params SqlType[] types) =>
        Error($"No matching signature for {(op.All(char.IsLetter) && op.Length > 2 ? $"function {op}" : $"operator {op}")} for argument types: {string.Join(", ", types.Select(t => t.Describe()))}", position);

    private static bool ContainsAggregate(SqlExpr expression) => expression switch
    {
        FunctionExpr { IsAggregate: true } => true,
        FunctionExpr function => function.Arguments.Any(ContainsAggregate),
        UnaryExpr unary => ContainsAggregate(unary.Operand),
        BinaryExpr binary => ContainsAggregate(binary.Left) || ContainsAggregate(binary.Right),
        IsNullExpr isNull => ContainsAggregate(isNull.Operand),
        InExpr inList => ContainsAggregate(inList.Operand) || inList.Items.Any(ContainsAggregate),
        LikeExpr like => ContainsAggregate(like.Operand) || ContainsAggregate(like.Pattern),
        BetweenExpr between => ContainsAggregate(between.Operand) || ContainsAggregate(between.Low) || ContainsAggregate(between.High),
        CastExpr cast => ContainsAggregate(cast.Operand),
        _ => false,
    };

    private static void RejectAggregates(SqlExpr expression, string clause)
    {
        if (ContainsAggregate(expression))
        {
            throw Error($"Aggregate function is not allowed in {clause}", expression.Position);
        }
    }

    /// <summary>In an aggregating query every column reference must sit inside an aggregate or match a GROUP BY expression.</summary>
    private static void EnsureGrouped(SqlExpr expression, HashSet<string> groupTexts, string clause)
    {
        if (groupTexts.Contains(SqlText.Of(expression)))
        {
            return;
        }

        switch (expression)
        {
            case FunctionExpr { IsAggregate: true }:
            case LiteralExpr:
            case ParameterExpr:
                return;
            case ColumnExpr column:
                throw Error($"{clause} expression references column {string.Join('.', column.Path)} which is neither grouped nor aggregated", column.Position);
            case FunctionExpr function:
                function.Arguments.ToList().ForEach(a => EnsureGrouped(a, groupTexts, clause));
                return;
            case UnaryExpr unary:
                EnsureGrouped(unary.Operand, groupTexts, clause);
                return;
            case BinaryExpr binary:
                EnsureGrouped(binary.Left, groupTexts, clause);
                EnsureGrouped(binary.Right, groupTexts, clause);
                return;
            case IsNullExpr isNull:
                EnsureGrouped(isNull.Operand, groupTexts, clause);
                return;
            case InExpr inList:
                EnsureGrouped(inList.Operand, groupTexts, clause);
                inList.Items.ToList().ForEach(i => EnsureGrouped(i, groupTexts, clause));
                return;
            case LikeExpr like:
                EnsureGrouped(like.Operand, groupTexts, clause);
                EnsureGrouped(like.Pattern, groupTexts, clause);
                return;
            case BetweenExpr between:
                EnsureGrouped(between.Operand, groupTexts, clause);
                EnsureGrouped(between.Low, groupTexts, clause);
                EnsureGrouped(between.High, groupTexts, clause);
                return;
            case CastExpr cast:
                EnsureGrouped(cast.Operand, groupTexts, clause);
                return;
        }
    }
}
