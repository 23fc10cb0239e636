// Package nsutil creates named network namespaces and runs code inside
// one, on a thread of its own that goes back to its namespace afterwards.
// The network blocks (network/l3, the agent) share it.
package nsutil

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Ensure opens the named namespace (/run/netns/<name>), creating it if
// needed. The caller closes the handle.
func Ensure(name string) (netns.NsHandle, error) {
	if ns, err := netns.GetFromName(name); err == nil {
		return ns, nil
	}
	var ns netns.NsHandle
	err := OnLockedThread(func() error {
		var err error
		ns, err = netns.NewNamed(name) // also moves the thread into it
		return err
	})
	if err != nil {
		return netns.None(), fmt.Errorf("create namespace %s: %w", name, err)
	}
	return ns, nil
}

// OnLockedThread runs fn on a locked thread and puts the thread back in
// its namespace afterwards; a thread that cannot be put back stays
// locked, so Go retires it instead of reusing it.
func OnLockedThread(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, err) // the thread stays locked: retired
	}
	runtime.UnlockOSThread()
	return ferr
}

// In runs fn with the calling thread in ns (sockets fn opens belong to
// ns), and back in its own namespace after.
func In(ns netns.NsHandle, fn func() error) error {
	return OnLockedThread(func() error {
		if err := netns.Set(ns); err != nil {
			return err
		}
		return fn()
	})
}

// InNamed is In for the named namespace (/run/netns/<name>).
func InNamed(name string, fn func() error) error {
	ns, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	defer ns.Close()
	return In(ns, fn)
}
