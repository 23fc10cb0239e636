package compute

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gostack/gostack/compute/metadata"
)

// GuestMetadata is what the instance learns about itself, from its
// config drive or the metadata service: meta_data.json (uuid, names,
// key pair, zone, project, the server's metadata), its user data
// decoded, network_data.json from its ports, and the EC2-style tree's
// fields. The security groups are the names the server was created
// with ("default" when it named none); a port the user made keeps its
// own groups, which are not listed.
func (i Instance) GuestMetadata() (metadata.Instance, error) {
	md := metadata.MetaData{UUID: i.UUID, Name: i.Name, Hostname: i.Hostname, LaunchIndex: i.LaunchIndex,
		AvailabilityZone: i.AvailabilityZone, ProjectID: i.ProjectID, Meta: i.Metadata}
	if md.Hostname == "" {
		md.Hostname = i.Name
	}
	if i.KeyName != "" && i.KeyData != "" {
		typ := "ssh"
		if strings.HasPrefix(strings.TrimSpace(i.KeyData), "-----BEGIN CERTIFICATE-----") {
			typ = "x509"
		}
		md.WithKeyPair(i.KeyName, typ, i.KeyData)
	}
	out := metadata.Instance{MetaData: md, ImageID: i.ImageRef, ReservationID: i.ReservationID, InstanceType: i.Flavor.Name}
	if i.UserData != "" {
		ud, err := base64.StdEncoding.DecodeString(i.UserData)
		if err != nil {
			return metadata.Instance{}, fmt.Errorf("user data is not base64: %w", err)
		}
		out.UserData = ud
	}
	ports := make([]metadata.Port, 0, len(i.Ports))
	for _, p := range i.Ports {
		if p.Pending == PortAttaching { // not the guest's until its host says so
			continue
		}
		ports = append(ports, metadata.Port{ID: p.ID, MAC: p.MAC, NetworkID: p.NetworkID, IPs: p.IPs})
		for _, ip := range p.IPs {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
				out.FixedIPs = append(out.FixedIPs, ip)
			}
		}
	}
	out.NetworkData = metadata.NetworkDataOf(ports)
	for _, n := range i.Networks {
		for _, g := range n.SecurityGroups {
			if !slices.Contains(out.SecurityGroups, g) {
				out.SecurityGroups = append(out.SecurityGroups, g)
			}
		}
	}
	if len(out.SecurityGroups) == 0 {
		out.SecurityGroups = []string{"default"}
	}
	return out, nil
}
