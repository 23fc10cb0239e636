package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/gostack/gostack/kit/crashpoint"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations is one area's embedded, versioned, forward-only schema
// history: files named NNNN_description.sql in Dir of FS (usually an
// embed.FS), applied in version order, each exactly once.
//
// A file may hold several statements separated by semicolons at the end of
// a line. Applied files must never change: Migrate refuses a database whose
// recorded checksum differs from the file's.
type Migrations struct {
	Area string // unique per database, e.g. "identity"
	FS   fs.FS
	Dir  string // "." when the files are at the root of FS
}

// migration is one parsed file.
type migration struct {
	version int
	name    string
	sql     string
	sum     string
}

var migrationName = regexp.MustCompile(`^(\d{4,})_([a-z0-9_]+)\.sql$`)

func (m Migrations) load() ([]migration, error) {
	dir := m.Dir
	if dir == "" {
		dir = "."
	}
	entries, err := fs.ReadDir(m.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations %s: %w", m.Area, err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		parts := migrationName.FindStringSubmatch(e.Name())
		if parts == nil {
			return nil, fmt.Errorf("sqlstore: migrations %s: file %q: want NNNN_description.sql", m.Area, e.Name())
		}
		v, _ := strconv.Atoi(parts[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %s: version %d twice (%s, %s)", m.Area, v, prev, e.Name())
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(m.FS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: migrations %s: %w", m.Area, err)
		}
		sum := sha256.Sum256(body)
		out = append(out, migration{version: v, name: parts[2], sql: string(body), sum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrateLockKey is the PostgreSQL advisory lock all gostack migrations
// serialize on ("gostack" in ASCII).
const migrateLockKey = 0x676f737461636b

const schemaTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	area TEXT NOT NULL,
	version BIGINT NOT NULL,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (area, version)
)`

// Migrate applies every area's pending migrations. It is safe to call from
// several processes at once: on PostgreSQL they serialize on an advisory
// lock, on SQLite on the database write lock; the loser finds the work done.
// A database that has versions this binary does not know fails with
// ErrNewerSchema and is left untouched.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	all := make([][]migration, len(sets))
	for i, s := range sets {
		ms, err := s.load()
		if err != nil {
			return err
		}
		all[i] = ms
	}
	return db.Tx(ctx, func(tx *Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(migrateLockKey)); err != nil {
				return fmt.Errorf("sqlstore: migrate lock: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, schemaTable); err != nil {
			return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
		}
		for i, s := range sets {
			if err := db.migrateArea(ctx, tx, s.Area, all[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) migrateArea(ctx context.Context, tx *Tx, area string, ms []migration) error {
	applied, err := appliedVersions(ctx, tx, area)
	if err != nil {
		return err
	}
	known := map[int]migration{}
	for _, m := range ms {
		known[m.version] = m
	}
	for v, sum := range applied {
		m, ok := known[v]
		if !ok {
			return fmt.Errorf("%w: area %s has version %d", ErrNewerSchema, area, v)
		}
		if m.sum != sum {
			return fmt.Errorf("sqlstore: migration %s/%04d_%s.sql changed after it was applied", area, v, m.name)
		}
	}
	for _, m := range ms {
		if _, done := applied[m.version]; done {
			continue
		}
		for _, stmt := range splitStatements(m.sql) {
			if _, err := tx.Exec(ctx, db.rewriteDDL(stmt)); err != nil {
				return fmt.Errorf("sqlstore: migration %s/%04d_%s.sql: %w", area, m.version, m.name, err)
			}
		}
		if _, err := tx.Exec(ctx,
			"INSERT INTO schema_migrations (area, version, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?)",
			area, m.version, m.name, m.sum, time.Now().Unix()); err != nil {
			return fmt.Errorf("sqlstore: record migration %s/%d: %w", area, m.version, err)
		}
		crashpoint.Hit("sqlstore.migrate.applied") // inside the transaction: all or none
	}
	return nil
}

func appliedVersions(ctx context.Context, tx *Tx, area string) (map[int]string, error) {
	rows, err := tx.Query(ctx, "SELECT version, checksum FROM schema_migrations WHERE area = ?", area)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		out[v] = sum
	}
	return out, rows.Err()
}

// SchemaVersion reports the highest applied migration of an area (0 if none).
func (db *DB) SchemaVersion(ctx context.Context, area string) (int, error) {
	var v int
	err := db.Get(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE area = ?", []any{area}, &v)
	return v, err
}

// splitStatements splits a migration on semicolons that end a line, and
// drops empty statements and whole-line -- comments.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if st := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); strings.TrimSpace(st) != "" {
				out = append(out, st)
			}
			cur.Reset()
		}
	}
	if st := strings.TrimSpace(cur.String()); st != "" {
		out = append(out, st)
	}
	return out
}
