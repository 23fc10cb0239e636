package compute

import "github.com/gostack/gostack/compute/virt"

// The driver contract moved to compute/virt, a light package a driver
// can import without the store. These names stay only until the drivers
// in progress (compute/qemu, compute/libvirt) import compute/virt.
type (
	Driver            = virt.Driver
	DriverInfo        = virt.DriverInfo
	DriverFactory     = virt.DriverFactory
	Drivers           = virt.Drivers
	Guest             = virt.Guest
	Disk              = virt.Disk
	GuestPort         = virt.GuestPort
	GuestState        = virt.GuestState
	Pauser            = virt.Pauser
	Suspender         = virt.Suspender
	VolumeAttacher    = virt.VolumeAttacher
	InterfaceAttacher = virt.InterfaceAttacher
	ConsoleLogger     = virt.ConsoleLogger
)

var (
	ErrNotSupported = virt.ErrNotSupported
	Pause           = virt.Pause
	Unpause         = virt.Unpause
	Suspend         = virt.Suspend
	Resume          = virt.Resume
	ConsoleLog      = virt.ConsoleLog
)
