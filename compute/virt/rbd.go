package virt

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// RBD is an "rbd" disk's connection as a driver uses it, read and
// checked from Disk.Connection by Disk.RBD. It holds no key: the cephx
// key of User is the host's (Nova's libvirt secret of uuid SecretUUID,
// which operators define; RBDSecrets here).
type RBD struct {
	Pool, Image string // name "pool/image"
	// Monitors are the cluster's monitors, from hosts and ports.
	Monitors []Monitor
	// User is the cephx user, without "client." (auth_username); ""
	// without authentication (auth_enabled false).
	User string
	// SecretUUID names the user's key on the host (secret_uuid); "" when
	// User is.
	SecretUUID string
	// Cluster is cluster_name, "ceph" when the connection has none.
	// Nova's libvirt driver does not use it, and neither do the drivers
	// here: the monitors say where the cluster is.
	Cluster string
}

// Monitor is a Ceph monitor's address: its host (a name or an address,
// IPv6 without brackets) and port.
type Monitor struct {
	Host string
	Port int
}

// String is host:port, IPv6 in brackets.
func (m Monitor) String() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// Name is "pool/image", the connection's name.
func (c RBD) Name() string { return c.Pool + "/" + c.Image }

// String names the image, the monitors and the user.
func (c RBD) String() string {
	mons := make([]string, len(c.Monitors))
	for i, m := range c.Monitors {
		mons[i] = m.String()
	}
	auth := "no authentication"
	if c.User != "" {
		auth = "cephx user " + c.User + ", secret " + c.SecretUUID
	}
	return fmt.Sprintf("%s at %s (%s)", c.Name(), strings.Join(mons, ","), auth)
}

// defaultCluster is cluster_name when the connection has none.
const defaultCluster = "ceph"

// RBD reads an "rbd" disk's connection and checks it:
//
//	name           "pool/image", each letters, digits, '.', '_' or '-'
//	hosts, ports   the monitors, as many hosts as ports, one at least
//	               (VolumeDisk joins Cinder's lists with commas); a port
//	               is a number
//	auth_enabled   "true": auth_username (a cephx id: letters, digits,
//	               '.', '_', '-') and secret_uuid (a uuid) are needed,
//	               and secret_type, if given, is "ceph"; otherwise no
//	               authentication, and both are not read
//	cluster_name   letters, digits, '.', '_' or '-'; "ceph" if absent
//
// Others (volume_id, discard, keyring) are not read here. Errors wrap
// ErrBadVolume.
func (d Disk) RBD() (RBD, error) {
	if d.Protocol != ProtocolRBD {
		return RBD{}, fmt.Errorf("%w: protocol %q, not %s", ErrBadVolume, d.Protocol, ProtocolRBD)
	}
	c := d.Connection
	var out RBD
	pool, image, ok := strings.Cut(c["name"], "/")
	if !ok || !cephName(pool) || !cephName(image) {
		return RBD{}, fmt.Errorf("%w: name %q: want pool/image, each letters, digits, '.', '_' or '-'", ErrBadVolume, c["name"])
	}
	out.Pool, out.Image = pool, image
	var err error
	if out.Monitors, err = monitors(c["hosts"], c["ports"]); err != nil {
		return RBD{}, err
	}
	switch a := c["auth_enabled"]; a {
	case "true", "True":
		out.User, out.SecretUUID = c["auth_username"], c["secret_uuid"]
		if !cephName(out.User) {
			return RBD{}, fmt.Errorf("%w: auth_username %q: want a cephx id (letters, digits, '.', '_' or '-')", ErrBadVolume, out.User)
		}
		if !isUUID(out.SecretUUID) {
			return RBD{}, fmt.Errorf("%w: secret_uuid %q: want a uuid", ErrBadVolume, out.SecretUUID)
		}
		if t := c["secret_type"]; t != "" && t != "ceph" {
			return RBD{}, fmt.Errorf("%w: secret_type %q: want ceph", ErrBadVolume, t)
		}
	case "", "false", "False":
	default:
		return RBD{}, fmt.Errorf("%w: auth_enabled %q: want true or false", ErrBadVolume, a)
	}
	out.Cluster = c["cluster_name"]
	if out.Cluster == "" {
		out.Cluster = defaultCluster
	}
	if !cephName(out.Cluster) {
		return RBD{}, fmt.Errorf("%w: cluster_name %q: want letters, digits, '.', '_' or '-'", ErrBadVolume, out.Cluster)
	}
	return out, nil
}

// monitors reads hosts and ports, comma-separated, pairwise.
func monitors(hosts, ports string) ([]Monitor, error) {
	if hosts == "" {
		return nil, fmt.Errorf("%w: no hosts: an rbd volume names its monitors", ErrBadVolume)
	}
	hs, ps := strings.Split(hosts, ","), strings.Split(ports, ",")
	if len(hs) != len(ps) {
		return nil, fmt.Errorf("%w: %d hosts and %d ports (hosts %q, ports %q): want one port per host", ErrBadVolume, len(hs), len(ps), hosts, ports)
	}
	out := make([]Monitor, len(hs))
	for i, h := range hs {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, "[]/ @") || hasControl(h) {
			return nil, fmt.Errorf("%w: host %q: want a name or an address", ErrBadVolume, h)
		}
		p, err := strconv.Atoi(strings.TrimSpace(ps[i]))
		if err != nil || p < 1 || p > math.MaxUint16 {
			return nil, fmt.Errorf("%w: port %q of host %s: want a number from 1 to %d", ErrBadVolume, ps[i], h, math.MaxUint16)
		}
		out[i] = Monitor{Host: h, Port: p}
	}
	return out, nil
}

// cephName accepts a pool, image, user or cluster name as drivers pass
// them on: letters, digits, '.', '_' and '-', not empty, at most 255
// bytes.
func cephName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0
}

// isUUID accepts a uuid in its 36-character form, hex digits of either
// case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
				return false
			}
		}
	}
	return true
}
