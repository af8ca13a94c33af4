using System.Text;

namespace Dataflow.Emulators.BigQuery.Sql;

internal enum TokenKind
{
    Identifier,
    QuotedIdentifier,
    Integer,
    Float,
    String,
    NamedParameter,
    PositionalParameter,
    Symbol,
    End,
}

/// <summary>A 1-based line and column in the query text, as BigQuery's error messages report them.</summary>
internal readonly record struct SqlPosition(int Line, int Column)
{
    public override string ToString() => $"[{Line}:{Column}]";
}

internal readonly record struct Token(TokenKind Kind, string Text, SqlPosition Position)
{
    public bool IsKeyword(string keyword) => Kind == TokenKind.Identifier && Text.Equals(keyword, StringComparison.OrdinalIgnoreCase);

    public bool IsSymbol(string symbol) => Kind == TokenKind.Symbol && Text == symbol;

    public string Describe() => Kind switch
    {
        TokenKind.End => "end of input",
        TokenKind.Identifier when SqlParser.IsReserved(Text) => $"keyword {Text.ToUpperInvariant()}",
        TokenKind.Identifier or TokenKind.QuotedIdentifier => $"identifier {Text}",
        TokenKind.String => $"string literal \"{Text}\"",
        TokenKind.Integer or TokenKind.Float => $"number {Text}",
        TokenKind.NamedParameter => $"parameter @{Text}",
        TokenKind.PositionalParameter => "parameter ?",
        _ => $"\"{Text}\"",
    };
}

/// <summary>Splits GoogleSQL text into tokens: identifiers (plain and `backticked`), numbers, strings, parameters, symbols.</summary>
internal static class SqlLexer
{
    public static List<Token> Tokenize(string sql)
    {
        var tokens = new List<Token>();
        var i = 0;
        var line = 1;
        var lineStart = 0;
        while (true)
        {
            SkipWhitespaceAndComments(sql, ref i, ref line, ref lineStart);
            var position = new SqlPosition(line, i - lineStart + 1);
            if (i >= sql.Length)
            {
                tokens.Add(new Token(TokenKind.End, string.Empty, position));
                return tokens;
            }

            var c = sql[i];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                // r'raw' strings; b'bytes' literals are outside the supported subset.
                if ((c is 'r' or 'R') && i + 1 < sql.Length && sql[i + 1] is '\'' or '"')
                {
                    i++;
                    tokens.Add(new Token(TokenKind.String, ReadString(sql, ref i, raw: true, position), position));
                    continue;
                }

                var start = i;
                while (i < sql.Length && (char.IsAsciiLetterOrDigit(sql[i]) || sql[i] == '_'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Identifier, sql[start..i], position));
            }
            else if (c == '`')
            {
                var end = sql.IndexOf('`', i + 1);
                if (end < 0)
                {
                    throw Error("Unclosed identifier literal", position);
                }

                tokens.Add(new Token(TokenKind.QuotedIdentifier, sql[(i + 1)..end], position));
                i = end + 1;
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1])))
            {
                tokens.Add(ReadNumber(sql, ref i, position));
            }
            else if (c is '\'' or '"')
            {
                tokens.Add(new Token(TokenKind.String, ReadString(sql, ref i, raw: false, position), position));
            }
            else if (c == '@')
            {
                var start = ++i;
                while (i < sql.Length && (char.IsAsciiLetterOrDigit(sql[i]) || sql[i] == '_'))
                {
                    i++;
                }

                if (i == start)
                {
                    throw Error("Syntax error: Expected a parameter name after @", position);
                }

                tokens.Add(new Token(TokenKind.NamedParameter, sql[start..i], position));
            }
            else if (c == '?')
            {
                i++;
                tokens.Add(new Token(TokenKind.PositionalParameter, "?", position));
            }
            else
            {
                var two = i + 1 < sql.Length ? sql.Substring(i, 2) : string.Empty;
                if (two is "<=" or ">=" or "<>" or "!=" or "||")
                {
                    tokens.Add(new Token(TokenKind.Symbol, two, position));
                    i += 2;
                }
                else if (c is '(' or ')' or ',' or '.' or '*' or '+' or '-' or '/' or '=' or '<' or '>' or ';' or '[' or ']')
                {
                    tokens.Add(new Token(TokenKind.Symbol, c.ToString(), position));
                    i++;
                }
                else
                {
                    throw Error($"Syntax error: Illegal input character \"{c}\"", position);
                }
            }
        }
    }

    private static void SkipWhitespaceAndComments(string sql, ref int i, ref int line, ref int lineStart)
    {
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '\n')
            {
                i++;
                line++;
                lineStart = i;
            }
            else if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#' || (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-'))
            {
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                var stop = end < 0 ? sql.Length : end + 2;
                for (; i < stop; i++)
                {
                    if (sql[i] == '\n')
                    {
                        line++;
                        lineStart = i + 1;
                    }
                }
            }
            else
            {
                return;
            }
        }
    }

    private static Token ReadNumber(string sql, ref int i, SqlPosition position)
    {
        var start = i;
        var isFloat = false;
        while (i < sql.Length && char.IsAsciiDigit(sql[i]))
        {
            i++;
        }

        if (i < sql.Length && sql[i] == '.')
        {
            isFloat = true;
            i++;
            while (i < sql.Length && char.IsAsciiDigit(sql[i]))
            {
                i++;
            }
        }

        if (i < sql.Length && sql[i] is 'e' or 'E')
        {
            isFloat = true;
            i++;
            if (i < sql.Length && sql[i] is '+' or '-')
            {
                i++;
            }

            var digits = i;
            while (i < sql.Length && char.IsAsciiDigit(sql[i]))
            {
                i++;
            }

            if (digits == i)
            {
                throw Error("Syntax error: Malformed floating point literal", position);
            }
        }

        if (i < sql.Length && (char.IsAsciiLetter(sql[i]) || sql[i] == '_'))
        {
            throw Error($"Syntax error: Missing whitespace between literal and alias", position);
        }

        return new Token(isFloat ? TokenKind.Float : TokenKind.Integer, sql[start..i], position);
    }

    private static string ReadString(string sql, ref int i, bool raw, SqlPosition position)
    {
        var quote = sql[i];
        var triple = i + 2 < sql.Length && sql[i + 1] == quote && sql[i + 2] == quote;
        i += triple ? 3 : 1;
        var text = new StringBuilder();
        while (true)
        {
            if (i >= sql.Length || (!triple && sql[i] == '\n'))
            {
                throw Error("Syntax error: Unclosed string literal", position);
            }

            var c = sql[i];
            if (c == quote && (!triple || (i + 2 < sql.Length && sql[i + 1] == quote && sql[i + 2] == quote)))
            {
                i += triple ? 3 : 1;
                return text.ToString();
            }

            if (c == '\\' && !raw)
            {
                if (i + 1 >= sql.Length)
                {
                    throw Error("Syntax error: Unclosed string literal", position);
                }

                var escaped = sql[i + 1];
                text.Append(escaped switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    '\\' or '\'' or '"' or '`' or '?' => escaped,
                    _ => throw Error($"Syntax error: Illegal escape sequence: \\{escaped}", position),
                });
                i += 2;
                continue;
            }

            text.Append(c);
            i++;
        }
    }

    internal static GoogleApiException Error(string message, SqlPosition position) => GoogleApiException.InvalidQuery($"{message} at {position}");
}
