package config_test

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/gostack/gostack/kit/config"
)

func newFlagSet(sets *config.SetFlag) *flag.FlagSet {
	fs := flag.NewFlagSet("gostack", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sets.Register(fs, "set", "override a config key: key=value (repeatable)")
	sets.Bind(fs, "data-dir", "data_dir", "directory for state")
	sets.Bind(fs, "port", "port", "API port")
	sets.BindBool(fs, "debug", "debug", "log everything")
	return fs
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		want       string
		check      func(t *testing.T, c *testConfig)
	}{
		{key: "log.level", value: "debug", check: func(t *testing.T, c *testConfig) { equal(t, c.Log.Level, "debug") }},
		{key: "listen.identity", value: ":1", check: func(t *testing.T, c *testConfig) { equal(t, c.Listen["identity"], ":1") }},
		{key: "listen.Public-API", value: ":2", check: func(t *testing.T, c *testConfig) { equal(t, c.Listen["Public-API"], ":2") }},
		{key: "quota.cores", value: "8", check: func(t *testing.T, c *testConfig) { equal(t, c.Quota, map[string]int{"cores": 8}) }},
		{key: "cors-origins", value: "a,b", check: func(t *testing.T, c *testConfig) { equal(t, c.Origins, []string{"a", "b"}) }},
		{key: "tls.key", value: "k", check: func(t *testing.T, c *testConfig) { equal(t, c.TLS, &tlsConfig{Key: "k"}) }},
		{key: "watch.retention", value: "2h", check: func(t *testing.T, c *testConfig) { equal(t, c.Watch.Retention.D().Hours(), 2.0) }},
		{key: "region", value: "r2", check: func(t *testing.T, c *testConfig) { equal(t, c.Region, "r2") }},
		{key: "log.levl", value: "debug", want: `config: unknown key "log.levl"`},
		{key: "tls.cert.pem", value: "x", want: `config: unknown key "tls.cert.pem"`},
		{key: "log", value: "debug", want: `config: log: is a section; set one of its keys, like "log.format"`},
		{key: "watch.max_changes", value: "x", want: `config: watch.max_changes: cannot use "x" as an integer`},
		{key: "quota.cores", value: "x", want: `config: quota.cores: cannot use "x" as an integer`},
		{key: "backends", value: "a,b", want: `config: backends: cannot use a comma-separated list here; write it as YAML`},
		{key: "backends", value: "[{name: a, weight: x}]", want: `config: backends[0].weight: cannot use "x" as an integer`},
		{key: "backends", value: "[{name: a", want: `config: backends: invalid YAML: line 1: did not find expected ',' or '}'`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			cfg := defaults()
			wantErr(t, config.Set(cfg, tt.key, tt.value), tt.want)
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestSetFlag(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   []string
		want  string
		check func(t *testing.T, c *testConfig)
	}{
		{name: "named and -set flags, in order", args: []string{"-set", "log.level=debug", "-data-dir", "/x", "-set", "data_dir=/y", "-port", "1"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Log.Level, "debug")
				equal(t, c.DataDir, "/y")
				equal(t, c.Port, uint16(1))
			}},
		{name: "switch", args: []string{"-debug"},
			check: func(t *testing.T, c *testConfig) { equal(t, c.Debug, true) }},
		{name: "switch off", args: []string{"-debug", "-debug=false"},
			check: func(t *testing.T, c *testConfig) { equal(t, c.Debug, false) }},
		{name: "value may hold =", args: []string{"-set", "database=sqlite:///x?a=b"},
			check: func(t *testing.T, c *testConfig) { equal(t, c.Database, "sqlite:///x?a=b") }},
		{name: "flags beat env", args: []string{"-set", "log.level=debug"}, env: []string{"GOSTACK_LOG_LEVEL=warn", "GOSTACK_DEBUG=on"},
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Log.Level, "debug")
				equal(t, c.Debug, true)
			}},
		{name: "unknown key", args: []string{"-set", "log.levl=debug"},
			want: `config: flag -set: unknown key "log.levl"`},
		{name: "bad value in a named flag", args: []string{"-port", "http"},
			want: `config: flag -port: port: cannot use "http" as an unsigned integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sets config.SetFlag
			if err := newFlagSet(&sets).Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cfg := defaults()
			err := config.Load("", cfg, config.EnvPrefix("GOSTACK"), config.Environ(tt.env), config.Flags(&sets))
			wantErr(t, err, tt.want)
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestSetFlagSyntax(t *testing.T) {
	tests := []struct {
		arg  string
		want string
	}{
		{"log.level=debug", ""},
		{"log.level=", ""},
		{"log.level", `invalid value "log.level" for flag -set: want key=value, like log.level=debug`},
		{"=debug", `invalid value "=debug" for flag -set: want key=value, like log.level=debug`},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			var sets config.SetFlag
			wantErr(t, newFlagSet(&sets).Parse([]string{"-set", tt.arg}), tt.want)
		})
	}
}

func TestSetFlagApply(t *testing.T) {
	var sets config.SetFlag
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var(&sets, "o", "override")
	if err := fs.Parse([]string{"-o", "watch.max_changes=7", "-o", "log.format=json"}); err != nil {
		t.Fatal(err)
	}
	equal(t, sets.String(), "watch.max_changes=7 log.format=json")
	cfg := defaults()
	if err := sets.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	equal(t, cfg.Watch.MaxChanges, 7)
	equal(t, cfg.Log.Format, "json")

	if err := fs.Parse([]string{"-o", "nope=1"}); err != nil {
		t.Fatal(err)
	}
	err := sets.Apply(defaults())
	wantErr(t, err, `config: flag -set: unknown key "nope"`)
	if !errors.Is(err, config.ErrUnknownKey) {
		t.Fatalf("errors.Is(%v, ErrUnknownKey) = false", err)
	}
}
