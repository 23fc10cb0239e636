package config_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestWriteReference(t *testing.T) {
	cfg := defaults()
	cfg.Database = "postgres://user:hunter2@db/gostack"
	var buf bytes.Buffer
	if err := config.WriteReference(&buf, cfg, "GOSTACK"); err != nil {
		t.Fatal(err)
	}
	golden(t, "reference.md", buf.Bytes())
}

func TestDescribe(t *testing.T) {
	cfg := defaults()
	cfg.TLS = &tlsConfig{Key: "secret"}
	entries, err := config.Describe(*cfg, "GOSTACK")
	if err != nil {
		t.Fatal(err)
	}
	byKey := make(map[string]config.Entry)
	for _, e := range entries {
		byKey[e.Key] = e
	}
	tests := []config.Entry{
		{Key: "data_dir", Type: "string", Env: "GOSTACK_DATA_DIR", Default: "/var/lib/gostack", Help: "directory for state (database, keys, openrc)"},
		{Key: "database", Type: "string", Env: "GOSTACK_DATABASE", Help: "DSN: sqlite:///path or postgres://..."},
		{Key: "log.format", Type: "string", Env: "GOSTACK_LOG_FORMAT", Default: "text", Help: "text or json"},
		{Key: "listen", Type: "map of string", Env: "GOSTACK_LISTEN_<KEY>", Default: `{compute: ':8774', identity: ':5000'}`, Help: "listen address per API"},
		{Key: "quota", Type: "map of int", Env: "GOSTACK_QUOTA_<KEY>", Default: "{}"},
		{Key: "shutdown_timeout", Type: "duration", Env: "GOSTACK_SHUTDOWN_TIMEOUT", Default: "30s"},
		{Key: "watch.retention", Type: "duration", Env: "GOSTACK_WATCH_RETENTION", Default: "24h"},
		{Key: "watch.max_changes", Type: "int", Env: "GOSTACK_WATCH_MAX_CHANGES", Default: "1000"},
		{Key: "cors-origins", Type: "list of string", Env: "GOSTACK_CORS_ORIGINS", Default: "['*']"},
		{Key: "backends", Type: "list of object", Env: "GOSTACK_BACKENDS", Default: "[]"},
		{Key: "tls.cert", Type: "string", Env: "GOSTACK_TLS_CERT"},
		{Key: "tls.key", Type: "string", Env: "GOSTACK_TLS_KEY", Default: "***"},
		{Key: "ratio", Type: "float64", Env: "GOSTACK_RATIO", Default: "1.5"},
		{Key: "port", Type: "uint16", Env: "GOSTACK_PORT", Default: "8080"},
		{Key: "addr", Type: "string", Env: "GOSTACK_ADDR", Default: ""},
		{Key: "poll", Type: "duration", Env: "GOSTACK_POLL", Default: "5s"},
		{Key: "extra", Type: "any", Env: "GOSTACK_EXTRA"},
		{Key: "region", Type: "string", Env: "GOSTACK_REGION", Default: "RegionOne", Help: "region name"},
	}
	for _, want := range tests {
		t.Run(want.Key, func(t *testing.T) { equal(t, byKey[want.Key], want) })
	}
	if len(entries) != 20 {
		t.Fatalf("got %d entries, want 20", len(entries))
	}
}

func TestDescribeNoPrefix(t *testing.T) {
	entries, err := config.Describe(defaults(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Env != "" {
			t.Fatalf("%s: Env = %q, want none without a prefix", e.Key, e.Env)
		}
	}
	if _, err := config.Describe(42, ""); err == nil {
		t.Fatal("Describe(42) did not fail")
	}
}

func TestDump(t *testing.T) {
	cfg := defaults()
	cfg.Database = "postgres://user:hunter2@db/gostack"
	cfg.TLS = &tlsConfig{Cert: "/etc/tls.crt", Key: "hunter2"}
	cfg.Backends = []backend{{"a", 1}, {"b", 2}}
	cfg.Extra = map[string]any{"answer": 42}
	cfg.Log.Level = "true"
	out, err := config.Dump(cfg)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dump.yaml", out)
	if bytes.Contains(out, []byte("hunter2")) {
		t.Fatal("Dump printed a secret")
	}
}

func TestDumpRoundTrip(t *testing.T) {
	cfg := defaults()
	cfg.TLS = &tlsConfig{Cert: "/c"}
	cfg.Backends = []backend{{"a", 1}}
	cfg.Poll = 90 * time.Minute
	cfg.Ratio = 3
	out, err := config.Dump(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inDir(t, map[string]string{"dump.yaml": string(out)})
	got := new(testConfig)
	if err := config.Load("dump.yaml", got); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	equal(t, got, cfg)
}
