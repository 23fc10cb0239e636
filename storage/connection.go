package storage

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyjson"
)

// ConnectionInfo is how a host connects to a volume, as Cinder's
// initialize_connection answers it: {"driver_volume_type": "iscsi",
// "data": {...}}, the form Nova and os-brick take. Data holds the
// export's CHAP password.
type ConnectionInfo struct {
	DriverVolumeType string         `json:"driver_volume_type"`
	Data             map[string]any `json:"data"`
}

// Flat is the connection info as Cinder keeps it on a v3 attachment
// (its volume manager's _connection_create): the data's keys, with
// driver_volume_type and attachment_id beside them.
func (c ConnectionInfo) Flat(attachmentID string) map[string]any {
	out := maps.Clone(c.Data)
	if out == nil {
		out = map[string]any{}
	}
	out["driver_volume_type"] = c.DriverVolumeType
	out["attachment_id"] = attachmentID
	return out
}

// ISCSIExport is a volume's iSCSI export as Cinder's iSCSI target
// helpers (tgt, LIO, IET) record it: provider_location
// "<portal>[;<portal>...],<tid> <iqn> <lun>" and provider_auth
// "<method> <username> <password>".
type ISCSIExport struct {
	// Portals are "ip:port" (the first is the target_portal).
	Portals []string
	IQN     string
	// LUN is the location's third field, 0 when it is missing or not
	// an integer (as Cinder reads it).
	LUN int
	// AuthMethod ("CHAP"), AuthUsername and AuthPassword are
	// provider_auth's; all "" without authentication.
	AuthMethod, AuthUsername, AuthPassword string
}

// ParseISCSIExport reads a volume's provider_location and provider_auth
// as Cinder's ISCSITarget._get_iscsi_properties does: the location split
// on single spaces, its first field's part before a comma split on ';'
// into portals, the second the IQN, the third the LUN; the auth split on
// whitespace into exactly three words. An empty location is Cinder's
// "Could not find iSCSI export" (Cinder would try a discovery, which
// cannot work with CHAP); one without an IQN or an auth that is not
// three words is an error too (Cinder's driver raises).
func ParseISCSIExport(location, auth string) (ISCSIExport, error) {
	if location == "" {
		return ISCSIExport{}, errNoExport
	}
	results := strings.Split(location, " ")
	if len(results) < 2 {
		return ISCSIExport{}, fmt.Errorf("%w: provider_location %q has no IQN", errBadExport, location)
	}
	portal, _, _ := strings.Cut(results[0], ",")
	x := ISCSIExport{Portals: strings.Split(portal, ";"), IQN: results[1]}
	if len(results) > 2 {
		x.LUN, _ = pyInt(results[2])
	}
	if auth != "" {
		words := strings.FieldsFunc(auth, pyIsSpace)
		if len(words) != 3 {
			return ISCSIExport{}, fmt.Errorf("%w: provider_auth has %d words, not 3", errBadExport, len(words))
		}
		x.AuthMethod, x.AuthUsername, x.AuthPassword = words[0], words[1], words[2]
	}
	return x, nil
}

// Properties are Cinder's iSCSI connection properties of the volume:
// target_discovered (false), target_portal, target_iqn, target_lun,
// volume_id, the auth_* keys when the export has authentication,
// encrypted; with several portals or multipath, also target_portals,
// target_iqns and target_luns.
func (x ISCSIExport) Properties(volumeID string, multipath bool) map[string]any {
	p := map[string]any{"target_discovered": false, "target_portal": x.Portals[0], "target_iqn": x.IQN,
		"target_lun": x.LUN, "volume_id": volumeID, "encrypted": false}
	if len(x.Portals) > 1 || multipath {
		iqns, luns := make([]string, len(x.Portals)), make([]int, len(x.Portals))
		for i := range x.Portals {
			iqns[i], luns[i] = x.IQN, x.LUN
		}
		p["target_portals"], p["target_iqns"], p["target_luns"] = append([]string(nil), x.Portals...), iqns, luns
	}
	if x.AuthMethod != "" {
		p["auth_method"], p["auth_username"], p["auth_password"] = x.AuthMethod, x.AuthUsername, x.AuthPassword
	}
	return p
}

// ConnectionOptions are what Cinder's volume manager adds to a driver's
// connection data (_parse_connection_options).
type ConnectionOptions struct {
	// AccessMode is "rw" or "ro".
	AccessMode string
	// Cacheable is the volume type's cacheable extra spec ("<is> True").
	Cacheable bool
	// Discard is Cinder's report_discard_supported: the data says
	// "discard": true (absent otherwise).
	Discard bool
	// Multipath is the connector's multipath.
	Multipath bool
	// QoS are the volume type's QoS specs (nil for none) and Size the
	// volume's size in GB, which scales the specs' *_per_gb keys.
	QoS  *QoSSpecs
	Size int64
	// RBDMonitors are an RBD volume's backend's monitors as its agent
	// last reported them ("host:port", "[v6]:port"; BackendReport):
	// they replace those provider_location recorded when the volume was
	// made, as Cinder's driver reads "mon dump" at each connection.
	RBDMonitors []string
}

// ISCSIConnection is the connection info Cinder's LVM driver with its
// tgt target answers for a volume: its export's properties, then the
// manager's qos_specs (FrontEndQoS), access_mode, cacheable and, when
// reported, discard.
func ISCSIConnection(volumeID, location, auth string, o ConnectionOptions) (ConnectionInfo, error) {
	x, err := ParseISCSIExport(location, auth)
	if err != nil {
		return ConnectionInfo{}, err
	}
	qos, err := FrontEndQoS(o.QoS, o.Size)
	if err != nil {
		return ConnectionInfo{}, err
	}
	data := x.Properties(volumeID, o.Multipath)
	data["qos_specs"] = nil
	if qos != nil {
		data["qos_specs"] = qos
	}
	data["access_mode"] = o.AccessMode
	data["cacheable"] = o.Cacheable
	if o.Discard {
		data["discard"] = true
	}
	return ConnectionInfo{DriverVolumeType: "iscsi", Data: data}, nil
}

// qosTuneOptions are the options Cinder's volume manager scales by a
// volume's size (<option>_per_gb, floored by <option>_per_gb_min and
// capped by <option>_max).
var qosTuneOptions = []string{"read_iops_sec", "read_bytes_sec", "write_iops_sec", "write_bytes_sec", "total_iops_sec", "total_bytes_sec"}

// FrontEndQoS is the qos_specs of a volume's connection info, as
// Cinder's VolumeManager._parse_connection_options computes it from its
// type's QoS specs q and its size: nil (null) unless q's consumer is
// front-end or both; else q's specs, where for each tune option with a
// <option>_per_gb key, <option> becomes min(max(<option>_per_gb_min (0
// when absent), <option>_per_gb * size), <option>_max (that value when
// absent)), an integer, and the _per_gb, _per_gb_min and _max keys go
// (_max only then). A value Python's int() refuses (or null) is
// Cinder's error, a server error here.
func FrontEndQoS(q *QoSSpecs, size int64) (map[string]any, error) {
	if q == nil || (q.Consumer != QoSFrontEnd && q.Consumer != QoSBoth) {
		return nil, nil
	}
	specs := make(map[string]any, len(q.Specs))
	for k, v := range q.Specs {
		if v == nil {
			specs[k] = nil
		} else {
			specs[k] = *v
		}
	}
	for _, opt := range qosTuneOptions {
		perGB, ok := q.Specs[opt+"_per_gb"]
		if !ok {
			continue
		}
		minimum := big.NewInt(0)
		if v, ok := q.Specs[opt+"_per_gb_min"]; ok {
			n, err := qosInt(q.ID, opt+"_per_gb_min", v)
			if err != nil {
				return nil, err
			}
			minimum = n
			delete(specs, opt+"_per_gb_min")
		}
		value, err := qosInt(q.ID, opt+"_per_gb", perGB)
		if err != nil {
			return nil, err
		}
		value.Mul(value, big.NewInt(size))
		if value.Cmp(minimum) < 0 {
			value = minimum
		}
		if v, ok := q.Specs[opt+"_max"]; ok {
			max, err := qosInt(q.ID, opt+"_max", v)
			if err != nil {
				return nil, err
			}
			if max.Cmp(value) < 0 {
				value = max
			}
			delete(specs, opt+"_max")
		}
		if value.IsInt64() {
			specs[opt] = value.Int64()
		} else {
			specs[opt] = json.Number(value.String())
		}
		delete(specs, opt+"_per_gb")
	}
	return specs, nil
}

// qosInt is Python's int() of a QoS spec's value.
func qosInt(id, key string, v *string) (*big.Int, error) {
	if v != nil {
		if n, ok := pyjson.Int(*v); ok {
			return n, nil
		}
	}
	return nil, &fault.Error{Kind: fault.Internal, Type: "ValueError",
		Message: fmt.Sprintf("QoS specs %s: %s is not an integer", id, key)}
}

// Why a volume has no connection info: Cinder's volume manager answers
// VolumeBackendAPIException, a server error.
var (
	errNoExport  = &fault.Error{Kind: fault.Internal, Type: "VolumeBackendAPIException", Message: "Could not find iSCSI export"}
	errBadExport = &fault.Error{Kind: fault.Internal, Type: "VolumeBackendAPIException", Message: "Driver initialize connection failed"}
)

// pyInt is Python's int() of a string, for the ASCII digits: an
// optional sign and decimal digits with single underscores between
// them, surrounding whitespace allowed; false otherwise, and for a value
// past int64 (Python's ints have no bound; no LUN is that large).
func pyInt(s string) (int, bool) {
	s = strings.TrimFunc(s, pyIsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	n := int64(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
		case '0' <= c && c <= '9':
			if n > (math.MaxInt64-int64(c-'0'))/10 {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		default:
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return int(n), true
}

// pyIsSpace is Python's str.isspace of one character.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// RBDExport is where a volume of a Ceph RBD backend is, as its agent
// records it in provider_location (Cinder's RBD driver computes the same
// on its volume host at each initialize_connection; here the controller
// builds the connection info, so the agent writes down what it needs):
//
//	rbd name=<pool>/volume-<id> cluster=<name> [user=<id>] secret_uuid=<uuid> mons=<host>:<port>[,...]
//
// Nothing in it is secret (the key is in the compute hosts' libvirt
// secret secret_uuid names, as with Cinder). An IPv6 monitor is
// "[addr]:port". The monitors are those of the last create or extend;
// a connection takes the backend's last reported ones when it has them
// (ConnectionOptions.RBDMonitors).
type RBDExport struct {
	// Name is "<pool>/volume-<id>".
	Name        string
	ClusterName string
	// User is the cephx user ("" when the backend has none: auth
	// disabled).
	User       string
	SecretUUID string
	// Hosts and Ports are the monitors', one port per host.
	Hosts, Ports []string
}

// rbdLocationPrefix starts an RBD volume's provider_location.
const rbdLocationPrefix = "rbd "

// IsRBDLocation reports whether a provider_location is an RBD volume's.
func IsRBDLocation(location string) bool { return strings.HasPrefix(location, rbdLocationPrefix) }

// MaxRBDNames is how long an RBD backend's pool, cluster and user
// names may be together for provider_location (Cinder's 256 characters)
// to hold them with a volume's uuid, the secret's uuid and the longest
// monitor ("[" IPv6 "]:" port): 256 − 170 = 86.
const MaxRBDNames = maxProvider - (len(rbdLocationPrefix+"name=/volume-"+" cluster="+" user="+" secret_uuid="+" mons=") +
	2*36 + len("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"))

// Location is x as provider_location, and how many of its monitors
// (the last ones) were left out so that it fits Cinder's 256 characters
// — the caller says so (the connection takes the backend's reported
// monitors in any case). Without a monitor, or when not even the first
// fits, it is an error.
func (x RBDExport) Location() (loc string, omitted int, err error) {
	if len(x.Hosts) == 0 || len(x.Hosts) != len(x.Ports) {
		return "", 0, fmt.Errorf("%w: %d monitor hosts and %d ports", errBadExport, len(x.Hosts), len(x.Ports))
	}
	s := rbdLocationPrefix + "name=" + x.Name + " cluster=" + x.ClusterName
	if x.User != "" {
		s += " user=" + x.User
	}
	s += " secret_uuid=" + x.SecretUUID + " mons="
	for i := range x.Hosts {
		m := monitor(x.Hosts[i], x.Ports[i])
		if i > 0 {
			m = "," + m
		}
		if len(s)+len(m) > maxProvider {
			if i == 0 {
				return "", 0, fmt.Errorf("%w: provider_location %q and monitor %s exceed %d characters (shorter pool, cluster and user names)",
					errBadExport, s, m, maxProvider)
			}
			return s, len(x.Hosts) - i, nil
		}
		s += m
	}
	return s, 0, nil
}

// monitor is host and port as "host:port", "[v6]:port".
func monitor(host, port string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

// parseMonitor reads Location's "host:port" or "[v6]:port".
func parseMonitor(m string) (host, port string, ok bool) {
	i := strings.LastIndex(m, ":")
	if i <= 0 || i == len(m)-1 {
		return "", "", false
	}
	host, port = strings.Trim(m[:i], "[]"), m[i+1:]
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" ||
		strings.ContainsAny(host, " ,[]") || strings.Contains(host, ":") != strings.HasPrefix(m, "[") {
		return "", "", false
	}
	return host, port, true
}

// ParseRBDExport reads an RBD volume's provider_location (Location's
// form; keys it does not know are ignored).
func ParseRBDExport(location string) (RBDExport, error) {
	rest, ok := strings.CutPrefix(location, rbdLocationPrefix)
	if !ok {
		return RBDExport{}, fmt.Errorf("%w: provider_location %q is not an RBD volume's", errBadExport, location)
	}
	var x RBDExport
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "name":
			x.Name = v
		case "cluster":
			x.ClusterName = v
		case "user":
			x.User = v
		case "secret_uuid":
			x.SecretUUID = v
		case "mons":
			for _, m := range strings.Split(v, ",") {
				h, p, ok := parseMonitor(m)
				if !ok {
					return RBDExport{}, fmt.Errorf("%w: monitor %q in provider_location", errBadExport, m)
				}
				x.Hosts, x.Ports = append(x.Hosts, h), append(x.Ports, p)
			}
		}
	}
	if pool, image, _ := strings.Cut(x.Name, "/"); pool == "" || image == "" || len(x.Hosts) == 0 || x.SecretUUID == "" {
		return RBDExport{}, fmt.Errorf("%w: provider_location %q lacks the image, the monitors or the secret", errBadExport, location)
	}
	return x, nil
}

// RBDConnection is the connection info Cinder's RBD driver answers for a
// volume (initialize_connection: name, hosts, ports, cluster_name,
// auth_enabled, auth_username, secret_type "ceph", secret_uuid,
// volume_id, discard true), then its volume manager's additions
// (_parse_connection_options: qos_specs, access_mode, encrypted,
// cacheable).
func RBDConnection(volumeID, location string, o ConnectionOptions) (ConnectionInfo, error) {
	x, err := ParseRBDExport(location)
	if err != nil {
		return ConnectionInfo{}, err
	}
	if len(o.RBDMonitors) > 0 {
		var hosts, ports []string
		for _, m := range o.RBDMonitors {
			h, p, ok := parseMonitor(m)
			if !ok {
				return ConnectionInfo{}, fmt.Errorf("%w: the backend's monitor %q", errBadExport, m)
			}
			hosts, ports = append(hosts, h), append(ports, p)
		}
		x.Hosts, x.Ports = hosts, ports
	}
	qos, err := FrontEndQoS(o.QoS, o.Size)
	if err != nil {
		return ConnectionInfo{}, err
	}
	var user any
	if x.User != "" {
		user = x.User
	}
	data := map[string]any{"name": x.Name, "hosts": x.Hosts, "ports": x.Ports, "cluster_name": x.ClusterName,
		"auth_enabled": x.User != "", "auth_username": user, "secret_type": "ceph", "secret_uuid": x.SecretUUID,
		"volume_id": volumeID, "discard": true, "qos_specs": nil, "access_mode": o.AccessMode, "encrypted": false,
		"cacheable": o.Cacheable}
	if qos != nil {
		data["qos_specs"] = qos
	}
	return ConnectionInfo{DriverVolumeType: "rbd", Data: data}, nil
}
