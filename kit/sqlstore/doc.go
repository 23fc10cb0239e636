// Package sqlstore is the SQL kit every area's Store is built on: open a
// database by DSN, apply embedded forward-only migrations, and run queries
// and transactions that behave the same on both supported engines.
//
// Two engines, one set of queries:
//
//   - sqlite:///abs/path/file.db (or sqlite://rel/path.db, sqlite::memory:)
//     — pure-Go SQLite (modernc.org/sqlite), WAL journal, busy timeout,
//     foreign keys on. The zero-set-up default for one controller.
//   - postgres://user@host:port/db?... (pgx) — for several controllers.
//
// Queries are written with ? placeholders; the kit rewrites them to $n for
// PostgreSQL. Write portable SQL: TEXT, BIGINT, BOOLEAN, BLOB (rewritten to
// BYTEA on PostgreSQL), INSERT ... ON CONFLICT, RETURNING. Do not put a
// literal '?' inside a query string; pass it as an argument.
//
// Keyset pages a list in SQL by seeking past the last row of the previous
// page (a marker): it builds the ORDER BY, reads the marker's sort values
// and writes the condition for the rows after it, NULL-safe, the same on
// both engines.
//
// What it does not do: it is not an ORM and has no query builder. Areas own
// their tables, their queries and their Store interfaces; this package only
// makes the plumbing under them identical on both engines.
package sqlstore
