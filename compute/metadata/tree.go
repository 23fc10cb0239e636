package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path"
	"slices"
	"sort"
	"strings"
)

// ErrNotFound is a path the tree does not hold (the service's 404).
var ErrNotFound = errors.New("metadata: no such path")

// EC2Versions are the EC2-style tree's versions, oldest first, as Nova
// lists them ("latest" is the last).
var EC2Versions = []string{"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
	"2008-02-01", "2008-09-01", "2009-04-04"}

// OpenStackVersions are the dated versions of openstack/, oldest first.
var OpenStackVersions = []string{"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
	"2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14"}

// The OpenStack versions that brought a document or a field.
const (
	grizzly   = "2013-04-04" // random_seed, password
	havana    = "2013-10-17" // vendor_data.json
	liberty   = "2015-10-15" // project_id, network_data.json
	newtonOne = "2016-06-30" // devices
	newtonTwo = "2016-10-06" // vendor_data2.json
	victoria  = "2020-10-14" // dedicated_cpus
)

// Content types of the documents, as Nova sends them.
const (
	TextPlain = "text/plain; charset=UTF-8"
	JSON      = "application/json"
)

// Instance is what the metadata service tells one instance about
// itself: the OpenStack documents and the EC2-style tree's fields.
type Instance struct {
	MetaData    MetaData
	UserData    []byte // nil: no user data (its paths are 404)
	NetworkData *NetworkData
	// The EC2-style tree's own fields.
	ImageID        string // the image's id, shown as ami-id
	ReservationID  string
	InstanceType   string // the flavor's name
	SecurityGroups []string
	FixedIPs       []string // IPv4 fixed addresses, the first is local-ipv4
	FloatingIPs    []string // the first is public-ipv4
}

// Doc is one answer of the tree: a document or a listing.
type Doc struct {
	Body        []byte
	ContentType string
}

// Lookup answers a GET of urlPath (the request's path, "/openstack/..."
// or the EC2-style "/latest/meta-data/...", "/2009-04-04/user-data"),
// as Nova's metadata service does: the path is cleaned, a listing is
// the names one per line (a directory's with a trailing "/"), and a path
// the tree does not hold is ErrNotFound.
func (in *Instance) Lookup(urlPath string) (Doc, error) {
	p := path.Clean("/" + urlPath)
	tokens := strings.Split(p, "/")[1:]
	if tokens[0] != "ec2" && tokens[0] != "openstack" {
		if tokens[0] == "" {
			tokens = []string{"ec2"}
		} else {
			tokens = append([]string{"ec2"}, tokens...)
		}
	}
	if len(tokens) == 1 {
		vs := EC2Versions
		if tokens[0] == "openstack" {
			vs = OpenStackVersions
		}
		return text(strings.Join(append(slices.Clone(vs), "latest"), "\n")), nil
	}
	if tokens[0] == "openstack" {
		return in.openstack(tokens[1:])
	}
	return in.ec2(tokens[1:])
}

func text(s string) Doc { return Doc{Body: []byte(s), ContentType: TextPlain} }

// atLeast reports whether version v (of list) is since.
func atLeast(list []string, v, since string) bool {
	return slices.Index(list, v) >= slices.Index(list, since)
}

// openstack answers openstack/<version>[/<document>].
func (in *Instance) openstack(tokens []string) (Doc, error) {
	v := tokens[0]
	if v == "latest" {
		v = OpenStackVersions[len(OpenStackVersions)-1]
	}
	if !slices.Contains(OpenStackVersions, v) {
		return Doc{}, ErrNotFound
	}
	since := func(s string) bool { return atLeast(OpenStackVersions, v, s) }
	if len(tokens) == 1 {
		names := []string{"meta_data.json"}
		if in.UserData != nil {
			names = append(names, "user_data")
		}
		if since(grizzly) {
			names = append(names, "password")
		}
		if since(havana) {
			names = append(names, "vendor_data.json")
		}
		if since(liberty) {
			names = append(names, "network_data.json")
		}
		if since(newtonTwo) {
			names = append(names, "vendor_data2.json")
		}
		return text(strings.Join(names, "\n")), nil
	}
	switch strings.Join(tokens[1:], "/") {
	case "meta_data.json":
		b, err := json.Marshal(in.metaData(v))
		return Doc{Body: b, ContentType: JSON}, err
	case "user_data":
		if in.UserData == nil {
			return Doc{}, ErrNotFound
		}
		return Doc{Body: in.UserData, ContentType: TextPlain}, nil
	case "password":
		if !since(grizzly) {
			return Doc{}, ErrNotFound
		}
		return text(""), nil // no password was set (a guest's POST is not kept)
	case "vendor_data.json":
		if !since(havana) {
			return Doc{}, ErrNotFound
		}
		return Doc{Body: []byte("{}"), ContentType: JSON}, nil
	case "vendor_data2.json":
		if !since(newtonTwo) {
			return Doc{}, ErrNotFound
		}
		return Doc{Body: []byte(`{"static": {}}`), ContentType: JSON}, nil
	case "network_data.json":
		if !since(liberty) {
			return Doc{}, ErrNotFound
		}
		// Nova sends it as text/plain.
		var b []byte
		var err error
		if in.NetworkData == nil {
			b = []byte("{}")
		} else {
			b, err = json.Marshal(in.NetworkData)
		}
		return Doc{Body: b, ContentType: TextPlain}, err
	}
	return Doc{}, ErrNotFound
}

// metaData is meta_data.json at version v: the fields that version had,
// a fresh random_seed from Grizzly on.
func (in *Instance) metaData(v string) map[string]any {
	md := in.MetaData
	out := map[string]any{"uuid": md.UUID, "hostname": md.Hostname, "name": md.Name,
		"launch_index": md.LaunchIndex, "availability_zone": md.AvailabilityZone}
	if len(md.Meta) > 0 {
		out["meta"] = md.Meta
	}
	if len(md.PublicKeys) > 0 {
		out["public_keys"] = md.PublicKeys
		out["keys"] = md.Keys
	}
	since := func(s string) bool { return atLeast(OpenStackVersions, v, s) }
	if since(grizzly) {
		seed := make([]byte, 512)
		rand.Read(seed)
		out["random_seed"] = base64.StdEncoding.EncodeToString(seed)
	}
	if since(liberty) {
		out["project_id"] = md.ProjectID
	}
	if since(newtonOne) {
		devices := md.Devices
		if devices == nil {
			devices = []any{}
		}
		out["devices"] = devices
	}
	if since(victoria) {
		out["dedicated_cpus"] = []int{}
	}
	return out
}

// ec2 answers <version>/... of the EC2-style tree.
func (in *Instance) ec2(tokens []string) (Doc, error) {
	v := tokens[0]
	if v == "latest" {
		v = EC2Versions[len(EC2Versions)-1]
	}
	if !slices.Contains(EC2Versions, v) {
		return Doc{}, ErrNotFound
	}
	var node any = in.ec2Tree(v)
	for _, t := range tokens[1:] {
		m, ok := node.(map[string]any)
		if !ok {
			return Doc{}, ErrNotFound
		}
		if node, ok = m[t]; !ok {
			return Doc{}, ErrNotFound
		}
	}
	return text(ec2Print(node)), nil
}

// ec2Tree is the EC2-style tree of version v: meta-data and user-data.
func (in *Instance) ec2Tree(v string) map[string]any {
	since := func(s string) bool { return atLeast(EC2Versions, v, s) }
	first := func(l []string) string {
		if len(l) == 0 {
			return ""
		}
		return l[0]
	}
	md := in.MetaData
	groups := in.SecurityGroups
	if groups == nil {
		groups = []string{}
	}
	meta := map[string]any{
		"ami-id":            EC2ID("ami", in.ImageID),
		"ami-launch-index":  md.LaunchIndex,
		"ami-manifest-path": "FIXME", // the value Nova serves for every instance (nova/api/metadata/base.py): part of the wire format, not unfinished work
		"instance-id":       EC2ID("i", md.UUID),
		"hostname":          md.Hostname,
		"local-ipv4":        first(in.FixedIPs),
		"reservation-id":    in.ReservationID,
		"security-groups":   groups,
	}
	if len(md.Keys) > 0 {
		k := md.Keys[0]
		meta["public-keys"] = map[string]any{"0": map[string]any{"_name": "0=" + k.Name, "openssh-key": k.Data}}
	}
	if since("2007-01-19") {
		meta["local-hostname"] = md.Hostname
		meta["public-hostname"] = md.Hostname
		meta["public-ipv4"] = first(in.FloatingIPs)
	}
	if since("2007-08-29") {
		meta["instance-type"] = in.InstanceType
	}
	if since("2007-12-15") {
		meta["block-device-mapping"] = map[string]any{"ami": "vda", "root": "/dev/vda"}
	}
	if since("2008-02-01") {
		meta["placement"] = map[string]any{"availability-zone": md.AvailabilityZone}
	}
	if since("2008-09-01") {
		meta["instance-action"] = "none"
	}
	tree := map[string]any{"meta-data": meta}
	if in.UserData != nil {
		tree["user-data"] = string(in.UserData)
	}
	return tree
}

// EC2ID is the EC2-style id of a resource of kind ("i", "ami") with id
// uuid: the kind and the uuid's first eight hex digits, as Nova's
// i-%08x shows its integer id.
func EC2ID(kind, uuid string) string {
	hex := strings.ReplaceAll(uuid, "-", "")
	if len(hex) > 8 {
		hex = hex[:8]
	}
	for len(hex) < 8 {
		hex = "0" + hex
	}
	return kind + "-" + hex
}

// ec2Print writes a node as Nova's ec2_md_print: a map as its keys
// sorted, one per line, a sub-map's with "/" (or its _name); a list one
// item per line; anything else as is.
func ec2Print(node any) string {
	switch n := node.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			if k != "_name" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		lines := make([]string, 0, len(keys))
		for _, k := range keys {
			if sub, ok := n[k].(map[string]any); ok {
				if name, ok := sub["_name"].(string); ok {
					lines = append(lines, name)
				} else {
					lines = append(lines, k+"/")
				}
				continue
			}
			lines = append(lines, k)
		}
		return strings.Join(lines, "\n")
	case []string:
		return strings.Join(n, "\n")
	case string:
		return n
	default:
		b, _ := json.Marshal(n)
		return string(b)
	}
}
