// Command gostack is the all-in-one cloud: every gostack area in one
// process, state under ./data, OpenStack's conventional ports on 127.0.0.1.
//
//	gostack [-config gostack.yaml] [-data-dir DIR] [-set key=value ...]
//	gostack -help-config     # every key, its env var and default
//	gostack -print-config    # the effective config, secrets masked
//
// Settings come from defaults, then the YAML file, then GOSTACK_* variables,
// then flags. SIGINT or SIGTERM shuts it down gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gostack/gostack/cmd/gostack/allinone"
	"github.com/gostack/gostack/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gostack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", os.Getenv("GOSTACK_CONFIG"), "YAML config file (env GOSTACK_CONFIG)")
	var sets config.SetFlag
	sets.Register(fs, "set", "override one config key, like -set log.level=debug (repeatable)")
	sets.Bind(fs, "data-dir", "data_dir", "directory for state (config key data_dir)")
	printConfig := fs.Bool("print-config", false, "print the effective config (secrets masked) and exit")
	helpConfig := fs.Bool("help-config", false, "print every config key with its env var and default, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gostack: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := allinone.Defaults()
	if *helpConfig {
		config.WriteReference(stdout, &cfg, "GOSTACK")
		return 0
	}
	if err := config.Load(*path, &cfg, config.EnvPrefix("GOSTACK"), config.Flags(&sets)); err != nil {
		fmt.Fprintln(stderr, "gostack:", err)
		return 2
	}
	if *printConfig {
		out, err := config.Dump(&cfg)
		if err != nil {
			fmt.Fprintln(stderr, "gostack:", err)
			return 1
		}
		stdout.Write(out)
		return 0
	}
	if err := allinone.Run(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "gostack:", err)
		return 1
	}
	return 0
}
