//go:build !cgo

package libvirt

import (
	"context"

	"github.com/gostack/gostack/compute/virt"
)

// Driver is the libvirt driver's API in a build without cgo, where New
// always returns ErrUnavailable; its methods do too.
type Driver struct{}

var (
	_ virt.Driver            = (*Driver)(nil)
	_ virt.Pauser            = (*Driver)(nil)
	_ virt.Suspender         = (*Driver)(nil)
	_ virt.InterfaceAttacher = (*Driver)(nil)
	_ virt.VolumeAttacher    = (*Driver)(nil)
	_ virt.ConsoleLogger     = (*Driver)(nil)
)

// New returns ErrUnavailable: the libvirt binding needs cgo.
func New(context.Context, Config) (*Driver, error) { return nil, ErrUnavailable }

func (*Driver) Info() virt.DriverInfo                        { return virt.DriverInfo{Name: "libvirt", PlugsAtStart: true} }
func (*Driver) DomainType() string                           { return "" }
func (*Driver) Close() error                                 { return nil }
func (*Driver) Spawn(context.Context, virt.Guest) error      { return ErrUnavailable }
func (*Driver) Destroy(context.Context, string) error        { return ErrUnavailable }
func (*Driver) PowerOn(context.Context, string) error        { return ErrUnavailable }
func (*Driver) PowerOff(context.Context, string, bool) error { return ErrUnavailable }
func (*Driver) Reboot(context.Context, string, bool) error   { return ErrUnavailable }
func (*Driver) Pause(context.Context, string) error          { return ErrUnavailable }
func (*Driver) Unpause(context.Context, string) error        { return ErrUnavailable }
func (*Driver) Suspend(context.Context, string) error        { return ErrUnavailable }
func (*Driver) Resume(context.Context, string) error         { return ErrUnavailable }

func (*Driver) State(context.Context, string) (virt.PowerState, error) {
	return virt.PowerNoState, ErrUnavailable
}

func (*Driver) AttachInterface(context.Context, string, virt.GuestPort) error { return ErrUnavailable }
func (*Driver) DetachInterface(context.Context, string, string) error         { return ErrUnavailable }
func (*Driver) AttachVolume(context.Context, string, virt.Disk) error         { return ErrUnavailable }
func (*Driver) DetachVolume(context.Context, string, string) error            { return ErrUnavailable }

func (*Driver) List(context.Context) ([]virt.GuestState, error) { return nil, ErrUnavailable }

func (*Driver) ConsoleLog(context.Context, string) ([]byte, error) { return nil, ErrUnavailable }
