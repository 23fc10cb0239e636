// Command cloud embeds three whole gostack areas, identity (Keystone v3),
// image (Glance v2) and dns (Designate v2), in a program of its own: one
// http.Server on one port, each area under a path prefix as devstack
// serves them (http://host/identity, /image, /dns), all on SQLite in a
// data directory. kit/compose builds the areas and runs their
// controllers; the program owns the listener, the mux and the server.
//
//	cd examples && go run ./cloud -data-dir /tmp/cloud
//	. /tmp/cloud/openrc && openstack token issue && openstack image list
//
// The admin password is in <data-dir>/admin-password; the DNS server
// answers for the zones on -dns-listen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	dnsarea "github.com/gostack/gostack/dns/area"
	identityarea "github.com/gostack/gostack/identity/area"
	imagearea "github.com/gostack/gostack/image/area"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "cloud:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if set, gets the HTTP address once
// every area is built and the server is accepting.
func run(ctx context.Context, args []string, out io.Writer, ready func(addr string)) error {
	flags := flag.NewFlagSet("cloud", flag.ContinueOnError)
	listen := flags.String("listen", "127.0.0.1:8080", "HTTP address of every API")
	dataDir := flags.String("data-dir", "./cloud-data", "state: SQLite database, keys, images, openrc")
	dnsListen := flags.String("dns-listen", "127.0.0.1:5354", "the DNS server's UDP and TCP address")
	if err := flags.Parse(args); err != nil {
		return err
	}

	// The areas, each with its defaults; change any field of a.Config.
	identity, image, dns := identityarea.New(), imagearea.New(), dnsarea.New()
	dns.Config.Listen = *dnsListen
	areas := []compose.Area{identity, image, dns}
	cfg := compose.Defaults(areas...)
	cfg.DataDir = *dataDir // SQLite at <data-dir>/gostack.db

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer l.Close()
	base := "http://" + compose.PublicAddr(l.Addr().String())
	urls := map[string]string{}
	for _, a := range areas {
		urls[a.Name()] = base + "/" + a.Name() // what the catalog says
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The controllers run until the server has drained (stack.Close
	// below), not until the signal; a signal during the start ends it.
	bctx, bcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer bcancel()
	endStart := context.AfterFunc(ctx, bcancel)
	stack, err := compose.Build(bctx, compose.Options{Config: &cfg, Areas: areas, URLs: urls, Log: log})
	if err != nil {
		return err
	}
	defer stack.Close() // after the server below has stopped
	if !endStart() {
		return nil // interrupted while starting
	}

	mux := http.NewServeMux()
	for _, name := range append(stack.Names(), "admin") { // admin: /admin/healthcheck, /admin/metrics
		h := httpapi.Mount("/"+name, stack.Handler(name))
		mux.Handle("/"+name, h)
		mux.Handle("/"+name+"/", h)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()

	abs, _ := filepath.Abs(cfg.DataDir)
	fmt.Fprintf(out, "identity, image and dns on %s; DNS on %s\n", base, stack.Announced()["dns-server"])
	fmt.Fprintf(out, "source %s/openrc to use the openstack CLI\n", abs)
	if ready != nil {
		ready(l.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
