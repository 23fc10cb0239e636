// Command gostack is the all-in-one cloud: every gostack area in one
// process, state under ./data, OpenStack's conventional ports on 127.0.0.1.
//
//	gostack [-config gostack.yaml] [-data-dir DIR] [-set key=value ...]
//	gostack -help-config     # every key, its env var and default
//	gostack -print-config    # the effective config, secrets masked
//	gostack identity bootstrap [-password P] [flags above]   # keystone-manage bootstrap
//	gostack fernet setup|rotate [flags above]                # keystone-manage fernet_setup|fernet_rotate
//	gostack credential rotate|migrate [flags above]          # keystone-manage credential_rotate|credential_migrate
//	gostack dns-server [flags above]                         # the authoritative DNS server alone (run the cloud with dns.server=false)
//	gostack network-agent [flags above]                      # this host's network agent alone, against the controller in network.agent
//	gostack compute-agent [flags above]                      # this host's compute agent alone, against the controller in compute.agent
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
	"strings"
	"syscall"

	"github.com/gostack/gostack/cmd/gostack/allinone"
	computearea "github.com/gostack/gostack/compute/area"
	dnsarea "github.com/gostack/gostack/dns/area"
	"github.com/gostack/gostack/identity"
	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	networkarea "github.com/gostack/gostack/network/area"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := ""
	switch {
	case len(args) >= 2 && args[0] == "identity" && args[1] == "bootstrap",
		len(args) >= 2 && args[0] == "fernet" && (args[1] == "setup" || args[1] == "rotate"),
		len(args) >= 2 && args[0] == "credential" && (args[1] == "rotate" || args[1] == "migrate"):
		cmd, args = args[0]+" "+args[1], args[2:]
	case len(args) >= 1 && (args[0] == "dns-server" || args[0] == "network-agent" || args[0] == "compute-agent"):
		cmd, args = args[0], args[1:]
	case len(args) >= 1 && (args[0] == "identity" || args[0] == "fernet" || args[0] == "credential"):
		fmt.Fprintf(stderr, "gostack: unknown command %q: want \"identity bootstrap\", \"fernet setup\", \"fernet rotate\", "+
			"\"credential rotate\" or \"credential migrate\"\n", strings.Join(args, " "))
		return 2
	}
	fs := flag.NewFlagSet("gostack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", os.Getenv("GOSTACK_CONFIG"), "YAML config file (env GOSTACK_CONFIG)")
	var sets config.SetFlag
	sets.Register(fs, "set", "override one config key, like -set log.level=debug (repeatable)")
	sets.Bind(fs, "data-dir", "data_dir", "directory for state (config key data_dir)")
	printConfig := fs.Bool("print-config", false, "print the effective config (secrets masked) and exit")
	helpConfig := fs.Bool("help-config", false, "print every config key with its env var and default, and exit")
	adminPassword := fs.String("password", "", "identity bootstrap: the admin password (default: <data_dir>/admin-password)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gostack: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	d := allinone.New()
	if *helpConfig {
		config.WriteReference(stdout, d.ConfigRoot(), "GOSTACK")
		return 0
	}
	if err := d.Load(*path, config.EnvPrefix("GOSTACK"), config.Flags(&sets)); err != nil {
		fmt.Fprintln(stderr, "gostack:", err)
		return 2
	}
	id, _ := compose.Find[*identityarea.Area](d.Areas)
	dns, _ := compose.Find[*dnsarea.Area](d.Areas)
	net, _ := compose.Find[*networkarea.Area](d.Areas)
	cmp, _ := compose.Find[*computearea.Compute](d.Areas)
	var err error
	switch {
	case *printConfig:
		var out []byte
		if out, err = config.Dump(d.ConfigRoot()); err == nil {
			stdout.Write(out)
		}
	case cmd == "identity bootstrap":
		err = id.Bootstrap(ctx, &d.Config, identity.BootstrapConfig{AdminPassword: *adminPassword}, stdout)
	case cmd == "fernet setup":
		err = id.FernetSetup(&d.Config, stdout)
	case cmd == "fernet rotate":
		err = id.FernetRotate(ctx, &d.Config, stdout)
	case cmd == "credential rotate":
		err = id.CredentialRotate(ctx, &d.Config, stdout)
	case cmd == "credential migrate":
		err = id.CredentialMigrate(ctx, &d.Config, stdout)
	case cmd == "dns-server":
		err = dns.ServeDNS(ctx, &d.Config, d.Logger(), nil)
	case cmd == "network-agent":
		err = net.RunAgent(ctx, &d.Config, d.Logger())
	case cmd == "compute-agent":
		err = cmp.RunAgent(ctx, &d.Config, d.Logger())
	default:
		err = d.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gostack:", err)
		return 1
	}
	return 0
}
