package libvirt

import "errors"

var (
	// ErrUnavailable is what New returns in a build without cgo: the
	// libvirt binding is C.
	ErrUnavailable = errors.New("compute/libvirt: built without cgo")
	// ErrNoGuest is an operation on a guest that libvirt does not have.
	ErrNoGuest = errors.New("compute/libvirt: no such guest")
	// ErrNotOurs is a domain with the guest's uuid that gostack did not
	// define (it lacks gostack's metadata): the driver leaves it alone.
	ErrNotOurs = errors.New("compute/libvirt: domain not defined by gostack")
	// ErrPowerState is an action the guest's power state does not allow
	// (a soft reboot of a guest that is off, resuming one that was not
	// suspended).
	ErrPowerState = errors.New("compute/libvirt: not possible in the guest's power state")
	// ErrStillAttached is a NIC that a running guest did not let go of
	// by DetachInterface's deadline: it stays in the guest's definition,
	// and the running guest may still release it later.
	ErrStillAttached = errors.New("compute/libvirt: the guest did not let go of the device")
)
