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
