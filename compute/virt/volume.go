package virt

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"strconv"
	"strings"
)

// Network disk protocols (Disk.Protocol), Cinder's driver_volume_type.
const (
	ProtocolISCSI = "iscsi"
	ProtocolRBD   = "rbd"
)

// ErrBadVolume is a network disk whose connection a driver cannot use
// (a key missing, a value malformed, an authentication it does not
// have). Its messages never hold the password.
var ErrBadVolume = errors.New("compute/virt: bad volume connection")

// iscsiPort is the portal port when target_portal has none (RFC 7143).
const iscsiPort = 3260

// maxIQNLen is RFC 3720's limit on an iSCSI name, in bytes.
const maxIQNLen = 223

// maxLUN bounds target_lun: SAM's flat addressing.
const maxLUN = 16383

// VolumeID is the volume id of a network disk: Serial, else the
// connection's volume_id; "" for a local disk without a serial.
func (d Disk) VolumeID() string {
	if d.Serial != "" {
		return d.Serial
	}
	return d.Connection["volume_id"]
}

// ISCSI is an "iscsi" disk's connection as a driver uses it, read and
// checked from Disk.Connection by Disk.ISCSI.
type ISCSI struct {
	Host string // the portal's host: a name or an address (IPv6 without brackets)
	Port int
	IQN  string
	LUN  int
	// Username and Password are CHAP's; both empty without
	// authentication.
	Username, Password string
}

// Portal is host:port, IPv6 in brackets: QEMU's portal.
func (c ISCSI) Portal() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String names the target and the user, not the password.
func (c ISCSI) String() string {
	auth := "no authentication"
	if c.Username != "" {
		auth = "CHAP user " + c.Username
	}
	return fmt.Sprintf("%s/%d at %s (%s)", c.IQN, c.LUN, c.Portal(), auth)
}

// GoString is String, for %#v.
func (c ISCSI) GoString() string { return c.String() }

// ISCSI reads an "iscsi" disk's connection (the keys Disk lists) and
// checks it: the portal a host and a port, the target an iqn., eui. or
// naa. name, the LUN a number, and with auth_method CHAP a user name
// and a password, neither with control characters. Errors wrap
// ErrBadVolume and never hold the password.
func (d Disk) ISCSI() (ISCSI, error) {
	if d.Protocol != ProtocolISCSI {
		return ISCSI{}, fmt.Errorf("%w: protocol %q, not %s", ErrBadVolume, d.Protocol, ProtocolISCSI)
	}
	c := d.Connection
	var out ISCSI
	var err error
	if out.Host, out.Port, err = splitPortal(c["target_portal"]); err != nil {
		return ISCSI{}, err
	}
	out.IQN = c["target_iqn"]
	if err := checkIQN(out.IQN); err != nil {
		return ISCSI{}, err
	}
	out.LUN, err = strconv.Atoi(c["target_lun"])
	if err != nil || out.LUN < 0 || out.LUN > maxLUN {
		return ISCSI{}, fmt.Errorf("%w: target_lun %q: want a number from 0 to %d", ErrBadVolume, c["target_lun"], maxLUN)
	}
	switch m := c["auth_method"]; m {
	case "", "None":
	case "CHAP":
		out.Username, out.Password = c["auth_username"], c["auth_password"]
		if out.Username == "" || out.Password == "" {
			return ISCSI{}, fmt.Errorf("%w: auth_method CHAP without auth_username and auth_password", ErrBadVolume)
		}
		if hasControl(out.Username) {
			return ISCSI{}, fmt.Errorf("%w: auth_username %q has control characters", ErrBadVolume, out.Username)
		}
		if hasControl(out.Password) {
			return ISCSI{}, fmt.Errorf("%w: auth_password has control characters", ErrBadVolume)
		}
	default:
		return ISCSI{}, fmt.Errorf("%w: auth_method %q: want CHAP or none", ErrBadVolume, m)
	}
	return out, nil
}

// splitPortal reads target_portal: host:port, [v6]:port, or a host
// alone (port 3260).
func splitPortal(p string) (string, int, error) {
	if p == "" {
		return "", 0, fmt.Errorf("%w: no target_portal", ErrBadVolume)
	}
	host, port, err := net.SplitHostPort(p)
	if err != nil {
		// A host without a port: a name, an IPv4 address, or an IPv6
		// one in brackets or not.
		host, port = strings.TrimSuffix(strings.TrimPrefix(p, "["), "]"), strconv.Itoa(iscsiPort)
	}
	n, perr := strconv.Atoi(port)
	if host == "" || perr != nil || n < 1 || n > math.MaxUint16 || strings.ContainsAny(host, "[]/ ") || hasControl(host) {
		return "", 0, fmt.Errorf("%w: target_portal %q: want host:port", ErrBadVolume, p)
	}
	return host, n, nil
}

// checkIQN accepts an iSCSI name (RFC 3720): iqn., eui. or naa., then
// letters, digits, '.', '-' and ':'.
func checkIQN(n string) error {
	ok := len(n) <= maxIQNLen && (strings.HasPrefix(n, "iqn.") || strings.HasPrefix(n, "eui.") || strings.HasPrefix(n, "naa."))
	for _, r := range n {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == ':') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: target_iqn %q: want an iSCSI name (iqn., eui. or naa.; letters, digits, '.', '-', ':')", ErrBadVolume, n)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

// VolumeDisk is the network disk of a volume's connection info as Nova
// receives it from Cinder: {"driver_volume_type": "iscsi", "data":
// {...}}, decoded from JSON (numbers float64 or json.Number) or built in
// Go (storage/iscsi's Connection.Info: ints and bools). Protocol is the
// driver_volume_type, Connection the data with its values as strings
// (RBD's hosts and ports lists joined by commas; other lists, such as
// the multipath ones, and maps left out; a keyring never kept), and
// Serial its volume_id. Shareable is the info's "multiattach" (true, beside
// driver_volume_type and data), which Nova puts there for a multiattach
// volume.
func VolumeDisk(info map[string]any) (Disk, error) {
	proto, _ := info["driver_volume_type"].(string)
	if proto == "" {
		return Disk{}, fmt.Errorf("%w: no driver_volume_type", ErrBadVolume)
	}
	data, ok := info["data"].(map[string]any)
	if !ok {
		return Disk{}, fmt.Errorf("%w: no data", ErrBadVolume)
	}
	conn := make(map[string]string, len(data))
	for k, v := range data {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case int:
			s = strconv.Itoa(v)
		case int64:
			s = strconv.FormatInt(v, 10)
		case json.Number:
			s = v.String()
		case float64:
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return Disk{}, fmt.Errorf("%w: %s %v is not a whole number", ErrBadVolume, k, v)
			}
			s = strconv.FormatInt(int64(v), 10)
		case []any, []string:
			// RBD's monitors, hosts and ports, joined by commas; other
			// lists (the multipath lists) are not read.
			if k != "hosts" && k != "ports" {
				continue
			}
			var err error
			if s, err = joinList(k, v); err != nil {
				return Disk{}, err
			}
		default:
			continue // nil, maps: not read
		}
		if k == "keyring" {
			continue // a key: never kept (Cinder's rbd_keyring_conf)
		}
		conn[k] = s
	}
	d := Disk{Protocol: proto, Connection: conn, Serial: conn["volume_id"]}
	// Nova's stash for a multiattach volume, beside the data.
	d.Shareable, _ = info["multiattach"].(bool)
	if q, ok := data["qos_specs"].(map[string]any); ok {
		for _, k := range QoSKeys {
			var n int64
			var err error
			switch v := q[k].(type) {
			case nil:
				continue
			case string:
				n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			case json.Number:
				n, err = v.Int64()
			case float64:
				n = int64(v)
				if float64(n) != v {
					err = errors.New("not a whole number")
				}
			case int64:
				n = v
			case int:
				n = int64(v)
			default:
				err = fmt.Errorf("a %T", v)
			}
			if err != nil || n < 0 {
				return Disk{}, fmt.Errorf("%w: qos_specs %s %v: want a whole number of at least 0", ErrBadVolume, k, q[k])
			}
			if n > 0 {
				if d.QoS == nil {
					d.QoS = map[string]int64{}
				}
				d.QoS[k] = n
			}
		}
	}
	return d, nil
}

// joinList is a list of strings or numbers (decoded from JSON or built
// in Go) as one string, its values joined by commas.
func joinList(k string, v any) (string, error) {
	if l, ok := v.([]string); ok {
		return strings.Join(l, ","), nil
	}
	var out []string
	for _, e := range v.([]any) {
		switch e := e.(type) {
		case string:
			out = append(out, e)
		case json.Number:
			out = append(out, e.String())
		case float64:
			if e != math.Trunc(e) || math.Abs(e) > 1<<53 {
				return "", fmt.Errorf("%w: %s: %v is not a whole number", ErrBadVolume, k, e)
			}
			out = append(out, strconv.FormatInt(int64(e), 10))
		case int:
			out = append(out, strconv.Itoa(e))
		default:
			return "", fmt.Errorf("%w: %s: want a list of strings or numbers", ErrBadVolume, k)
		}
	}
	return strings.Join(out, ","), nil
}

// secretKeys are connection keys whose values are secrets: CHAP's
// password, and a Ceph keyring (VolumeDisk drops it; a Disk built in Go
// may have it).
var secretKeys = []string{"auth_password", "keyring"}

// redacted is d with its secrets replaced, for printing.
func (d Disk) redacted() Disk {
	cloned := false
	for _, k := range secretKeys {
		if _, ok := d.Connection[k]; ok {
			if !cloned {
				d.Connection, cloned = maps.Clone(d.Connection), true
			}
			d.Connection[k] = "***"
		}
	}
	return d
}

// String shows the disk without its secrets (a CHAP password, a
// keyring).
func (d Disk) String() string {
	r := d.redacted()
	return fmt.Sprintf("{Path:%s Format:%s Protocol:%s Connection:%v Serial:%s}", r.Path, r.Format, r.Protocol, r.Connection, r.Serial)
}

// GoString is String, for %#v.
func (d Disk) GoString() string { return d.String() }

// LogValue logs the disk without its secrets.
func (d Disk) LogValue() slog.Value {
	if d.Protocol == "" {
		return slog.GroupValue(slog.String("path", d.Path), slog.String("format", d.Format))
	}
	if d.Protocol == ProtocolRBD {
		return slog.GroupValue(slog.String("protocol", d.Protocol), slog.String("volume", d.VolumeID()),
			slog.String("name", d.Connection["name"]), slog.String("hosts", d.Connection["hosts"]))
	}
	return slog.GroupValue(slog.String("protocol", d.Protocol), slog.String("volume", d.VolumeID()),
		slog.String("target", d.Connection["target_iqn"]), slog.String("portal", d.Connection["target_portal"]))
}
