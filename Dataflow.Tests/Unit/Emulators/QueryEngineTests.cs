using Dataflow.Emulators;
using Dataflow.Emulators.BigQuery;
using Dataflow.Emulators.BigQuery.Sql;

namespace Dataflow.Tests.Unit.Emulators;

[Trait("Category", "Unit")]
public sealed class QueryEngineTests
{
    private static readonly TableFieldSchema[] Fields =
    [
        new("name", "STRING"),
        new("team", "STRING"),
        new("score", "INTEGER"),
        new("ratio", "FLOAT"),
        new("active", "BOOLEAN"),
        new("joined", "TIMESTAMP"),
        new("tags", "STRING", "REPEATED"),
        new("address", "RECORD", "NULLABLE", [new TableFieldSchema("city", "STRING")]),
    ];

    private static readonly object?[][] Rows =
    [
        ["ada", "red", 90L, 0.5, true, Ts("2024-01-01 00:00:00"), new List<object?> { "x" }, new object?[] { "London" }],
        ["grace", "red", 85L, 1.5, false, Ts("2024-02-01 00:00:00"), new List<object?>(), new object?[] { "Arlington" }],
        ["linus", "blue", 70L, null, true, Ts("2024-03-01 00:00:00"), new List<object?>(), null],
        ["ken", "blue", null, 2.0, null, null, new List<object?>(), new object?[] { null }],
        ["barbara", "green", 95L, 3.0, true, Ts("2024-04-01 00:00:00"), new List<object?>(), new object?[] { "Boston" }],
    ];

    [Fact]
    public void Star_returns_every_column_with_the_table_schema()
    {
        var result = Run("SELECT * FROM d.people");

        Assert.Equal(Fields.Select(f => f.Name), result.Schema.Fields.Select(f => f.Name));
        Assert.Equal("REPEATED", result.Schema.Fields.Single(f => f.Name == "tags").Mode);
        Assert.Equal(5, result.Rows.Count);
    }

    [Fact]
    public void Where_with_comparisons_and_three_valued_logic_drops_unknown_rows()
    {
        Assert.Equal(["ada", "barbara"], Names("SELECT name FROM d.people WHERE score > 85 AND active"));
        Assert.Equal(["ada", "grace", "barbara"], Names("SELECT name FROM d.people WHERE score >= 85 OR ratio > 100"));
        Assert.Equal(["grace"], Names("SELECT name FROM d.people WHERE NOT active"));
    }

    [Fact]
    public void Is_null_in_and_like_filter_as_in_bigquery()
    {
        Assert.Equal(["ken"], Names("SELECT name FROM d.people WHERE score IS NULL"));
        Assert.Equal(["ada", "grace", "linus", "barbara"], Names("SELECT name FROM d.people WHERE score IS NOT NULL"));
        Assert.Equal(["grace", "linus"], Names("SELECT name FROM d.people WHERE score IN (85, 70)"));
        Assert.Equal(["ada", "barbara"], Names("SELECT name FROM d.people WHERE score NOT IN (85, 70)"));
        Assert.Equal(["ada", "barbara"], Names("SELECT name FROM d.people WHERE name LIKE '%a_a'"));
        Assert.Equal(["linus", "ken"], Names("SELECT name FROM d.people WHERE name NOT LIKE '%a%'"));
    }

    [Fact]
    public void Not_in_with_a_null_item_is_unknown_for_non_matches()
    {
        Assert.Empty(Names("SELECT name FROM d.people WHERE score NOT IN (1, NULL)"));
    }

    [Fact]
    public void Order_by_puts_nulls_first_ascending_and_last_descending()
    {
        Assert.Equal(["ken", "linus", "grace", "ada", "barbara"], Names("SELECT name FROM d.people ORDER BY score"));
        Assert.Equal(["barbara", "ada", "grace", "linus", "ken"], Names("SELECT name FROM d.people ORDER BY score DESC"));
        Assert.Equal(["linus", "ken", "barbara", "grace", "ada"], Names("SELECT name FROM d.people ORDER BY team, name DESC"));
    }

    [Fact]
    public void Limit_and_offset_page_after_ordering()
    {
        Assert.Equal(["grace", "linus"], Names("SELECT name FROM d.people ORDER BY score DESC LIMIT 2 OFFSET 2"));
    }

    [Fact]
    public void Count_star_over_a_table_and_over_no_rows_returns_one_row()
    {
        var all = Run("SELECT COUNT(*) FROM d.people");
        var none = Run("SELECT COUNT(*) AS n, SUM(score) AS s FROM d.people WHERE score > 1000");

        Assert.Equal("f0_", all.Schema.Fields.Single().Name);
        Assert.Equal(5L, all.Rows.Single()[0]);
        Assert.Equal([0L, null], none.Rows.Single());
    }

    [Fact]
    public void Group_by_computes_count_sum_min_max_avg_per_group()
    {
        var result = Run("SELECT team, COUNT(*) AS n, COUNT(score) AS scored, SUM(score) AS total, MIN(name) AS first, MAX(score) AS best, AVG(score) AS mean " +
                         "FROM d.people GROUP BY team ORDER BY team");

        Assert.Equal(["team", "n", "scored", "total", "first", "best", "mean"], result.Schema.Fields.Select(f => f.Name));
        Assert.Equal(["STRING", "INTEGER", "INTEGER", "INTEGER", "STRING", "INTEGER", "FLOAT"], result.Schema.Fields.Select(f => f.Type));
        Assert.Equal<object?[]>(
            [
                ["blue", 2L, 1L, 70L, "ken", 70L, 70.0],
                ["green", 1L, 1L, 95L, "barbara", 95L, 95.0],
                ["red", 2L, 2L, 175L, "ada", 90L, 87.5],
            ],
            result.Rows);
    }

    [Fact]
    public void Group_by_alias_and_position_and_having_and_order_by_aggregate()
    {
        var result = Run("SELECT UPPER(team) AS t, COUNT(*) AS n FROM d.people GROUP BY 1 HAVING COUNT(*) > 1 ORDER BY n DESC, t");

        Assert.Equal<object?[]>([["BLUE", 2L], ["RED", 2L]], result.Rows);
        Assert.Equal(Run("SELECT UPPER(team) AS t, COUNT(*) AS n FROM d.people GROUP BY t HAVING COUNT(*) > 1 ORDER BY n DESC, t").Rows, result.Rows);
    }

    [Fact]
    public void Select_distinct_removes_duplicate_rows()
    {
        Assert.Equal(["red", "blue", "green"], Run("SELECT DISTINCT team FROM d.people").Rows.Select(r => (string)r[0]!));
    }

    [Fact]
    public void Record_fields_and_table_alias_qualified_columns_resolve()
    {
        var result = Run("SELECT p.name, address.city AS city FROM d.people AS p WHERE p.address.city = 'London'");

        Assert.Equal<object?[]>([["ada", "London"]], result.Rows);
        Assert.Equal(["name", "city"], result.Schema.Fields.Select(f => f.Name));
    }

    [Fact]
    public void Timestamp_columns_compare_with_string_literals_as_timestamps()
    {
        Assert.Equal(["linus", "barbara"], Names("SELECT name FROM d.people WHERE joined >= '2024-03-01'"));
    }

    [Fact]
    public void Named_and_positional_parameters_bind_values()
    {
        var named = new Dictionary<string, QueryParameter> { ["min"] = new(SqlType.Integer, 90L) };
        Assert.Equal(["ada", "barbara"], Run("SELECT name FROM d.people WHERE score >= @min", named).Rows.Select(r => (string)r[0]!));

        var positional = new List<QueryParameter> { new(SqlType.String, "blue") };
        Assert.Equal(2, Run("SELECT name FROM d.people WHERE team = ?", positional: positional).Rows.Count);
    }

    [Fact]
    public void Arithmetic_follows_bigquery_types()
    {
        var result = Run("SELECT 7 / 2, 7 * 2, 1 + 0.5, -score FROM d.people WHERE name = 'ada'");

        Assert.Equal(["FLOAT", "INTEGER", "FLOAT", "INTEGER"], result.Schema.Fields.Select(f => f.Type));
        Assert.Equal([3.5, 14L, 1.5, -90L], result.Rows.Single());
    }

    [Theory]
    [InlineData("SELECT nope FROM d.people", "Unrecognized name: nope at [1:8]")]
    [InlineData("SELECT name FROM d.people WHERE score = 'high'", "No matching signature for operator = for argument types: INT64, STRING")]
    [InlineData("SELECT name, COUNT(*) FROM d.people", "SELECT list expression references column name which is neither grouped nor aggregated")]
    [InlineData("SELECT name FROM d.people WHERE COUNT(*) > 1", "Aggregate function is not allowed in WHERE clause")]
    [InlineData("SELECT SUM(name) FROM d.people", "No matching signature for function SUM for argument types: STRING")]
    [InlineData("SELECT FOO(name) FROM d.people", "Function not found: FOO")]
    [InlineData("SELECT name FROM d.people WHERE score", "WHERE clause expects BOOL but got INT64")]
    [InlineData("SELECT 1 / 0", "division by zero")]
    [InlineData("SELECT 9223372036854775807 + 1", "INT64 overflow")]
    [InlineData("SELECT name, name FROM d.people", "Duplicate column names")]
    [InlineData("SELECT address.zip FROM d.people", "Field name zip does not exist in STRUCT<city STRING>")]
    [InlineData("SELECT name FROM d.people WHERE @missing", "Query parameter 'missing' not found")]
    [InlineData("SELECT name FROM d.people ORDER BY 9", "ORDER BY is out of SELECT column number range: 9")]
    public void Semantic_errors_are_invalidQuery_with_bigquery_style_messages(string sql, string expected)
    {
        var error = Assert.Throws<GoogleApiException>(() => Run(sql));

        Assert.Equal("invalidQuery", error.Reason);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_without_from_evaluates_once()
    {
        Assert.Equal<object?[]>([[2L, "ab", true]], Run("SELECT 1 + 1, CONCAT('a', 'b'), 'abc' LIKE 'a%'").Rows);
    }

    private static BqTimestamp Ts(string text) => BigQueryValues.ParseTimestamp(text)!.Value;

    private static List<string> Names(string sql) => [.. Run(sql).Rows.Select(r => (string)r[0]!)];

    private static QueryResult Run(string sql, Dictionary<string, QueryParameter>? named = null, List<QueryParameter>? positional = null)
    {
        var statement = SqlParser.Parse(sql);
        var source = statement.From is null ? null : new QuerySource(statement.From.Table, statement.FromAlias, Fields, Rows);
        return QueryEngine.Execute(statement, source, named ?? [], positional ?? []);
    }
}
