// Package lakesql is what Strata's SQL interfaces share about statements over the lake, so that the same SQL
// does the same thing in each of them (the PostgreSQL endpoint, `strata sql`):
//
//   - a lexer, not a parser: Split a script into statements, the FirstWord of one, ClosingParen, ... outside
//     string literals, quoted identifiers, dollar quotes and comments;
//   - the lake writes SQL may make: CREATE TABLE zone.name AS query, INSERT INTO zone.name [(cols)]
//     query|VALUES and DROP TABLE zone.name. ParseWrite recognises one; a Writer runs it through envs, the
//     write gate (one Iceberg snapshot each, audited with the Writer's actor), in dev-kind environments only:
//     prod data changes only through releases.
//
// The caller keeps its protocol's concerns: who may write (Writer.MayWrite), how a query runs (Writer.Query),
// and how a refused write is reported (an *Error names its Rule).
package lakesql
