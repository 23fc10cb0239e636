package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute/virt"
)

// Config is what New needs.
type Config struct {
	// StateDir holds a directory per guest, StateDir/<id> (see the
	// package doc). Required; created if missing.
	StateDir string
	// Binary is QEMU, qemu-system-x86_64 on PATH by default.
	Binary string
	// Accel is QEMU's accelerator, "kvm" or "tcg". Empty: kvm if
	// /dev/kvm opens read-write and runs a one-instruction guest, tcg
	// otherwise.
	Accel string
	// Plug is called for each NIC once its tap exists and is up, every
	// time the guest's QEMU is started (spawn, power on, resume), and
	// for a port AttachInterface adds: the composition adds the tap to
	// the integration bridge with the port's external_ids and waits for
	// the network. It must be idempotent. Nil: the tap is left as it is.
	Plug func(ctx context.Context, port virt.GuestPort, tap string) error
	// Unplug is called for each NIC before Destroy or DetachInterface
	// deletes its tap (and for the port of an attach that failed). It
	// must be idempotent.
	Unplug func(ctx context.Context, port virt.GuestPort, tap string) error
	// ShutdownTimeout bounds a clean PowerOff, a soft Reboot, or
	// DetachInterface's and DetachVolume's wait for the guest to let its
	// NIC or disk go, when the context has no deadline; 60 s by default
	// (Nova's shutdown_timeout).
	ShutdownTimeout time.Duration
	// InitiatorName is the iSCSI initiator name guests log in to their
	// volumes with (the connector's initiator a volume service's ACL
	// names). Empty: QEMU's own for each guest,
	// iqn.2008-11.org.linux-kvm:<guest id>.
	InitiatorName string
	// RBDSecrets are the cephx keys of rbd volumes, by the secret uuid
	// their connections name (virt.RBDSecrets: each a keyring file). An
	// attach, or a spawn from a volume, copies the key of the
	// connection's user into the volume's secret file; an rbd volume
	// with cephx whose uuid has no key here is refused (virt.ErrNoKey).
	RBDSecrets virt.RBDSecrets
	// RBDKeyrings are keyrings learnt while the host runs, for the
	// uuids RBDSecrets does not name (the all-in-one's in-process RBD
	// volume backend's); nil for none.
	RBDKeyrings *virt.RBDKeyrings
	// RBDConf is the ceph.conf QEMU's librbd reads for rbd volumes (the
	// monitors are the connection's whatever it says). Empty: the
	// driver's own, StateDir/ceph.conf, which sets only client mount
	// timeout (rbdMountTimeout), so that a cluster that refuses the key
	// or does not answer fails the attach in seconds, not librados' 300 s
	// during which QEMU does nothing else (blockdev-add holds it). Name
	// one to give librbd other options, with a timeout of its own.
	RBDConf string
	// Log receives what the driver did and warnings (a failed clean-up);
	// discarded when nil.
	Log *slog.Logger
}

// Driver runs guests as qemu-system-x86_64 processes of their own,
// daemonized, and controls them over QMP. See the package doc.
type Driver struct {
	cfg     Config
	binary  string
	accel   string
	version int64 // Nova's encoding
	log     *slog.Logger

	mu    sync.Mutex
	locks map[string]chan struct{} // one operation per guest at a time
}

var (
	_ virt.Driver            = (*Driver)(nil)
	_ virt.Pauser            = (*Driver)(nil)
	_ virt.Suspender         = (*Driver)(nil)
	_ virt.ConsoleLogger     = (*Driver)(nil)
	_ virt.InterfaceAttacher = (*Driver)(nil)
	_ virt.VolumeAttacher    = (*Driver)(nil)
	_ virt.DriverFactory     = Factory
)

// New checks the QEMU binary (its version is Info's), chooses the
// accelerator and makes StateDir. Guests already in StateDir are not
// touched: List finds them.
func New(cfg Config) (*Driver, error) {
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("compute/qemu: Config.StateDir is required")
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: state dir: %w", err)
	}
	cfg.StateDir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("compute/qemu: state dir: %w", err)
	}
	if cfg.Binary == "" {
		cfg.Binary = "qemu-system-x86_64"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.RBDSecrets.Check(); err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	if cfg.RBDConf == "" {
		cfg.RBDConf = filepath.Join(dir, "ceph.conf")
		if err := writeFileAtomic(cfg.RBDConf, []byte(rbdConf)); err != nil {
			return nil, err
		}
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w (Debian package qemu-system-x86)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %s --version: %w", bin, err)
	}
	version, err := parseVersion(string(out))
	if err != nil {
		return nil, err
	}
	switch cfg.Accel {
	case "":
		cfg.Accel = detectAccel()
	case "kvm", "tcg":
	default:
		return nil, fmt.Errorf("compute/qemu: accel %q: want kvm or tcg", cfg.Accel)
	}
	d := &Driver{cfg: cfg, binary: bin, accel: cfg.Accel, version: version, log: cfg.Log,
		locks: map[string]chan struct{}{}}
	d.log.Info("compute/qemu: driver ready", "binary", bin, "accel", d.accel, "state_dir", dir)
	return d, nil
}

// rbdMountTimeout bounds librbd's connection to a cluster (its monitors
// and the key's check) in the driver's own ceph.conf.
const rbdMountTimeout = 10 * time.Second

// rbdConf is the driver's own ceph.conf (Config.RBDConf empty).
var rbdConf = fmt.Sprintf(`# compute/qemu: the ceph.conf of QEMU's librbd for rbd volumes
# (Config.RBDConf). Each volume's connection gives the monitors, its
# secret object the key.
[global]
client mount timeout = %d
`, int(rbdMountTimeout.Seconds()))

// Factory makes a Driver from a compute agent's settings: state_dir,
// binary, accel, initiator_name, rbd_conf (Config's fields of the same
// meaning) and rbd_secrets ("<uuid>=<keyring file>" pairs separated by
// commas: Config.RBDSecrets). It is a
// virt.DriverFactory:
//
//	drivers.Register("qemu", qemu.Factory)
//
// A composition that plugs NICs into a bridge builds its Config itself
// (Plug, Unplug) and calls New.
func Factory(_ context.Context, settings map[string]string) (virt.Driver, error) {
	var cfg Config
	for k, v := range settings {
		switch k {
		case "state_dir":
			cfg.StateDir = v
		case "binary":
			cfg.Binary = v
		case "accel":
			cfg.Accel = v
		case "initiator_name":
			cfg.InitiatorName = v
		case "rbd_conf":
			cfg.RBDConf = v
		case "rbd_secrets":
			var err error
			if cfg.RBDSecrets, err = virt.ParseRBDSecrets(v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("compute/qemu: unknown setting %q (have state_dir, binary, accel, initiator_name, rbd_conf, rbd_secrets)", k)
		}
	}
	return New(cfg)
}

// Info says what the driver is: QEMU, the binary's version, and the
// optional abilities it has.
func (d *Driver) Info() virt.DriverInfo {
	return virt.DriverInfo{
		Name:              "qemu",
		HypervisorType:    "QEMU",
		HypervisorVersion: d.version,
		Pause:             true,
		Suspend:           true,
		AttachVolume:      true,
		AttachInterface:   true,
		ConsoleLog:        true,
	}
}

// Accel is the accelerator guests run with, "kvm" or "tcg".
func (d *Driver) Accel() string { return d.accel }

// lock holds id's operation slot until the returned func is called, or
// fails when ctx ends first.
func (d *Driver) lock(ctx context.Context, id string) (func(), error) {
	d.mu.Lock()
	ch, ok := d.locks[id]
	if !ok {
		ch = make(chan struct{}, 1)
		d.locks[id] = ch
	}
	d.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("compute/qemu: guest %s busy: %w", id, ctx.Err())
	}
}

// files are the paths of one guest's directory.
type files struct {
	dir, guest, qmp, console, consoleSock, pid, log, state, statePart string
}

// secret is the file holding the CHAP secret of the network disk whose
// block node is node ("root", "vol5"): only the password, 0600, in the
// guest's 0700 directory, read by QEMU's secret object
// (-object secret,file=...), so that the password is on no command line.
func (f files) secret(node string) string { return filepath.Join(f.dir, node+".secret") }

func guestFiles(stateDir, id string) files {
	dir := filepath.Join(stateDir, id)
	return files{
		dir:         dir,
		guest:       filepath.Join(dir, "guest.json"),
		qmp:         filepath.Join(dir, "qmp.sock"),
		console:     filepath.Join(dir, "console.log"),
		consoleSock: filepath.Join(dir, "console.sock"),
		pid:         filepath.Join(dir, "qemu.pid"),
		log:         filepath.Join(dir, "qemu.log"),
		state:       filepath.Join(dir, "memory.state"),
		statePart:   filepath.Join(dir, "memory.state.part"),
	}
}

// validID: guest ids are uuids in their 36-character form, which also
// keeps them safe as directory names.
func validID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil && len(id) == 36
}

// files is id's directory, or ErrNoGuest for an id no guest can have.
func (d *Driver) files(id string) (files, error) {
	if !validID(id) {
		return files{}, fmt.Errorf("%w: %q is not a uuid", ErrNoGuest, id)
	}
	return guestFiles(d.cfg.StateDir, id), nil
}

// definition is what guest.json holds: the Guest as Spawn got it, with
// the ports interface attaches added and detaches took away, the PCI
// slot of each NIC, and the volumes attached with theirs. No password is
// in it: a network disk's CHAP secret is in a file of its own
// (secretFile), and its Connection keeps every key but auth_password.
type definition struct {
	virt.Guest
	// Slots is each NIC's PCI slot (bus 0) by port id. A NIC keeps its
	// slot while it is attached, whatever is attached or detached
	// beside it, so every start builds the machine the guest had: a
	// suspended guest's saved state names its devices by PCI address,
	// and the guest names its NICs by slot. A port without a slot (a
	// guest.json written before there were slots) gets the slot QEMU
	// gave it then: see fillSlots.
	Slots map[string]int `json:",omitempty"`
	// Volumes are the volumes AttachVolume added, in the order they
	// came, each with its Serial set (the volume id).
	Volumes []virt.Disk `json:",omitempty"`
	// VolumeSlots is each volume's PCI slot (bus 0) by volume id, kept
	// as NICs keep theirs.
	VolumeSlots map[string]int `json:",omitempty"`
}

// loadGuest reads the definition a directory was spawned with, each NIC
// with its slot.
func loadGuest(f files) (*definition, error) {
	b, err := os.ReadFile(f.guest)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s", ErrNoGuest, filepath.Base(f.dir))
	}
	if err != nil {
		return nil, fmt.Errorf("compute/qemu: %w", err)
	}
	var g definition
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("compute/qemu: %s: %w", f.guest, err)
	}
	if err := g.fillSlots(); err != nil {
		return nil, err
	}
	return &g, nil
}

// saveGuest writes guest.json atomically: a crash leaves the old file or
// the new one, never a part.
func saveGuest(f files, g *definition) error {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	return writeFileAtomic(f.guest, b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("compute/qemu: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("compute/qemu: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("compute/qemu: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("compute/qemu: sync %s: %w", dir, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
