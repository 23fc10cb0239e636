// Package atexit runs a benchmark's clean-ups (stop the daemons it
// started, remove its files) however it ends: normally, on a fatal
// error, or stopped by a signal. A daemon left running would keep its
// ports, its files and the locks its parent held.
package atexit

import (
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	mu       sync.Mutex
	cleanups []func()
)

// Add registers f to run at the end, the last added first.
func Add(f func()) {
	mu.Lock()
	defer mu.Unlock()
	cleanups = append(cleanups, f)
}

// Run runs the clean-ups registered so far, once each.
func Run() {
	mu.Lock()
	defer mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

// Fatal logs v, runs the clean-ups and exits with status 1.
func Fatal(v ...any) { Fatalf("%s", fmt.Sprint(v...)) }

// Fatalf logs the formatted message, runs the clean-ups and exits with
// status 1.
func Fatalf(format string, v ...any) {
	log.Printf(format, v...)
	Run()
	os.Exit(1)
}

// OnSignals makes SIGINT and SIGTERM end the benchmark through Fatalf,
// and ignores SIGPIPE (output piped into head).
func OnSignals() {
	signal.Ignore(syscall.SIGPIPE)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { Fatalf("%v", <-sig) }()
}
