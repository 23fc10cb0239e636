//go:build cgo

package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/gostack/gostack/compute/virt"
)

// Driver runs guests through one libvirt connection. Its methods may be
// called from any goroutine; operations on one guest take turns.
type Driver struct {
	cfg      Config
	virtType string
	info     virt.DriverInfo
	locks    keyLocks

	mu   sync.Mutex
	conn *libvirt.Connect // nil once closed
}

var (
	_ virt.Driver            = (*Driver)(nil)
	_ virt.Pauser            = (*Driver)(nil)
	_ virt.Suspender         = (*Driver)(nil)
	_ virt.InterfaceAttacher = (*Driver)(nil)
	_ virt.VolumeAttacher    = (*Driver)(nil)
	_ virt.ConsoleLogger     = (*Driver)(nil)
)

// New connects to libvirt and reads what the host offers (the domain
// type, the hypervisor's version). Close releases the connection.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("compute/libvirt: state directory: %w", err)
	}
	if cfg.RBDConf == "" {
		cfg.RBDConf = filepath.Join(cfg.StateDir, "ceph.conf")
		if err := writeConf(cfg.RBDConf, rbdConf); err != nil {
			return nil, err
		}
	}
	conn, err := libvirt.NewConnect(cfg.URI)
	if err != nil {
		return nil, wrap(err, "connect to %s", cfg.URI)
	}
	d := &Driver{cfg: cfg, conn: conn, virtType: cfg.DomainType}
	if err := d.probe(); err != nil {
		conn.Close()
		return nil, err
	}
	return d, nil
}

// writeConf writes a file QEMU reads (0644) atomically.
func writeConf(path, body string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("compute/libvirt: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("compute/libvirt: %s: %w", path, err)
	}
	return nil
}

// reach is how the driver's guests reach their network disks.
func (d *Driver) reach() reach {
	return reach{initiator: d.cfg.InitiatorName, cephConf: d.cfg.RBDConf}
}

// probe fills in the domain type and Info.
func (d *Driver) probe() error {
	if d.virtType == "" {
		caps, err := d.conn.GetCapabilities()
		if err != nil {
			return wrap(err, "capabilities of %s", d.cfg.URI)
		}
		if d.virtType, err = pickDomainType(caps); err != nil {
			return err
		}
	}
	hv, err := d.conn.GetType()
	if err != nil {
		return wrap(err, "hypervisor type of %s", d.cfg.URI)
	}
	ver, err := d.conn.GetVersion()
	if err != nil {
		return wrap(err, "hypervisor version of %s", d.cfg.URI)
	}
	d.info = virt.DriverInfo{
		Name: "libvirt",
		// Nova reports the connection's type, "QEMU" for kvm and TCG
		// alike, and libvirt's version encoding is Nova's.
		HypervisorType:    hv,
		HypervisorVersion: int64(ver),
		Pause:             true,
		Suspend:           true,
		AttachVolume:      true,
		AttachInterface:   true,
		ConsoleLog:        true,
		PlugsAtStart:      true,
	}
	return nil
}

// Info says what the driver is; DomainType says which <domain type> its
// guests get.
func (d *Driver) Info() virt.DriverInfo { return d.info }

// DomainType is the <domain type> of the guests this driver defines:
// "kvm", "qemu", or "test" on libvirt's test driver.
func (d *Driver) DomainType() string { return d.virtType }

// Close releases the connection; guests keep running.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil
	}
	_, err := d.conn.Close()
	d.conn = nil
	if err != nil {
		return wrap(err, "close")
	}
	return nil
}

// connect is the shared connection with a reference of the caller's,
// opened again if libvirtd went away since (a restarted daemon); done
// drops the reference.
func (d *Driver) connect() (c *libvirt.Connect, done func(), err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil, nil, errors.New("compute/libvirt: driver closed")
	}
	if alive, err := d.conn.IsAlive(); err != nil || !alive {
		fresh, err := libvirt.NewConnect(d.cfg.URI)
		if err != nil {
			return nil, nil, wrap(err, "connect again to %s", d.cfg.URI)
		}
		d.cfg.Log.Warn("compute/libvirt: connection lost, connected again", "uri", d.cfg.URI)
		d.conn.Close()
		d.conn = fresh
	}
	if err := d.conn.Ref(); err != nil {
		return nil, nil, wrap(err, "connection")
	}
	c = d.conn
	return c, func() { c.Close() }, nil
}

// with runs f on a guest's domain and canonical id, holding the guest's
// turn; the domain is ours (gostack's metadata) and freed after. A
// context that has ended starts nothing.
func (d *Driver) with(ctx context.Context, id string, f func(dom *libvirt.Domain, id string) error) error {
	return d.withConn(ctx, id, func(_ *libvirt.Connect, dom *libvirt.Domain, id string) error { return f(dom, id) })
}

// withConn is with, f getting the connection too (for secrets).
func (d *Driver) withConn(ctx context.Context, id string, f func(c *libvirt.Connect, dom *libvirt.Domain, id string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := canonicalID(id)
	if err != nil {
		return err
	}
	unlock, err := d.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	c, done, err := d.connect()
	if err != nil {
		return err
	}
	defer done()
	dom, err := lookup(c, id)
	if err != nil {
		return err
	}
	defer dom.Free()
	return f(c, dom, id)
}

// lookup finds a guest's domain and checks that it is ours.
func lookup(c *libvirt.Connect, id string) (*libvirt.Domain, error) {
	dom, err := c.LookupDomainByUUIDString(id)
	if isCode(err, libvirt.ERR_NO_DOMAIN) {
		return nil, fmt.Errorf("%w: %s", ErrNoGuest, id)
	}
	if err != nil {
		return nil, wrap(err, "look up %s", id)
	}
	m, err := ours(dom)
	if err == nil && m.ID != id {
		err = ErrNotOurs // metadata copied from another guest proves nothing
	}
	if err != nil {
		dom.Free()
		return nil, fmt.Errorf("%w: %s", err, id)
	}
	return dom, nil
}

// ours is a domain's gostack metadata; ErrNotOurs if it has none.
func ours(dom *libvirt.Domain) (metadata, error) {
	s, err := dom.GetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, Namespace, libvirt.DOMAIN_AFFECT_CURRENT)
	if isCode(err, libvirt.ERR_NO_DOMAIN_METADATA) {
		return metadata{}, ErrNotOurs
	}
	if err != nil {
		return metadata{}, wrap(err, "metadata")
	}
	return parseMetadata(s)
}

// Spawn defines and starts a guest; a Stopped guest is defined only
// (DomainDefineXML, no create: no boot, shut off until PowerOn). A guest
// of that id that exists already is left as it is, except one defined
// and never started by a Spawn cut half-way, which is started (a
// Stopped guest stays off); a failure leaves nothing defined.
//
// The driver plugs no ports itself: libvirt makes each tap and adds it
// to the Open vSwitch bridge when the domain starts, and takes it off
// when the domain stops (DriverInfo.PlugsAtStart), so a Stopped guest's
// ports are not plugged until PowerOn.
func (d *Driver) Spawn(ctx context.Context, g virt.Guest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, err := canonicalID(g.ID)
	if err != nil {
		return err
	}
	g.ID = id
	doc, err := domainXML(g, d.virtType, d.cfg.StateDir, d.reach())
	if err != nil {
		return err
	}
	unlock, err := d.locks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	c, done, err := d.connect()
	if err != nil {
		return err
	}
	defer done()
	if dom, err := lookup(c, id); err == nil {
		// Made by an earlier Spawn: left alone if it runs; one defined
		// but never started (a Spawn cut half-way) is started now, or the
		// guest would never run, unless it is to stay stopped (defined is
		// all a Stopped Spawn does).
		defer dom.Free()
		st, _, err := dom.GetState()
		if err != nil {
			return wrap(err, "state of %s", id)
		}
		if libvirt.DomainState(st) == libvirt.DOMAIN_SHUTOFF && !g.Stopped {
			// Its root volume's secret, if a crash took it.
			if err := d.rootSecret(c, g, false); err != nil {
				return err
			}
			if err := dom.Create(); err != nil {
				return wrap(err, "start %s", id)
			}
		}
		return nil
	} else if !errors.Is(err, ErrNoGuest) {
		return err
	}
	dir := guestDir(d.cfg.StateDir, id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("compute/libvirt: guest %s: %w", id, err)
	}
	// Undone on failure: no domain, no directory, no secret.
	undo := func() {
		if err := undefineSecrets(c, id); err != nil {
			d.cfg.Log.Warn("compute/libvirt: undefine secrets after a failed spawn", "id", id, "err", err)
		}
		d.removeDir(id)
	}
	if err := d.rootSecret(c, g, true); err != nil {
		undo()
		return err
	}
	dom, err := c.DomainDefineXMLFlags(doc, libvirt.DOMAIN_DEFINE_VALIDATE)
	if err != nil {
		undo()
		return wrap(err, "define %s", id)
	}
	defer dom.Free()
	if g.Stopped {
		return nil
	}
	if err := dom.Create(); err != nil {
		if uerr := undefine(dom, id); uerr != nil {
			d.cfg.Log.Warn("compute/libvirt: undefine after a failed start", "id", id, "err", uerr)
		}
		undo()
		return wrap(err, "start %s", id)
	}
	return nil
}

// Destroy turns a guest off and removes it: its definition, managed
// save image, NVRAM, its volumes' secrets and state directory. A guest
// that does not exist is not an error (what a crash may have left of
// it, secrets and directory, is removed); a domain with its uuid that is
// not ours is.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	err := d.withConn(ctx, id, func(c *libvirt.Connect, dom *libvirt.Domain, id string) error {
		if err := hardOff(dom, id); err != nil {
			return err
		}
		if err := undefine(dom, id); err != nil {
			return err
		}
		if err := undefineSecrets(c, id); err != nil {
			return err
		}
		d.removeDir(id)
		return nil
	})
	if errors.Is(err, ErrNoGuest) {
		id, _ := canonicalID(id)
		c, done, cerr := d.connect()
		if cerr != nil {
			return cerr
		}
		defer done()
		if err := undefineSecrets(c, id); err != nil {
			return err
		}
		d.removeDir(id)
		return nil
	}
	return err
}

func (d *Driver) removeDir(id string) {
	if id, err := canonicalID(id); err == nil {
		if err := os.RemoveAll(guestDir(d.cfg.StateDir, id)); err != nil {
			d.cfg.Log.Warn("compute/libvirt: remove state directory", "id", id, "err", err)
		}
	}
}

// hardOff stops a domain at once if it runs.
func hardOff(dom *libvirt.Domain, id string) error {
	active, err := dom.IsActive()
	if err != nil {
		return wrap(err, "state of %s", id)
	}
	if !active {
		return nil
	}
	// Stopped meanwhile (the guest powered itself off): done all the same.
	if err := dom.Destroy(); err != nil && !isCode(err, libvirt.ERR_OPERATION_INVALID) {
		return wrap(err, "destroy %s", id)
	}
	return nil
}

// undefine removes a domain's definition with what libvirt keeps
// beside it.
func undefine(dom *libvirt.Domain, id string) error {
	basic := libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
	err := dom.UndefineFlags(basic | libvirt.DOMAIN_UNDEFINE_NVRAM | libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)
	if isCode(err, libvirt.ERR_INVALID_ARG) {
		// A driver without checkpoints (libvirt's test driver) refuses
		// the flags for what it cannot have.
		err = dom.UndefineFlags(basic)
	}
	if err != nil && !isCode(err, libvirt.ERR_NO_DOMAIN) {
		return wrap(err, "undefine %s", id)
	}
	return nil
}

// State is a guest's power state; PowerNoState if there is no such
// guest.
func (d *Driver) State(ctx context.Context, id string) (virt.PowerState, error) {
	var p virt.PowerState
	err := d.with(ctx, id, func(dom *libvirt.Domain, id string) error {
		var err error
		p, err = powerState(dom)
		return err
	})
	if errors.Is(err, ErrNoGuest) {
		return virt.PowerNoState, nil
	}
	return p, err
}

// List is every guest of gostack's this libvirt has, defined or
// running, sorted by id; domains without gostack's metadata are left out.
func (d *Driver) List(ctx context.Context) ([]virt.GuestState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, done, err := d.connect()
	if err != nil {
		return nil, err
	}
	defer done()
	doms, err := c.ListAllDomains(0)
	if err != nil {
		return nil, wrap(err, "list domains")
	}
	var out []virt.GuestState
	for i := range doms {
		dom := &doms[i]
		g, err := guestState(dom)
		dom.Free()
		switch {
		case errors.Is(err, ErrNotOurs), isCode(err, libvirt.ERR_NO_DOMAIN):
			// Not ours, or undefined since it was listed.
		case err != nil:
			for j := i + 1; j < len(doms); j++ {
				doms[j].Free()
			}
			return nil, err
		default:
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b virt.GuestState) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func guestState(dom *libvirt.Domain) (virt.GuestState, error) {
	m, err := ours(dom)
	if err != nil {
		return virt.GuestState{}, err
	}
	id, err := dom.GetUUIDString()
	if err != nil {
		return virt.GuestState{}, wrap(err, "uuid")
	}
	if m.ID != id {
		// Metadata copied onto another domain proves nothing.
		return virt.GuestState{}, ErrNotOurs
	}
	p, err := powerState(dom)
	if err != nil {
		return virt.GuestState{}, err
	}
	return virt.GuestState{ID: id, Name: m.Name, Power: p}, nil
}

// powerState maps libvirt's domain state as Nova's LIBVIRT_POWER_STATE
// does.
func powerState(dom *libvirt.Domain) (virt.PowerState, error) {
	st, _, err := dom.GetState()
	if err != nil {
		return virt.PowerNoState, wrap(err, "state")
	}
	return novaPower(st), nil
}

func novaPower(st libvirt.DomainState) virt.PowerState {
	switch st {
	case libvirt.DOMAIN_RUNNING, libvirt.DOMAIN_BLOCKED:
		return virt.PowerRunning
	case libvirt.DOMAIN_PAUSED:
		return virt.PowerPaused
	case libvirt.DOMAIN_SHUTDOWN, libvirt.DOMAIN_SHUTOFF:
		return virt.PowerShutdown
	case libvirt.DOMAIN_CRASHED:
		return virt.PowerCrashed
	case libvirt.DOMAIN_PMSUSPENDED:
		return virt.PowerSuspended
	}
	return virt.PowerNoState
}

// isCode says whether err is libvirt's error code.
func isCode(err error, code libvirt.ErrorNumber) bool {
	var lv libvirt.Error
	return errors.As(err, &lv) && lv.Code == code
}

// wrap names the operation and keeps libvirt's error for errors.As;
// its text is libvirt's message, not the binding's dump of the struct.
func wrap(err error, format string, args ...any) error {
	var lv libvirt.Error
	if errors.As(err, &lv) {
		return &libvirtError{op: fmt.Sprintf(format, args...), err: lv}
	}
	return fmt.Errorf("compute/libvirt: "+format+": %w", append(args, err)...)
}

type libvirtError struct {
	op  string
	err libvirt.Error
}

func (e *libvirtError) Error() string { return "compute/libvirt: " + e.op + ": " + e.err.Message }

// Unwrap is libvirt's error, and virt.ErrNotSupported as well when the
// connection's driver lacks the call (libvirt's test driver has no
// device hot-plug), so the API answers it as the operation a driver
// does not have.
func (e *libvirtError) Unwrap() []error {
	if e.err.Code == libvirt.ERR_NO_SUPPORT {
		return []error{e.err, virt.ErrNotSupported}
	}
	return []error{e.err}
}
