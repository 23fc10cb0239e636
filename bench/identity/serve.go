package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	identityarea "github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/compose"
)

// serve runs gostack's identity area alone, as an embedder runs it
// (compose.Daemon: SQLite under dir, default limits and access log), on
// loopback ports of its own, and prints "ready URL GOMAXPROCS" on stdout
// once it serves. It stops on SIGTERM. It is the gostack side of the
// token comparison, started pinned to the servers' CPU.
func serve(dir string, logOut io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ls := map[string]net.Listener{}
	for _, name := range []string{"admin", "identity"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls[name] = l
	}
	d := compose.New(identityarea.New())
	d.Config.DataDir = dir
	d.Listeners = ls
	d.LogOutput = logOut
	d.Ready = func(addrs map[string]string) {
		fmt.Printf("ready http://%s %d\n", addrs["identity"], runtime.GOMAXPROCS(0))
	}
	return d.Run(ctx)
}
