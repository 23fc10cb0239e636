package qemu

import (
	"errors"
	"fmt"
)

var (
	// ErrNoGuest is an operation on a guest the driver has no directory
	// for.
	ErrNoGuest = errors.New("compute/qemu: no such guest")
	// ErrNotRunning is an operation that needs the guest's QEMU process
	// (pause, suspend) on a guest that is off or suspended.
	ErrNotRunning = errors.New("compute/qemu: guest is not running")
	// ErrSuspended is an interface attach or detach on a suspended
	// guest: its saved memory holds the devices it had, and a resume
	// must find the same ones. Resume it (or reboot it) first.
	ErrSuspended = errors.New("compute/qemu: guest is suspended")
)

// QMPError is an error QEMU answered a QMP command with.
type QMPError struct {
	Command string
	Class   string // QEMU's error class: GenericError, CommandNotFound...
	Desc    string
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("compute/qemu: qmp %s: %s", e.Command, e.Desc)
}
