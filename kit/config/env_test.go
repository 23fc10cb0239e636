package config_test

import (
	"testing"

	"github.com/gostack/gostack/kit/config"
)

func TestEnv(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		want  string
		check func(t *testing.T, c *testConfig)
	}{
		{name: "leaves", env: []string{"GOSTACK_LOG_FORMAT=json", "GOSTACK_WATCH_MAX_CHANGES=5", "GOSTACK_DATA_DIR=/d", "GOSTACK_REGION=r9"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Log.Format, "json")
				equal(t, c.Watch.MaxChanges, 5)
				equal(t, c.DataDir, "/d")
				equal(t, c.Region, "r9")
			}},
		{name: "env beats file", file: "log:\n  level: warn\n  format: json\n", env: []string{"GOSTACK_LOG_LEVEL=debug"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Log.Level, "debug")
				equal(t, c.Log.Format, "json")
			}},
		{name: "dash in key", env: []string{"GOSTACK_CORS_ORIGINS=a, b"},
			check: func(t *testing.T, c *testConfig) { equal(t, c.Origins, []string{"a", "b"}) }},
		{name: "empty list", env: []string{"GOSTACK_CORS_ORIGINS="},
			check: func(t *testing.T, c *testConfig) { equal(t, c.Origins, []string{}) }},
		{name: "list as YAML", env: []string{"GOSTACK_CORS_ORIGINS=[a, 'b,c']", "GOSTACK_BACKENDS=[{name: x, weight: 2}]"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Origins, []string{"a", "b,c"})
				equal(t, c.Backends, []backend{{"x", 2}})
			}},
		{name: "map entries", env: []string{"GOSTACK_LISTEN_IDENTITY=:6000", "GOSTACK_LISTEN_NETWORK=:9696", "GOSTACK_QUOTA_CORES=4"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Listen, map[string]string{"identity": ":6000", "compute": ":8774", "network": ":9696"})
				equal(t, c.Quota, map[string]int{"cores": 4})
			}},
		{name: "whole map as YAML, then entries", env: []string{"GOSTACK_LISTEN_DNS=:53", "GOSTACK_LISTEN={dns: ':5353', image: ':9292'}"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Listen, map[string]string{"identity": ":5000", "compute": ":8774", "dns": ":53", "image": ":9292"})
			}},
		{name: "existing key with a dash", file: "listen:\n  public-api: ':1'\n", env: []string{"GOSTACK_LISTEN_PUBLIC_API=:2"},
			check: func(t *testing.T, c *testConfig) { equal(t, c.Listen["public-api"], ":2") }},
		{name: "behind a nil pointer", env: []string{"GOSTACK_TLS_CERT=/c"},
			check: func(t *testing.T, c *testConfig) { equal(t, c.TLS, &tlsConfig{Cert: "/c"}) }},
		{name: "other prefixes ignored", env: []string{"NOVA_LOG_FORMAT=json", "GOSTACK_LOG_FORMAT_X=1"}, check: unchanged},
		{name: "bad value", env: []string{"GOSTACK_WATCH_MAX_CHANGES=lots"},
			want: `config: env GOSTACK_WATCH_MAX_CHANGES: watch.max_changes: cannot use "lots" as an integer`},
		{name: "bad duration", env: []string{"GOSTACK_SHUTDOWN_TIMEOUT=10"},
			want: `config: env GOSTACK_SHUTDOWN_TIMEOUT: shutdown_timeout: cannot use "10" as a duration (like 30s, 5m or 24h)`},
		{name: "bad map entry", env: []string{"GOSTACK_QUOTA_RAM=lots"},
			want: `config: env GOSTACK_QUOTA_RAM: quota.ram: cannot use "lots" as an integer`},
		{name: "bad list item", env: []string{"GOSTACK_BACKENDS=[{name: a, wieght: 2}]"},
			want: `config: env GOSTACK_BACKENDS: unknown key "backends[0].wieght"`},
		{name: "empty number", env: []string{"GOSTACK_PORT="},
			want: `config: env GOSTACK_PORT: port: cannot use "" as an unsigned integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"gostack.yaml": tt.file})
			cfg := defaults()
			err := config.Load("gostack.yaml", cfg, config.EnvPrefix("GOSTACK"), config.Environ(tt.env))
			wantErr(t, err, tt.want)
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestEnvPrefixUnderscore(t *testing.T) {
	cfg := defaults()
	env := config.Environ([]string{"GOSTACK_LOG_FORMAT=json"})
	if err := config.Load("", cfg, config.EnvPrefix("GOSTACK_"), env); err != nil {
		t.Fatal(err)
	}
	equal(t, cfg.Log.Format, "json")
}

func TestEnvNoPrefix(t *testing.T) {
	cfg := defaults()
	env := config.Environ([]string{"GOSTACK_LOG_FORMAT=json", "_LOG_FORMAT=json", "LOG_FORMAT=json"})
	if err := config.Load("", cfg, env); err != nil {
		t.Fatal(err)
	}
	unchanged(t, cfg)
}

func TestEnvLookup(t *testing.T) {
	vars := map[string]string{"X_LOG_LEVEL": "debug", "X_LISTEN_COMPUTE": ":1", "X_LISTEN_NEW": ":2"}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	cfg := defaults()
	if err := config.Load("", cfg, config.EnvPrefix("X"), config.Env(lookup)); err != nil {
		t.Fatal(err)
	}
	equal(t, cfg.Log.Level, "debug")
	// A lookup function cannot list names, so only existing keys change.
	equal(t, cfg.Listen, map[string]string{"identity": ":5000", "compute": ":1"})
}

func TestEnvNames(t *testing.T) {
	type nested struct {
		Listen      map[string]string `yaml:"listen"`
		ListenExtra map[string]string `yaml:"listen_extra"`
		ListenPort  int               `yaml:"listen_port"`
	}
	tests := []struct {
		name      string
		cfg       any
		env       []string
		want      string
		got       func(cfg any) any
		wantValue any
	}{
		{name: "leaf beats map entry, longer map wins", cfg: &nested{},
			env:       []string{"P_LISTEN_PORT=1", "P_LISTEN_EXTRA_A=2", "P_LISTEN_B=3"},
			got:       func(c any) any { return *c.(*nested) },
			wantValue: nested{Listen: map[string]string{"b": "3"}, ListenExtra: map[string]string{"a": "2"}, ListenPort: 1}},
		{name: "two keys, one variable", cfg: &struct {
			Log struct {
				Format string `yaml:"format"`
			} `yaml:"log"`
			LogFormat string `yaml:"log_format"`
		}{}, want: `config: env P_LOG_FORMAT would set both "log.format" and "log_format"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := config.Load("", tt.cfg, config.EnvPrefix("P"), config.Environ(tt.env))
			wantErr(t, err, tt.want)
			if tt.got != nil {
				equal(t, tt.got(tt.cfg), tt.wantValue)
			}
		})
	}
}
