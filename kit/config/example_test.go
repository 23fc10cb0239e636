package config_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/kit/config"
)

// Example loads a daemon's config from a file, lets the environment and a
// flag override it, and prints the result.
func Example() {
	type Config struct {
		DataDir string `yaml:"data_dir" help:"directory for state"`
		Log     struct {
			Format string `yaml:"format" help:"text or json"`
			Level  string `yaml:"level"`
		} `yaml:"log"`
		Listen          map[string]string `yaml:"listen"`
		ShutdownTimeout config.Duration   `yaml:"shutdown_timeout"`
	}

	dir, err := os.MkdirTemp("", "config-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gostack.yaml")
	file := "log:\n  format: json\n  level: warn\nlisten:\n  identity: ':5000'\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		panic(err)
	}

	// Defaults first.
	cfg := Config{DataDir: "/var/lib/gostack", ShutdownTimeout: config.Duration(30e9)}
	cfg.Log.Format, cfg.Log.Level = "text", "info"

	var sets config.SetFlag
	fs := flag.NewFlagSet("gostack", flag.ExitOnError)
	sets.Register(fs, "set", "override a config key: key=value (repeatable)")
	sets.Bind(fs, "data-dir", "data_dir", "directory for state")
	_ = fs.Parse([]string{"-data-dir", "/srv/gostack"})

	err = config.Load(path, &cfg,
		config.EnvPrefix("GOSTACK"),
		config.Environ([]string{"GOSTACK_LOG_LEVEL=debug", "GOSTACK_LISTEN_COMPUTE=:8774"}),
		config.Flags(&sets))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.DataDir, cfg.Log.Format, cfg.Log.Level, cfg.ShutdownTimeout)
	fmt.Println(cfg.Listen["identity"], cfg.Listen["compute"])
	// Output:
	// /srv/gostack json debug 30s
	// :5000 :8774
}

// ExampleLoad_error shows the one-line errors Load returns.
func ExampleLoad_error() {
	type Config struct {
		Watch struct {
			MaxChanges int `yaml:"max_changes"`
		} `yaml:"watch"`
	}
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gostack.yaml")
	_ = os.WriteFile(path, []byte("watch:\n  max_changes: lots\n"), 0o600)

	var cfg Config
	err := config.Load(path, &cfg)
	fmt.Println(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	err = config.Load("", &cfg, config.EnvPrefix("GOSTACK"), config.Environ([]string{"GOSTACK_WATCH_MAXCHANGES=1", "GOSTACK_WATCH_MAX_CHANGES=x"}))
	fmt.Println(err)
	fmt.Println(config.Set(&cfg, "watch.max_change", "1"))
	// Output:
	// config gostack.yaml: line 2: watch.max_changes: cannot use "lots" as an integer
	// config: env GOSTACK_WATCH_MAX_CHANGES: watch.max_changes: cannot use "x" as an integer
	// config: unknown key "watch.max_change"
}

// ExampleWriteReference prints the Markdown reference a daemon shows for
// -help-config.
func ExampleWriteReference() {
	type Config struct {
		DataDir  string `yaml:"data_dir" help:"directory for state"`
		Password string `yaml:"password" secret:"true"`
	}
	cfg := Config{DataDir: "/var/lib/gostack", Password: "hunter2"}
	_ = config.WriteReference(os.Stdout, cfg, "GOSTACK")
	// Output:
	// | Key | Type | Default | Environment | Description |
	// |-----|------|---------|-------------|-------------|
	// | `data_dir` | string | `/var/lib/gostack` | `GOSTACK_DATA_DIR` | directory for state |
	// | `password` | string | `***` | `GOSTACK_PASSWORD` |  |
}

// ExampleDump prints the effective config for -print-config.
func ExampleDump() {
	type Config struct {
		DataDir  string          `yaml:"data_dir"`
		Password string          `yaml:"password" secret:"true"`
		Timeout  config.Duration `yaml:"timeout"`
	}
	out, _ := config.Dump(Config{DataDir: "/var/lib/gostack", Password: "hunter2", Timeout: config.Duration(3e11)})
	fmt.Print(string(out))
	// Output:
	// data_dir: /var/lib/gostack
	// password: '***'
	// timeout: 5m
}
