package iscsi

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// DefaultPrefix is Cinder's target_prefix: a volume's target is
// DefaultPrefix + "volume-" + its id.
const DefaultPrefix = "iqn.2010-10.org.openstack:"

// LUN1 is the LUN of every exported volume: tgt's LUN 0 is the target's
// controller.
const LUN1 = 1

// Exporter exports volumes as iSCSI targets of one tgtd, the one on
// ControlPort, which it starts when none runs there. The zero value plus
// Dir and Portal is ready; a new Exporter with the same Dir, in a new
// process, adopts the tgtd and the targets it finds. Its methods are safe
// for concurrent use, and Exporters in several processes sharing one Dir
// take turns through a lock file in Dir.
type Exporter struct {
	// Dir holds tgtd's pid file and log (tgtd.pid, tgtd.log), the lock
	// file and exports.json: which CHAP accounts this Exporter made, an
	// HMAC of their credentials (never the password) and the LUN sizes.
	// Required.
	Dir string
	// ControlPort is tgtd's management port (tgtd -C, tgtadm -C): tgtd
	// listens for tgtadm on /var/run/tgtd/socket.<ControlPort> (or the
	// path in $TGT_IPC_SOCKET, as tgt does). 0, tgt's default, is the
	// host's tgt service's. At most 32767 (tgt keeps it in a short).
	ControlPort int
	// Portal is the address initiators connect to, the target_portal of
	// the connection info. Required: not unspecified, with a port.
	Portal netip.AddrPort
	// Listen is where a tgtd started here listens (--iscsi
	// portal=<Listen>); zero = Portal. 0.0.0.0:3260 serves every address.
	Listen netip.AddrPort
	// Prefix is the target name prefix; "" = DefaultPrefix. Targets whose
	// name starts with Prefix + "volume-" are this Exporter's: Reconcile
	// removes those of no wanted volume and leaves all others alone.
	Prefix string
	// Buffered makes tgtd reach the backing files through the host's
	// page cache (tgt's default). Without it tgtd opens them with
	// O_DIRECT (tgt's bsoflags=direct, what Cinder's target_flags
	// passes), where their filesystem takes it (tmpfs may not: such a
	// file is exported buffered): writes then go to the disk at its
	// speed instead of queueing behind the page cache's writeback, which
	// slowed sequential writes larger than the cache's dirty limits to
	// 0.15-0.2 of the disk's (storage/iscsi's TestThroughput). It applies
	// to LUNs made from then on: a LUN already made keeps its flags until
	// tgtd restarts or the volume is exported again after a resize.
	Buffered bool
	// Tgtd and Tgtadm are the programs; "" = "tgtd" and "tgtadm" from
	// PATH.
	Tgtd, Tgtadm string
	// Log gets starts, stops and every change made to tgtd (never a
	// password); nil = discard.
	Log *slog.Logger

	mu sync.Mutex // one operation at a time in this process; the lock file across processes
}

// Names of the files in Dir.
const (
	pidFile   = "tgtd.pid"
	logFile   = "tgtd.log"
	lockFile  = "lock"
	stateFile = "exports.json"
)

// maxControlPort is the largest control port tgt can hold (a short).
const maxControlPort = 32767

// maxIQNLen is RFC 3720's limit on an iSCSI name, in bytes.
const maxIQNLen = 223

func (e *Exporter) check() error {
	if e.Dir == "" {
		return fmt.Errorf("%w: Exporter.Dir is empty", ErrInvalid)
	}
	if e.ControlPort < 0 || e.ControlPort > maxControlPort {
		return fmt.Errorf("%w: control port %d is not in 0..%d", ErrInvalid, e.ControlPort, maxControlPort)
	}
	if !e.Portal.IsValid() || e.Portal.Addr().IsUnspecified() || e.Portal.Port() == 0 || e.Portal.Addr().Zone() != "" {
		return fmt.Errorf("%w: portal %q: want an address initiators can reach and a port", ErrInvalid, e.Portal)
	}
	if e.Listen.IsValid() && (e.Listen.Port() == 0 || e.Listen.Addr().Zone() != "") {
		return fmt.Errorf("%w: listen address %q: want an address and a port", ErrInvalid, e.Listen)
	}
	if err := checkPrefix(e.prefix()); err != nil {
		return err
	}
	return nil
}

// checkPrefix accepts an iqn., eui. or naa. name in lower case, as
// initiators compare names after lower-casing them.
func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "iqn.") && !strings.HasPrefix(p, "eui.") && !strings.HasPrefix(p, "naa.") {
		return fmt.Errorf("%w: target prefix %q does not start with iqn., eui. or naa.", ErrInvalid, p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':') {
			return fmt.Errorf("%w: target prefix %q: only lower-case letters, digits and .-: are allowed", ErrInvalid, p)
		}
	}
	return nil
}

func (e *Exporter) prefix() string {
	if e.Prefix == "" {
		return DefaultPrefix
	}
	return e.Prefix
}

// IQN is the target name of volume id: Prefix + "volume-" + id.
func (e *Exporter) IQN(id string) string { return e.prefix() + "volume-" + id }

// volumeOf returns the volume id of one of this Exporter's targets.
func (e *Exporter) volumeOf(iqn string) (string, bool) {
	return strings.CutPrefix(iqn, e.prefix()+"volume-")
}

// checkVolumeID is checkID, and a target name within RFC 3720's length.
func (e *Exporter) checkVolumeID(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if n := len(e.IQN(id)); n > maxIQNLen {
		return fmt.Errorf("%w: volume id %q: target name of %d bytes is longer than %d", ErrInvalid, id, n, maxIQNLen)
	}
	return nil
}

func (e *Exporter) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return e.Log
}

func (e *Exporter) tgtdPath() string {
	if e.Tgtd == "" {
		return "tgtd"
	}
	return e.Tgtd
}

func (e *Exporter) tgtadmPath() string {
	if e.Tgtadm == "" {
		return "tgtadm"
	}
	return e.Tgtadm
}

func (e *Exporter) listen() netip.AddrPort {
	if e.Listen.IsValid() {
		return e.Listen
	}
	return e.Portal
}

// socketPath is tgtd's management socket for the control port, as tgtd
// and tgtadm name it.
func (e *Exporter) socketPath() string {
	base := os.Getenv("TGT_IPC_SOCKET")
	if base == "" {
		base = "/var/run/tgtd/socket"
	}
	return base + "." + strconv.Itoa(e.ControlPort)
}

func (e *Exporter) path(name string) string { return filepath.Join(e.Dir, name) }
