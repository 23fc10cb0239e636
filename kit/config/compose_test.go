package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/config"
)

type core struct {
	DataDir string `yaml:"data_dir" help:"state"`
}

type section struct {
	Rounds int    `yaml:"rounds" help:"bcrypt cost"`
	Secret string `yaml:"secret" secret:"true"`
}

// TestComposedRoot loads a config a daemon assembles at run time: an
// inline pointer to its own keys and one pointer per part's section, in a
// struct made with reflect.StructOf, validated by a Check.
func TestComposedRoot(t *testing.T) {
	c := &core{DataDir: "/var/lib/x"}
	s := &section{Rounds: 12}
	typ := reflect.StructOf([]reflect.StructField{
		{Name: "Core", Type: reflect.TypeOf(c), Tag: `yaml:",inline"`},
		{Name: "S0", Type: reflect.TypeOf(s), Tag: `yaml:"identity"`},
	})
	root := reflect.New(typ)
	root.Elem().Field(0).Set(reflect.ValueOf(c))
	root.Elem().Field(1).Set(reflect.ValueOf(s))

	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("data_dir: /srv\nidentity:\n  rounds: 4\n  secret: s3\n"), 0o600)
	checked := 0
	check := func() error {
		checked++
		if s.Rounds > 31 {
			return &config.FieldError{Key: "identity.rounds", Problem: "at most 31"}
		}
		return nil
	}
	env := config.Environ([]string{"X_IDENTITY_SECRET=env"})
	if err := config.Load(path, root.Interface(), config.EnvPrefix("X"), env, config.Check(check)); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv" || s.Rounds != 4 || s.Secret != "env" || checked != 1 {
		t.Fatalf("got %+v %+v, checked %d", c, s, checked)
	}
	out, err := config.Dump(root.Interface())
	if err != nil || !strings.Contains(string(out), "data_dir: /srv") || !strings.Contains(string(out), `secret: '***'`) {
		t.Fatalf("dump: %v\n%s", err, out)
	}
	err = config.Load("", root.Interface(), config.EnvPrefix("X"), config.Environ([]string{"X_IDENTITY_ROUNDS=40"}), config.Check(check))
	if err == nil || !strings.Contains(err.Error(), "identity.rounds: at most 31 (from env X_IDENTITY_ROUNDS)") {
		t.Fatalf("check error: %v", err)
	}
}
