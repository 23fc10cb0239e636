package config_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/config"
)

// testConfig exercises every kind of field Load supports.
type testConfig struct {
	DataDir  string `yaml:"data_dir" help:"directory for state (database, keys, openrc)"`
	Database string `yaml:"database" help:"DSN: sqlite:///path or postgres://..." secret:"true"`
	Debug    bool   `yaml:"debug" help:"log | trace everything"`
	Log      struct {
		Format string `yaml:"format" help:"text or json"`
		Level  string `yaml:"level"`
	} `yaml:"log"`
	Listen          map[string]string `yaml:"listen" help:"listen address per API"`
	Quota           map[string]int    `yaml:"quota"`
	ShutdownTimeout config.Duration   `yaml:"shutdown_timeout"`
	Watch           struct {
		Retention  config.Duration `yaml:"retention"`
		MaxChanges int             `yaml:"max_changes"`
	} `yaml:"watch"`
	Origins  []string      `yaml:"cors-origins"`
	Backends []backend     `yaml:"backends"`
	TLS      *tlsConfig    `yaml:"tls"`
	Ratio    float64       `yaml:"ratio"`
	Port     uint16        `yaml:"port"`
	Addr     netip.Addr    `yaml:"addr"`
	Poll     time.Duration `yaml:"poll"`
	Extra    any           `yaml:"extra"`
	Common   `yaml:",inline"`
	ignored  int
}

type backend struct {
	Name   string `yaml:"name"`
	Weight int    `yaml:"weight"`
}

type tlsConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key" secret:"true"`
}

// Common is inlined: its keys sit at the top level.
type Common struct {
	Region string `yaml:"region" help:"region name"`
}

func defaults() *testConfig {
	c := &testConfig{DataDir: "/var/lib/gostack", Ratio: 1.5, Port: 8080, Poll: 5 * time.Second}
	c.Log.Format, c.Log.Level = "text", "info"
	c.Listen = map[string]string{"identity": ":5000", "compute": ":8774"}
	c.ShutdownTimeout = config.Duration(30 * time.Second)
	c.Watch.Retention = config.Duration(24 * time.Hour)
	c.Watch.MaxChanges = 1000
	c.Origins = []string{"*"}
	c.Region = "RegionOne"
	return c
}

func (c *testConfig) Validate() error {
	var errs []error
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, &config.FieldError{Key: "log.format", Problem: fmt.Sprintf("must be text or json, not %q", c.Log.Format)})
	}
	if c.Watch.MaxChanges < 0 {
		errs = append(errs, &config.FieldError{Key: "watch.max_changes", Problem: "must not be negative"})
	}
	if c.Region == "nowhere" {
		errs = append(errs, errors.New("region nowhere is not a place"))
	}
	for i, b := range c.Backends {
		if b.Weight < 0 {
			errs = append(errs, &config.FieldError{Key: fmt.Sprintf("backends[%d].weight", i), Problem: "must not be negative"})
		}
	}
	return errors.Join(errs...)
}

// inDir makes a temp dir the working directory and writes files there, so
// error messages carry short relative paths.
func inDir(t *testing.T, files map[string]string) {
	t.Helper()
	t.Chdir(t.TempDir())
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Fatalf("error:\n got %q\nwant %q", err.Error(), want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		edit func(*testConfig)
		want string
	}{
		{name: "valid"},
		{name: "from file", file: "log:\n  format: xml\n",
			want: `config: log.format: must be text or json, not "xml" (from gostack.yaml line 2)`},
		{name: "from env", env: []string{"GOSTACK_LOG_FORMAT=xml"},
			want: `config: log.format: must be text or json, not "xml" (from env GOSTACK_LOG_FORMAT)`},
		{name: "from flag", args: []string{"-set", "log.format=xml"},
			want: `config: log.format: must be text or json, not "xml" (from flag -set)`},
		{name: "default", edit: func(c *testConfig) { c.Watch.MaxChanges = -1 },
			want: `config: watch.max_changes: must not be negative`},
		{name: "inside a list", file: "backends:\n  - name: a\n    weight: -1\n",
			want: `config: backends[0].weight: must not be negative (from gostack.yaml line 3)`},
		{name: "list from env", env: []string{"GOSTACK_BACKENDS=[{name: a, weight: -1}]"},
			want: `config: backends[0].weight: must not be negative (from env GOSTACK_BACKENDS)`},
		{name: "two errors", file: "log: {format: xml}\nwatch: {max_changes: -5}\n",
			want: `config: log.format: must be text or json, not "xml" (from gostack.yaml line 1); ` +
				`config: watch.max_changes: must not be negative (from gostack.yaml line 2)`},
		{name: "plain error", edit: func(c *testConfig) { c.Region = "nowhere" },
			want: `config: region nowhere is not a place`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"gostack.yaml": tt.file})
			cfg := defaults()
			if tt.edit != nil {
				tt.edit(cfg)
			}
			var sets config.SetFlag
			fs := newFlagSet(&sets)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := config.Load("gostack.yaml", cfg, config.EnvPrefix("GOSTACK"),
				config.Environ(tt.env), config.Flags(&sets))
			wantErr(t, err, tt.want)
			var fe *config.FieldError
			if err != nil && tt.name != "plain error" && !errors.As(err, &fe) {
				t.Fatalf("errors.As(%v, *FieldError) = false", err)
			}
		})
	}
}

func TestFieldError(t *testing.T) {
	tests := []struct {
		err  *config.FieldError
		want string
	}{
		{&config.FieldError{Key: "log.format", Problem: "must be text or json"}, "config: log.format: must be text or json"},
		{&config.FieldError{Problem: "nothing to do"}, "config: nothing to do"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBadTarget(t *testing.T) {
	type recursive struct {
		Next *recursive `yaml:"next"`
	}
	type tree struct {
		Children []tree `yaml:"children"`
	}
	tests := []struct {
		name string
		cfg  any
		want string
	}{
		{"not a pointer", testConfig{}, "config: need a pointer to a struct, not config_test.testConfig"},
		{"nil", nil, "config: need a pointer to a struct, not <nil>"},
		{"pointer to int", new(int), "config: need a pointer to a struct, not *int"},
		{"chan", &struct {
			C chan int `yaml:"c"`
		}{}, "config: c: unsupported type chan int"},
		{"chan in list", &struct {
			L []map[string]func() `yaml:"l"`
		}{}, "config: l: unsupported type func()"},
		{"int map keys", &struct {
			M map[int]string `yaml:"m"`
		}{}, "config: m: unsupported type map[int]string"},
		{"recursive", &recursive{}, "config: next: recursive type config_test.recursive"},
		{"same key twice", &struct {
			A string `yaml:"a"`
			B string `yaml:"a"`
		}{}, `config: struct { A string "yaml:\"a\""; B string "yaml:\"a\"" }: two fields use the key "a"`},
		{"recursive through a list is fine", &tree{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, config.Load("", tt.cfg), tt.want)
		})
	}
}
