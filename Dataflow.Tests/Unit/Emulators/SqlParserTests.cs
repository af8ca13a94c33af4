using Dataflow.Emulators;
using Dataflow.Emulators.BigQuery.Sql;

namespace Dataflow.Tests.Unit.Emulators;

[Trait("Category", "Unit")]
public sealed class SqlParserTests
{
    [Fact]
    public void Backticked_project_dataset_table_path_splits_into_three_parts()
    {
        var statement = SqlParser.Parse("SELECT * FROM `my-project.sales.orders` AS o");

        Assert.Equal(new TableName("my-project", "sales", "orders", new SqlPosition(1, 15)), statement.From);
        Assert.Equal("o", statement.FromAlias);
        Assert.True(statement.Items.Single().IsStar);
    }

    [Fact]
    public void Unquoted_dataset_table_and_dashed_project_are_accepted()
    {
        Assert.Equal(("sales", "orders"), Parts(SqlParser.Parse("select 1 from sales.orders").From!));
        var dashed = SqlParser.Parse("SELECT 1 FROM my-project.sales.orders").From!;
        Assert.Equal("my-project", dashed.Project);
    }

    [Fact]
    public void Operator_precedence_binds_AND_tighter_than_OR_and_NOT_looser_than_comparison()
    {
        var statement = SqlParser.Parse("SELECT a FROM d.t WHERE NOT a = 1 OR b = 2 AND c = 3");

        Assert.Equal("((NOT (A = INTEGER:1)) OR ((B = INTEGER:2) AND (C = INTEGER:3)))", SqlText.Of(statement.Where!));
    }

    [Fact]
    public void Arithmetic_binds_tighter_than_comparison()
    {
        var statement = SqlParser.Parse("SELECT a FROM d.t WHERE a + 2 * b > -3");

        Assert.Equal("((A + (INTEGER:2 * B)) > INTEGER:-3)", SqlText.Of(statement.Where!));
    }

    [Fact]
    public void Predicates_IN_LIKE_BETWEEN_and_IS_NULL_parse_with_negation()
    {
        var statement = SqlParser.Parse(
            "SELECT a FROM d.t WHERE a NOT IN (1, 2) AND b NOT LIKE 'x%' AND c BETWEEN 1 AND 5 AND d IS NOT NULL");

        Assert.Equal(
            "((((A NOT IN (INTEGER:1, INTEGER:2)) AND (B NOT LIKE STRING:x%)) AND (C BETWEEN INTEGER:1 AND INTEGER:5)) AND (D IS NOT NULL))",
            SqlText.Of(statement.Where!));
    }

    [Fact]
    public void Select_list_aliases_with_and_without_AS_and_aggregates_parse()
    {
        var statement = SqlParser.Parse("SELECT COUNT(*) n, SUM(x) AS total, name FROM d.t GROUP BY name ORDER BY total DESC LIMIT 10 OFFSET 5");

        Assert.Equal(["n", "total", null], statement.Items.Select(i => i.Alias));
        Assert.Equal("COUNT(*)", SqlText.Of(statement.Items[0].Expression!));
        Assert.True(statement.OrderBy.Single().Descending);
        Assert.Equal(10L, ((LiteralExpr)statement.Limit!).Value);
        Assert.Equal(5L, ((LiteralExpr)statement.Offset!).Value);
    }

    [Fact]
    public void Strings_support_both_quotes_escapes_and_raw_prefix()
    {
        var statement = SqlParser.Parse("SELECT 'it\\'s', \"two\", r'a\\b', '''tri'ple'''");

        Assert.Equal(["it's", "two", "a\\b", "tri'ple"], statement.Items.Select(i => ((LiteralExpr)i.Expression!).Value));
    }

    [Fact]
    public void Comments_are_skipped_and_positions_count_lines()
    {
        var error = Assert.Throws<GoogleApiException>(() => SqlParser.Parse("SELECT a -- comment\n/* block */ FROM d.t WHERE"));

        Assert.Equal("invalidQuery", error.Reason);
        Assert.EndsWith("Unexpected end of input at [2:27]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_named_and_positional_are_recognised()
    {
        var statement = SqlParser.Parse("SELECT a FROM d.t WHERE a = @min OR b = ? OR c = ?");

        Assert.Equal(2, statement.PositionalParameterCount);
        Assert.Equal("(((A = @MIN) OR (B = ?0)) OR (C = ?1))", SqlText.Of(statement.Where!));
    }

    [Fact]
    public void Typed_literals_are_parsed_into_values()
    {
        var statement = SqlParser.Parse("SELECT TIMESTAMP '2024-01-02 03:04:05 UTC', DATE '2024-01-02'");

        Assert.Equal(new Dataflow.Emulators.BigQuery.BqTimestamp(1704164645000000), ((LiteralExpr)statement.Items[0].Expression!).Value);
        Assert.Equal("2024-01-02", ((LiteralExpr)statement.Items[1].Expression!).Value);
    }

    [Theory]
    [InlineData("SELECT a FROM d.t JOIN d.u ON a = b", "JOIN is not supported")]
    [InlineData("SELECT a FROM d.t UNION ALL SELECT b FROM d.u", "UNION is not supported")]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x", "WITH is not supported")]
    [InlineData("INSERT INTO d.t VALUES (1)", "INSERT is not supported")]
    [InlineData("SELECT ROW_NUMBER() OVER () FROM d.t", "OVER")]
    [InlineData("SELECT a FROM (SELECT 1)", "Subqueries are not supported")]
    [InlineData("SELECT a FROM d.t WHERE", "Unexpected end of input")]
    [InlineData("SELECT a FROM d.t LIMIT", "Unexpected end of input")]
    [InlineData("SELECT 'unclosed FROM d.t", "Unclosed string literal")]
    [InlineData("SELECT a FROM d.t extra tokens", "Expected end of input but got identifier tokens")]
    [InlineData("SELECT a $ b", "Illegal input character")]
    [InlineData("SELECT SUM(*) FROM d.t", "only valid as COUNT(*)")]
    [InlineData("SELECT a FROM a.b.c.d", "Invalid table name")]
    public void Unsupported_or_malformed_sql_is_an_invalidQuery_naming_the_problem(string sql, string expected)
    {
        var error = Assert.Throws<GoogleApiException>(() => SqlParser.Parse(sql));

        Assert.Equal("invalidQuery", error.Reason);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Matches(@"at \[\d+:\d+\]$", error.Message);
    }

    private static (string?, string) Parts(TableName name) => (name.Dataset, name.Table);
}

[Trait("Category", "Unit")]
public sealed class SqlLikeTests
{
    [Theory]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "a%", true)]
    [InlineData("abc", "%c", true)]
    [InlineData("abc", "a%c%", true)]
    [InlineData("abc", "_b_", true)]
    [InlineData("abc", "_", false)]
    [InlineData("", "%", true)]
    [InlineData("", "_", false)]
    [InlineData("a_b", "a\\_b", true)]
    [InlineData("axb", "a\\_b", false)]
    [InlineData("50%", "50\\%", true)]
    [InlineData("500", "50\\%", false)]
    [InlineData("mississippi", "%iss%ppi", true)]
    [InlineData("mississippi", "%iss%ppx", false)]
    public void Like_matches_percent_underscore_and_escapes(string text, string pattern, bool expected)
    {
        Assert.Equal(expected, SqlValues.Like(text, pattern));
    }
}
