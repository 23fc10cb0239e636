package config_test

import (
	"errors"
	"io/fs"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/config"
)

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		want  string // the error; "" for none
		check func(t *testing.T, c *testConfig)
	}{
		{name: "empty file", yaml: "", check: unchanged},
		{name: "only comments", yaml: "# nothing here\n", check: unchanged},
		{name: "null document", yaml: "~\n", check: unchanged},
		{name: "null keeps defaults", yaml: "log:\ndata_dir: ~\n", check: unchanged},
		{name: "every kind", yaml: everyKind, check: checkEveryKind},
		{name: "maps merge, lists replace", yaml: "listen:\n  identity: ':5001'\n  network: ':9696'\ncors-origins: [a]\n",
			check: func(t *testing.T, c *testConfig) {
				want := map[string]string{"identity": ":5001", "compute": ":8774", "network": ":9696"}
				equal(t, c.Listen, want)
				equal(t, c.Origins, []string{"a"})
			}},
		{name: "anchors and merge keys", yaml: anchors,
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Backends, []backend{{"a", 1}, {"b", 5}})
				equal(t, c.Log.Format, "json")
				equal(t, c.Log.Level, "warn")
			}},
		{name: "integer forms", yaml: "port: 0x1F90\nwatch: {max_changes: 1_000_000}\n",
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.Port, uint16(8080))
				equal(t, c.Watch.MaxChanges, 1000000)
			}},
		{name: "quoted and unquoted strings", yaml: "data_dir: 42\nlog: {level: \"true\"}\n",
			check: func(t *testing.T, c *testConfig) {
				equal(t, c.DataDir, "42")
				equal(t, c.Log.Level, "true")
			}},

		{name: "unknown key", yaml: "data_dir: /x\ndatadir: /y\n",
			want: `config gostack.yaml: line 2: unknown key "datadir"`},
		{name: "unknown key in a section", yaml: "debug: true\nlog:\n  level: info\n  formatt: json\n",
			want: `config gostack.yaml: line 4: unknown key "log.formatt"`},
		{name: "unknown key in a list", yaml: "backends:\n  - name: a\n  - name: b\n    wieght: 2\n",
			want: `config gostack.yaml: line 4: unknown key "backends[1].wieght"`},
		{name: "unknown key behind a pointer", yaml: "tls:\n  cert: /c\n  certfile: /d\n",
			want: `config gostack.yaml: line 3: unknown key "tls.certfile"`},
		{name: "unexported field is unknown", yaml: "ignored: 1\n",
			want: `config gostack.yaml: line 1: unknown key "ignored"`},
		{name: "not an integer", yaml: "log:\n  level: info\n\nwatch:\n  retention: 1h\n\n  max_changes: lots\n",
			want: `config gostack.yaml: line 7: watch.max_changes: cannot use "lots" as an integer`},
		{name: "integer out of range", yaml: "port: 70000\n",
			want: `config gostack.yaml: line 1: port: cannot use "70000" as an unsigned integer: out of range for uint16`},
		{name: "negative unsigned", yaml: "port: -1\n",
			want: `config gostack.yaml: line 1: port: cannot use "-1" as an unsigned integer`},
		{name: "not a number", yaml: "ratio: half\n",
			want: `config gostack.yaml: line 1: ratio: cannot use "half" as a number`},
		{name: "not a boolean", yaml: "debug: maybe\n",
			want: `config gostack.yaml: line 1: debug: cannot use "maybe" as a boolean`},
		{name: "not a duration", yaml: "watch:\n  retention: 5 minutes\n",
			want: `config gostack.yaml: line 2: watch.retention: cannot use "5 minutes" as a duration (like 30s, 5m or 24h)`},
		{name: "not a time.Duration", yaml: "poll: 5\n",
			want: `config gostack.yaml: line 1: poll: cannot use "5" as a duration (like 30s, 5m or 24h)`},
		{name: "text unmarshaler fails", yaml: "addr: nope\n",
			want: `config gostack.yaml: line 1: addr: cannot use "nope": ParseAddr("nope"): unable to parse IP`},
		{name: "mapping for a string", yaml: "log:\n  level:\n    name: x\n",
			want: `config gostack.yaml: line 3: log.level: cannot use a mapping as a string`},
		{name: "scalar for a section", yaml: "log: json\n",
			want: `config gostack.yaml: line 1: log: cannot use "json" as a mapping`},
		{name: "scalar for a list", yaml: "cors-origins: '*'\n",
			want: `config gostack.yaml: line 1: cors-origins: cannot use "*" as a list`},
		{name: "list for a map", yaml: "listen:\n  - a\n",
			want: `config gostack.yaml: line 2: listen: cannot use a list as a mapping`},
		{name: "wrong type in a map", yaml: "quota:\n  cores: 10\n  ram: lots\n",
			want: `config gostack.yaml: line 3: quota.ram: cannot use "lots" as an integer`},
		{name: "wrong type in a list", yaml: "backends:\n  - name: a\n    weight: [1]\n",
			want: `config gostack.yaml: line 3: backends[0].weight: cannot use a list as an integer`},
		{name: "duplicate key", yaml: "data_dir: /a\ndebug: true\ndata_dir: /b\n",
			want: `config gostack.yaml: line 3: duplicate key "data_dir" (first on line 1)`},
		{name: "duplicate key in a section", yaml: "log:\n  level: info\n  level: debug\n",
			want: `config gostack.yaml: line 3: duplicate key "log.level" (first on line 2)`},
		{name: "duplicate key in a map", yaml: "listen:\n  identity: ':1'\n  identity: ':2'\n",
			want: `config gostack.yaml: line 3: duplicate key "listen.identity" (first on line 2)`},
		{name: "top level is a list", yaml: "- data_dir: /x\n",
			want: `config gostack.yaml: line 1: top level must be a mapping, not a list`},
		{name: "top level is a scalar", yaml: "\nhello\n",
			want: `config gostack.yaml: line 2: top level must be a mapping, not "hello"`},
		{name: "two documents", yaml: "debug: true\n---\ndebug: false\n",
			want: `config gostack.yaml: line 2: want one YAML document, found another`},
		{name: "syntax error", yaml: "log:\n  level: info\n format: json\n",
			want: `config gostack.yaml: line 3: did not find expected key`},
		{name: "syntax error in a flow list", yaml: "debug: true\nbackends: [a, b\n",
			want: `config gostack.yaml: line 2: did not find expected ',' or ']'`},
		{name: "scanner error", yaml: "debug: true\nlog: level: info\n",
			want: `config gostack.yaml: line 2: mapping values are not allowed in this context`},
		{name: "tab indent", yaml: "log:\n\tlevel: info\n",
			want: `config gostack.yaml: line 2: found character that cannot start any token`},
		{name: "bad merge", yaml: "log:\n  <<: 5\n",
			want: `config gostack.yaml: line 2: a merge key (<<) takes a mapping or a list of mappings`},
		{name: "non-string key", yaml: "listen:\n  [a]: b\n",
			want: `config gostack.yaml: line 2: listen: keys must be strings, not a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"gostack.yaml": tt.yaml})
			cfg := defaults()
			err := config.Load("gostack.yaml", cfg)
			wantErr(t, err, tt.want)
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

const everyKind = `
data_dir: /srv/gostack
database: postgres://u:p@db/gostack
debug: yes
log: {format: json, level: debug}
listen:
  identity: ":15000"
quota: {cores: 20}
shutdown_timeout: 1m
watch:
  retention: 1h30m
  max_changes: 50
cors-origins: [https://a.example, https://b.example]
backends:
  - name: a
    weight: 3
tls:
  cert: /etc/tls.crt
ratio: 0.25
port: 9000
addr: 10.0.0.1
poll: 250ms
extra: {any: [thing, 1]}
region: RegionTwo
`

func checkEveryKind(t *testing.T, c *testConfig) {
	want := defaults()
	want.DataDir, want.Database, want.Debug = "/srv/gostack", "postgres://u:p@db/gostack", true
	want.Log.Format, want.Log.Level = "json", "debug"
	want.Listen["identity"] = ":15000"
	want.Quota = map[string]int{"cores": 20}
	want.ShutdownTimeout = config.Duration(time.Minute)
	want.Watch.Retention, want.Watch.MaxChanges = config.Duration(90*time.Minute), 50
	want.Origins = []string{"https://a.example", "https://b.example"}
	want.Backends = []backend{{"a", 3}}
	want.TLS = &tlsConfig{Cert: "/etc/tls.crt"}
	want.Ratio, want.Port, want.Addr = 0.25, 9000, netip.MustParseAddr("10.0.0.1")
	want.Poll = 250 * time.Millisecond
	want.Extra = map[string]any{"any": []any{"thing", 1}}
	want.Region = "RegionTwo"
	equal(t, c, want)
}

const anchors = `
extra: &base
  name: a
  weight: 1
backends:
  - *base
  - <<: *base
    name: b
    weight: 5
log:
  <<: [{format: json, level: debug}, {level: error}]
  level: warn
`

func unchanged(t *testing.T, c *testConfig) { equal(t, c, defaults()) }

func equal[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	inDir(t, nil)
	err := config.Load("missing.yaml", defaults())
	wantErr(t, err, "config missing.yaml: file does not exist")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestLoadErrorsWrap(t *testing.T) {
	inDir(t, map[string]string{"a.yaml": "log:\n  formatt: x\n", "b.yaml": "watch:\n  max_changes: x\n"})
	if err := config.Load("a.yaml", defaults()); !errors.Is(err, config.ErrUnknownKey) {
		t.Fatalf("errors.Is(%v, ErrUnknownKey) = false", err)
	}
	var fe *config.FieldError
	if err := config.Load("b.yaml", defaults()); !errors.As(err, &fe) || fe.Key != "watch.max_changes" {
		t.Fatalf("errors.As(%v, *FieldError) gave %+v", err, fe)
	}
}
