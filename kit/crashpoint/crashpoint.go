// Package crashpoint stops the process at a named point of a write path,
// as kill -9 or a power cut would, so that crash tests can check what a
// restart finds there. Production code marks its points with Hit; a test
// starts the daemon with the environment variable
//
//	GOSTACK_CRASHPOINT=<name>[:<n>]
//
// and the process kills itself with SIGKILL the n-th time (default the
// first) it passes that point: no deferred function, no buffered write,
// no graceful shutdown runs. Without the variable Hit costs one comparison
// of a string read once at start.
//
// The points of each write path are listed with the recovery they must
// lead to in docs/security.md.
//
// What it does not do: simulate a power loss of the page cache (the
// kernel still writes what the process wrote before it died) — the fernet
// key repository's own tests do that through a file-system seam.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Env is the environment variable that arms one point.
const Env = "GOSTACK_CRASHPOINT"

var (
	armed string
	after int64 = 1
	hits  atomic.Int64
)

func init() {
	v := os.Getenv(Env)
	if name, n, ok := strings.Cut(v, ":"); ok {
		if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
			v, after = name, k
		}
	}
	armed = v
}

// Hit kills the process if name is the armed point and this is the n-th
// time it is reached.
func Hit(name string) {
	if armed == "" || name != armed || hits.Add(1) != after {
		return
	}
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		p.Kill() // SIGKILL: nothing after this line runs
	}
	for {
		time.Sleep(time.Hour) // the signal is on its way
	}
}
