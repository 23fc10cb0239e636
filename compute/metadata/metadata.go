package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// MetaData is Nova's openstack/<version>/meta_data.json, the fields a
// guest reads.
type MetaData struct {
	UUID             string            `json:"uuid"`
	Meta             map[string]string `json:"meta,omitempty"` // the server's metadata
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []Key             `json:"keys,omitempty"`
	Hostname         string            `json:"hostname"`
	Name             string            `json:"name"`
	LaunchIndex      int               `json:"launch_index"`
	AvailabilityZone string            `json:"availability_zone"`
	RandomSeed       string            `json:"random_seed,omitempty"`
	ProjectID        string            `json:"project_id"`
	Devices          []any             `json:"devices"`
}

// Key is one entry of meta_data.json's keys: the instance's key pair.
type Key struct {
	Name string `json:"name"`
	Type string `json:"type"` // "ssh" or "x509"
	Data string `json:"data"`
}

// WithKeyPair sets PublicKeys and Keys from the instance's key pair, as
// Nova does (one key pair per instance).
func (m *MetaData) WithKeyPair(name, typ, publicKey string) {
	m.PublicKeys = map[string]string{name: publicKey}
	m.Keys = []Key{{Name: name, Type: typ, Data: publicKey}}
}

// NetworkData is network_data.json: the instance's links (NICs) and
// the networks on them, as Nova's netutils.get_network_metadata writes
// them for ports on DHCP subnets.
type NetworkData struct {
	Links    []Link    `json:"links"`
	Networks []Network `json:"networks"`
	Services []Service `json:"services"`
}

// Link is a NIC: its id is the tap's name, VIFID the port.
type Link struct {
	ID    string `json:"id"`
	VIFID string `json:"vif_id"`
	Type  string `json:"type"` // "ovs"
	// MTU is null when the network's DHCP server sends it, as Nova does.
	MTU *int   `json:"mtu"`
	MAC string `json:"ethernet_mac_address"`
}

// Network is an address family on a link: "ipv4_dhcp" here.
type Network struct {
	ID        string `json:"id"` // network0, network1, ...
	Type      string `json:"type"`
	Link      string `json:"link"`
	NetworkID string `json:"network_id"`
}

// Service is a DNS server of the instance's subnets.
type Service struct {
	Type    string `json:"type"` // "dns"
	Address string `json:"address"`
}

// Port is one of an instance's ports, what NetworkDataOf reads.
type Port struct {
	ID, MAC, NetworkID string
	IPs                []string
}

// NetworkDataOf is network_data.json for ports, in order: a link per
// port with an address (tap<first 11 of its id>, type ovs) and an
// ipv4_dhcp network on each with an IPv4 one (IPv6 networks are left
// out: the guest's own router advertisements and DHCPv6 find them).
func NetworkDataOf(ports []Port) *NetworkData {
	nd := &NetworkData{Links: []Link{}, Networks: []Network{}, Services: []Service{}}
	for _, p := range ports {
		if len(p.IPs) == 0 {
			continue
		}
		id := p.ID
		if len(id) > 11 {
			id = id[:11]
		}
		link := Link{ID: "tap" + id, VIFID: p.ID, Type: "ovs", MAC: p.MAC}
		nd.Links = append(nd.Links, link)
		if slices.ContainsFunc(p.IPs, func(ip string) bool { a, err := netip.ParseAddr(ip); return err == nil && a.Is4() }) {
			nd.Networks = append(nd.Networks, Network{ID: fmt.Sprintf("network%d", len(nd.Networks)), Type: "ipv4_dhcp",
				Link: link.ID, NetworkID: p.NetworkID})
		}
	}
	return nd
}

// Drive is the content of a config drive.
type Drive struct {
	MetaData MetaData
	UserData []byte // nil: no user_data file
	// NetworkData is network_data.json; nil writes an empty document
	// ({"links": [], "networks": [], "services": []}), which tells
	// cloud-init to fall back to DHCP.
	NetworkData *NetworkData
	Publisher   string // the ISO's publisher; default "gostack"
}

// ConfigDrive writes d as an ISO 9660 image at path with genisoimage
// and the flags Nova passes it (Rock Ridge and Joliet names, volume
// label config-2). The files are under openstack/latest/.
func ConfigDrive(ctx context.Context, path string, d Drive) error {
	dir, err := os.MkdirTemp("", "configdrive")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	latest := filepath.Join(dir, "openstack", "latest")
	if err := os.MkdirAll(latest, 0o755); err != nil {
		return err
	}
	if d.MetaData.Devices == nil {
		d.MetaData.Devices = []any{}
	}
	docs := map[string]any{"meta_data.json": d.MetaData, "vendor_data.json": map[string]any{}, "vendor_data2.json": map[string]any{}}
	if d.NetworkData == nil {
		docs["network_data.json"] = &NetworkData{Links: []Link{}, Networks: []Network{}, Services: []Service{}}
	} else {
		docs["network_data.json"] = d.NetworkData
	}
	for name, v := range docs {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("metadata: %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(latest, name), b, 0o644); err != nil {
			return err
		}
	}
	if d.UserData != nil {
		if err := os.WriteFile(filepath.Join(latest, "user_data"), d.UserData, 0o644); err != nil {
			return err
		}
	}
	pub := d.Publisher
	if pub == "" {
		pub = "gostack"
	}
	tmp := path + ".tmp"
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, "genisoimage", "-o", tmp, "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
		"-publisher", pub, "-quiet", "-J", "-r", "-V", "config-2", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("metadata: genisoimage (Debian package genisoimage): %w: %s", err, strings.TrimSpace(string(out)))
	}
	return os.Rename(tmp, path)
}
