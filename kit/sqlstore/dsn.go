package sqlstore

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Dialect is the SQL engine behind a DB.
type Dialect int

// The supported engines.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

// target is a parsed DSN.
type target struct {
	dialect Dialect
	driver  string // database/sql driver name
	source  string // driver-specific source string
	path    string // SQLite file path ("" for memory)
}

// parseDSN accepts sqlite:///abs/path, sqlite://rel/path, sqlite:rel/path,
// sqlite::memory: and postgres:// or postgresql:// URLs.
func parseDSN(dsn string) (target, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return target{}, fmt.Errorf("sqlstore: bad postgres DSN: %v", redactErr(err))
		}
		return target{dialect: Postgres, driver: "pgx", source: dsn}, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return parseSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	}
	return target{}, fmt.Errorf("sqlstore: unsupported DSN %q: want sqlite:///path/to/file.db or postgres://...", Redact(dsn))
}

func parseSQLite(rest string) (target, error) {
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	path := strings.TrimPrefix(rest, "//")
	if path == "" {
		return target{}, fmt.Errorf("sqlstore: sqlite DSN has no path: want sqlite:///path/to/file.db")
	}
	memory := path == ":memory:"
	if !memory {
		path = filepath.Clean(path)
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return target{}, fmt.Errorf("sqlstore: sqlite DSN options: %v", err)
	}
	// Our defaults; a caller's own _pragma values are added after ours and win.
	pragmas := []string{"busy_timeout(10000)", "foreign_keys(1)"}
	if !memory {
		pragmas = append(pragmas, "journal_mode(WAL)", "synchronous(FULL)")
	}
	opts := url.Values{}
	for _, p := range pragmas {
		opts.Add("_pragma", p)
	}
	for k, vs := range v {
		for _, x := range vs {
			opts.Add(k, x)
		}
	}
	if opts.Get("_txlock") == "" {
		// Writers take the lock at BEGIN, so two writers never deadlock
		// upgrading read locks; read-only transactions stay deferred.
		opts.Set("_txlock", "immediate")
	}
	src := "file:" + path + "?" + opts.Encode()
	if memory {
		path = ""
	}
	return target{dialect: SQLite, driver: "sqlite", source: src, path: path}, nil
}

// Redact removes a password from a DSN so that it can be logged.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr drops url.Error's echo of the input, which may hold a password.
func redactErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return "invalid URL"
}
