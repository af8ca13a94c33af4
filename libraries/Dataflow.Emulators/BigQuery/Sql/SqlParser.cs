using System.Globalization;

namespace Dataflow.Emulators.BigQuery.Sql;

/// <summary>Recursive-descent parser for the supported GoogleSQL subset (one SELECT statement over at most one table).</summary>
internal sealed class SqlParser
{
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS", "DESC", "DISTINCT", "ELSE", "END", "EXCEPT",
        "EXISTS", "FALSE", "FROM", "FULL", "GROUP", "HAVING", "IN", "INNER", "INTERSECT", "IS", "JOIN", "LEFT", "LIKE",
        "LIMIT", "NOT", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER", "OVER", "QUALIFY", "RIGHT", "SELECT", "THEN",
        "TRUE", "UNION", "UNNEST", "USING", "WHEN", "WHERE", "WINDOW", "WITH",
    };

    // Keywords of GoogleSQL features outside the stand-in's subset: named in the error instead of a vague syntax error.
    private static readonly HashSet<string> Unsupported = new(StringComparer.OrdinalIgnoreCase)
    {
        "JOIN", "CROSS", "FULL", "INNER", "LEFT", "RIGHT", "UNION", "INTERSECT", "EXCEPT", "WITH", "OVER", "WINDOW", "QUALIFY",
        "UNNEST", "CASE", "EXISTS", "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "DECLARE",
        "BEGIN", "CALL", "EXPORT", "LOAD", "PIVOT", "UNPIVOT", "TABLESAMPLE",
    };

    private readonly List<Token> _tokens;
    private int _index;
    private int _positionalParameters;

    private SqlParser(List<Token> tokens) => _tokens = tokens;

    public static bool IsReserved(string word) => Reserved.Contains(word);

    public static SelectStatement Parse(string sql)
    {
        var parser = new SqlParser(SqlLexer.Tokenize(sql));
        var statement = parser.ParseStatement();
        return statement;
    }

    private Token Current => _tokens[_index];

    private Token Next() => _tokens[_index++];

    private SelectStatement ParseStatement()
    {
        RejectUnsupported(Current);
        if (Current.Kind == TokenKind.Identifier && !Current.IsKeyword("SELECT") && !Current.IsSymbol("("))
        {
            throw SqlLexer.Error($"Syntax error: Unexpected {Current.Describe()}; only SELECT statements are supported by the Dataflow emulator", Current.Position);
        }

        var statement = ParseSelect();
        if (Current.IsSymbol(";"))
        {
            Next();
        }

        if (Current.Kind != TokenKind.End)
        {
            RejectUnsupported(Current);
            throw SqlLexer.Error($"Syntax error: Expected end of input but got {Current.Describe()}", Current.Position);
        }

        return statement;
    }

    private SelectStatement ParseSelect()
    {
        Expect("SELECT");
        var distinct = false;
        if (Current.IsKeyword("DISTINCT"))
        {
            Next();
            distinct = true;
        }
        else if (Current.IsKeyword("ALL"))
        {
            Next();
        }

        var items = new List<SelectItem> { ParseSelectItem() };
        while (Current.IsSymbol(","))
        {
            Next();
            items.Add(ParseSelectItem());
        }

        TableName? from = null;
        string? fromAlias = null;
        if (Accept("FROM"))
        {
            RejectUnsupported(Current);
            if (Current.IsSymbol("("))
            {
                throw SqlLexer.Error("Subqueries are not supported by the Dataflow emulator", Current.Position);
            }

            from = ParseTableName();
            fromAlias = ParseOptionalAlias();
            if (Current.IsSymbol(","))
            {
                throw SqlLexer.Error("Comma joins are not supported by the Dataflow emulator", Current.Position);
            }
        }

        var where = Accept("WHERE") ? ParseExpression() : null;
        var groupBy = new List<SqlExpr>();
        if (Accept("GROUP"))
        {
            Expect("BY");
            groupBy.Add(ParseExpression());
            while (Current.IsSymbol(","))
            {
                Next();
                groupBy.Add(ParseExpression());
            }
        }

        var having = Accept("HAVING") ? ParseExpression() : null;
        var orderBy = new List<OrderItem>();
        if (Accept("ORDER"))
        {
            Expect("BY");
            orderBy.Add(ParseOrderItem());
            while (Current.IsSymbol(","))
            {
                Next();
                orderBy.Add(ParseOrderItem());
            }
        }

        SqlExpr? limit = null;
        SqlExpr? offset = null;
        if (Accept("LIMIT"))
        {
            limit = ParsePrimary();
            if (Accept("OFFSET"))
            {
                offset = ParsePrimary();
            }
        }

        RejectUnsupported(Current);
        return new SelectStatement(distinct, items, from, fromAlias, where, groupBy, having, orderBy, limit, offset, _positionalParameters);
    }

    private SelectItem ParseSelectItem()
    {
        var position = Current.Position;
        if (Current.IsSymbol("*"))
        {
            Next();
            RejectStarModifiers();
            return new SelectItem(null, null, true, null, position);
        }

        if (Current.Kind is TokenKind.Identifier or TokenKind.QuotedIdentifier && !IsReservedToken(Current)
            && _tokens[_index + 1].IsSymbol(".") && _tokens[_index + 2].IsSymbol("*"))
        {
            var qualifier = Next().Text;
            Next();
            Next();
            RejectStarModifiers();
            return new SelectItem(null, null, true, qualifier, position);
        }

        var expression = ParseExpression();
        return new SelectItem(expression, ParseOptionalAlias(), false, null, position);
    }

    private void RejectStarModifiers()
    {
        if (Current.IsKeyword("EXCEPT") || Current.IsKeyword("REPLACE"))
        {
            throw SqlLexer.Error($"SELECT * {Current.Text.ToUpperInvariant()} is not supported by the Dataflow emulator", Current.Position);
        }
    }

    private string? ParseOptionalAlias()
    {
        if (Accept("AS"))
        {
            var token = Next();
            return token.Kind is TokenKind.Identifier or TokenKind.QuotedIdentifier && (token.Kind == TokenKind.QuotedIdentifier || !IsReserved(token.Text))
                ? token.Text
                : throw SqlLexer.Error($"Syntax error: Expected an alias but got {token.Describe()}", token.Position);
        }

        if (Current.Kind == TokenKind.QuotedIdentifier || (Current.Kind == TokenKind.Identifier && !IsReserved(Current.Text)))
        {
            return Next().Text;
        }

        return null;
    }

    private TableName ParseTableName()
    {
        var position = Current.Position;
        var parts = new List<string>();
        while (true)
        {
            var token = Next();
            if (token.Kind == TokenKind.QuotedIdentifier)
            {
                parts.AddRange(token.Text.Split('.'));
            }
            else if (token.Kind == TokenKind.Identifier && !IsReserved(token.Text))
            {
                // Unquoted project ids may contain dashes (my-project.dataset.table).
                var text = token.Text;
                while (Current.IsSymbol("-") && _tokens[_index + 1].Kind is TokenKind.Identifier or TokenKind.Integer
                    && _tokens[_index + 1].Position.Column == Current.Position.Column + 1)
                {
                    Next();
                    text += "-" + Next().Text;
                }

                parts.Add(text);
            }
            else
            {
                throw SqlLexer.Error($"Syntax error: Expected a table name but got {token.Describe()}", token.Position);
            }

            if (!Accept("."))
            {
                break;
            }
        }

        if (parts.Any(string.IsNullOrEmpty))
        {
            throw SqlLexer.Error("Invalid table name: empty path component", position);
        }

        return parts.Count switch
        {
            1 => new TableName(null, null, parts[0], position),
            2 => new TableName(null, parts[0], parts[1], position),
            3 => new TableName(parts[0], parts[1], parts[2], position),
            _ => throw SqlLexer.Error($"Invalid table name: {string.Join('.', parts)}", position),
        };
    }

    private OrderItem ParseOrderItem()
    {
        var expression = ParseExpression();
        var descending = false;
        if (Accept("DESC"))
        {
            descending = true;
        }
        else
        {
            Accept("ASC");
        }

        bool? nullsFirst = null;
        if (Accept("NULLS"))
        {
            if (Accept("FIRST"))
            {
                nullsFirst = true;
            }
            else
            {
                Expect("LAST");
                nullsFirst = false;
            }
        }

        return new OrderItem(expression, descending, nullsFirst);
    }

    private SqlExpr ParseExpression() => ParseOr();

    private SqlExpr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsKeyword("OR"))
        {
            var position = Next().Position;
            left = new BinaryExpr("OR", left, ParseAnd(), position);
        }

        return left;
    }

    private SqlExpr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsKeyword("AND"))
        {
            var position = Next().Position;
            left = new BinaryExpr("AND", left, ParseNot(), position);
        }

        return left;
    }

    private SqlExpr ParseNot()
    {
        if (Current.IsKeyword("NOT"))
        {
            var position = Next().Position;
            return new UnaryExpr("NOT", ParseNot(), position);
        }

        return ParseComparison();
    }

    private SqlExpr ParseComparison()
    {
        var left = ParseAdditive();
        var token = Current;
        if (token.Kind == TokenKind.Symbol && token.Text is "=" or "!=" or "<>" or "<" or "<=" or ">" or ">=")
        {
            Next();
            return new BinaryExpr(token.Text == "<>" ? "!=" : token.Text, left, ParseAdditive(), token.Position);
        }

        if (Accept("IS"))
        {
            var negated = Accept("NOT");
            if (Accept("NULL"))
            {
                return new IsNullExpr(left, negated, token.Position);
            }

            if (Current.IsKeyword("TRUE") || Current.IsKeyword("FALSE"))
            {
                var expected = Next().IsKeyword("TRUE");
                var test = new BinaryExpr("IS", left, new LiteralExpr(expected, "BOOLEAN", token.Position), token.Position);
                return negated ? new UnaryExpr("NOT", test, token.Position) : test;
            }

            throw SqlLexer.Error($"Syntax error: Expected NULL, TRUE or FALSE after IS but got {Current.Describe()}", Current.Position);
        }

        var not = Current.IsKeyword("NOT") && (_tokens[_index + 1].IsKeyword("IN") || _tokens[_index + 1].IsKeyword("LIKE") || _tokens[_index + 1].IsKeyword("BETWEEN"));
        if (not)
        {
            Next();
        }

        if (Accept("IN"))
        {
            if (Current.IsKeyword("UNNEST"))
            {
                throw SqlLexer.Error("IN UNNEST is not supported by the Dataflow emulator", Current.Position);
            }

            Expect("(");
            if (Current.IsKeyword("SELECT"))
            {
                throw SqlLexer.Error("IN (subquery) is not supported by the Dataflow emulator", Current.Position);
            }

            var items = new List<SqlExpr> { ParseExpression() };
            while (Current.IsSymbol(","))
            {
                Next();
                items.Add(ParseExpression());
            }

            Expect(")");
            return new InExpr(left, items, not, token.Position);
        }

        if (Accept("LIKE"))
        {
            return new LikeExpr(left, ParseAdditive(), not, token.Position);
        }

        if (Accept("BETWEEN"))
        {
            var low = ParseAdditive();
            Expect("AND");
            return new BetweenExpr(left, low, ParseAdditive(), not, token.Position);
        }

        return left;
    }

    private SqlExpr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Current.Kind == TokenKind.Symbol && Current.Text is "+" or "-" or "||")
        {
            var token = Next();
            left = new BinaryExpr(token.Text, left, ParseMultiplicative(), token.Position);
        }

        return left;
    }

    private SqlExpr ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Current.Kind == TokenKind.Symbol && Current.Text is "*" or "/")
        {
            var token = Next();
            left = new BinaryExpr(token.Text, left, ParseUnary(), token.Position);
        }

        return left;
    }

    private SqlExpr ParseUnary()
    {
        if (Current.IsSymbol("-"))
        {
            var position = Next().Position;
            var operand = ParseUnary();
            // Fold negative numeric literals so -9223372036854775808 and LIMIT -1 read naturally.
            return operand switch
            {
                LiteralExpr { Value: long l } => new LiteralExpr(-l, "INTEGER", position),
                LiteralExpr { Value: double d } => new LiteralExpr(-d, "FLOAT", position),
                _ => new UnaryExpr("-", operand, position),
            };
        }

        if (Current.IsSymbol("+"))
        {
            Next();
            return ParseUnary();
        }

        return ParsePrimary();
    }

    private SqlExpr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Integer:
                Next();
                return long.TryParse(token.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var integer)
                    ? new LiteralExpr(integer, "INTEGER", token.Position)
                    : throw SqlLexer.Error($"Invalid integer literal: {token.Text}", token.Position);
            case TokenKind.Float:
                Next();
                return new LiteralExpr(double.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture), "FLOAT", token.Position);
            case TokenKind.String:
                Next();
                return new LiteralExpr(token.Text, "STRING", token.Position);
            case TokenKind.NamedParameter:
                Next();
                return new ParameterExpr(token.Text, -1, token.Position);
            case TokenKind.PositionalParameter:
                Next();
                return new ParameterExpr(null, _positionalParameters++, token.Position);
            case TokenKind.Symbol when token.Text == "(":
                Next();
                if (Current.IsKeyword("SELECT"))
                {
                    throw SqlLexer.Error("Subqueries are not supported by the Dataflow emulator", Current.Position);
                }

                var inner = ParseExpression();
                Expect(")");
                return inner;
            case TokenKind.Identifier:
                return ParseIdentifierExpression();
            case TokenKind.QuotedIdentifier:
                return ParsePath();
            default:
                throw SqlLexer.Error($"Syntax error: Unexpected {token.Describe()}", token.Position);
        }
    }

    private SqlExpr ParseIdentifierExpression()
    {
        var token = Current;
        if (IsReserved(token.Text))
        {
            RejectUnsupported(token);
        }

        if (token.IsKeyword("NULL"))
        {
            Next();
            return new LiteralExpr(null, "INTEGER", token.Position);
        }

        if (token.IsKeyword("TRUE") || token.IsKeyword("FALSE"))
        {
            Next();
            return new LiteralExpr(token.IsKeyword("TRUE"), "BOOLEAN", token.Position);
        }

        var upper = token.Text.ToUpperInvariant();
        if (upper is "TIMESTAMP" or "DATE" or "DATETIME" or "TIME" or "NUMERIC" or "BIGNUMERIC" or "JSON"
            && _tokens[_index + 1].Kind == TokenKind.String)
        {
            Next();
            var literal = Next();
            var type = TableFieldSchema.CanonicalType(upper);
            var value = type == "BIGNUMERIC" || type == "JSON" ? literal.Text : BigQueryValues.ParseScalar(literal.Text, type);
            return value is null
                ? throw SqlLexer.Error($"Invalid {upper} literal: \"{literal.Text}\"", literal.Position)
                : new LiteralExpr(value, type, token.Position);
        }

        if (upper is "CAST" or "SAFE_CAST")
        {
            Next();
            Expect("(");
            var operand = ParseExpression();
            Expect("AS");
            var typeToken = Next();
            if (typeToken.Kind != TokenKind.Identifier)
            {
                throw SqlLexer.Error($"Syntax error: Expected a type name but got {typeToken.Describe()}", typeToken.Position);
            }

            Expect(")");
            return new CastExpr(operand, TableFieldSchema.CanonicalType(typeToken.Text), upper == "SAFE_CAST", token.Position);
        }

        if (IsReserved(token.Text))
        {
            throw SqlLexer.Error($"Syntax error: Unexpected keyword {upper}", token.Position);
        }

        if (_tokens[_index + 1].IsSymbol("("))
        {
            return ParseFunction();
        }

        return ParsePath();
    }

    private FunctionExpr ParseFunction()
    {
        var name = Next();
        Expect("(");
        var upper = name.Text.ToUpperInvariant();
        if (Current.IsSymbol("*"))
        {
            var star = Next();
            Expect(")");
            return upper == "COUNT"
                ? new FunctionExpr(upper, [], true, false, name.Position)
                : throw SqlLexer.Error($"Syntax error: {upper}(*) is only valid as COUNT(*)", star.Position);
        }

        var distinct = Accept("DISTINCT");
        var arguments = new List<SqlExpr>();
        if (!Current.IsSymbol(")"))
        {
            arguments.Add(ParseExpression());
            while (Current.IsSymbol(","))
            {
                Next();
                arguments.Add(ParseExpression());
            }
        }

        Expect(")");
        if (Current.IsKeyword("OVER"))
        {
            throw SqlLexer.Error("Analytic functions (OVER) are not supported by the Dataflow emulator", Current.Position);
        }

        return new FunctionExpr(upper, arguments, false, distinct, name.Position);
    }

    private ColumnExpr ParsePath()
    {
        var position = Current.Position;
        var parts = new List<string>();
        while (true)
        {
            var token = Next();
            if (token.Kind == TokenKind.QuotedIdentifier)
            {
                parts.AddRange(token.Text.Split('.'));
            }
            else if (token.Kind == TokenKind.Identifier && (parts.Count > 0 || !IsReserved(token.Text)))
            {
                parts.Add(token.Text);
            }
            else
            {
                throw SqlLexer.Error($"Syntax error: Unexpected {token.Describe()}", token.Position);
            }

            if (!Current.IsSymbol(".") || _tokens[_index + 1].IsSymbol("*"))
            {
                break;
            }

            Next();
        }

        if (Current.IsSymbol("["))
        {
            throw SqlLexer.Error("Array subscripts are not supported by the Dataflow emulator", Current.Position);
        }

        return new ColumnExpr(parts, position);
    }

    private bool Accept(string keywordOrSymbol)
    {
        if (Current.IsKeyword(keywordOrSymbol) || Current.IsSymbol(keywordOrSymbol))
        {
            Next();
            return true;
        }

        return false;
    }

    private void Expect(string keywordOrSymbol)
    {
        if (!Accept(keywordOrSymbol))
        {
            RejectUnsupported(Current);
            throw SqlLexer.Error($"Syntax error: Expected {(char.IsLetter(keywordOrSymbol[0]) ? "keyword " + keywordOrSymbol : $"\"{keywordOrSymbol}\"")} but got {Current.Describe()}", Current.Position);
        }
    }

    private static bool IsReservedToken(Token token) => token.Kind == TokenKind.Identifier && IsReserved(token.Text);

    private static void RejectUnsupported(Token token)
    {
        if (token.Kind == TokenKind.Identifier && Unsupported.Contains(token.Text))
        {
            throw SqlLexer.Error($"{token.Text.ToUpperInvariant()} is not supported by the Dataflow emulator", token.Position);
        }
    }
}
