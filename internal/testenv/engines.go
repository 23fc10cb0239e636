package testenv

import (
	"path/filepath"
	"testing"
)

// Engine is one database engine a store test runs on.
type Engine struct {
	Name string // "sqlite" or "postgres"
	DSN  string // a fresh, empty database
}

// New returns the DSN of another fresh, empty database on the same engine,
// for subtests that must not share state.
func (e Engine) New(t testing.TB) string {
	t.Helper()
	if e.Name == "postgres" {
		return StartPostgres(t).NewDatabase(t)
	}
	return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
}

// Engines returns a fresh database on every supported engine: a SQLite
// file in t.TempDir() and a new database on the binary's PostgreSQL
// server. Run store tests once per engine:
//
//	for _, e := range testenv.Engines(t) {
//		t.Run(e.Name, func(t *testing.T) { ... e.DSN ... })
//	}
//
// Without PostgreSQL installed, the postgres engine is left out with a
// logged reason outside CI and the test fails in CI.
func Engines(t testing.TB) []Engine {
	t.Helper()
	out := []Engine{{Name: "sqlite", DSN: "sqlite://" + filepath.Join(t.TempDir(), "test.db")}}
	if findBinary("postgres", pgBinDirs...) == "" && !CI() {
		t.Logf("postgres engine left out: install the Debian package %q (make test installs it)", "postgresql")
		return out
	}
	pg := StartPostgres(t)
	return append(out, Engine{Name: "postgres", DSN: pg.NewDatabase(t)})
}
