package libvirt

import (
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

// parseDomain reads a domain's XML as libvirt dumps it.
func parseDomain(doc string) (*libvirtxml.Domain, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, fmt.Errorf("compute/libvirt: domain XML: %w", err)
	}
	return &d, nil
}

// portNIC is port portID's NIC in a domain: the one whose Open vSwitch
// interfaceid is the port id (libvirt writes uuids in lower case) or
// whose tap is the port's (tapName); nil when the domain has none.
func portNIC(d *libvirtxml.Domain, portID string) *libvirtxml.DomainInterface {
	if d.Devices == nil || portID == "" {
		return nil
	}
	tap := tapName(portID)
	for i := range d.Devices.Interfaces {
		nic := &d.Devices.Interfaces[i]
		if vp := nic.VirtualPort; vp != nil && vp.Params != nil && vp.Params.OpenVSwitch != nil &&
			strings.EqualFold(vp.Params.OpenVSwitch.InterfaceID, portID) {
			return nic
		}
		if nic.Target != nil && nic.Target.Dev == tap {
			return nic
		}
	}
	return nil
}

// vifModel is the model of a guest's new NICs: its image's
// hw_vif_model recorded at spawn; for a domain defined before that was
// recorded, the model of its NICs, else virtio.
func vifModel(m metadata, d *libvirtxml.Domain) string {
	if m.VIFModel != "" {
		return m.VIFModel
	}
	if d.Devices != nil {
		for _, nic := range d.Devices.Interfaces {
			if nic.Model != nil && nic.Model.Type != "" {
				return nic.Model.Type
			}
		}
	}
	return "virtio"
}

// attachNIC is the NIC that attaching port p to the guest whose
// definition is def adds: the definition's own when it has the port
// already (present), else the one Spawn would have written
// (bridgeInterface, in the guest's vifModel). A NIC of the port with
// another MAC, or another NIC with the port's MAC, is an error: the
// guest would not be what the network service thinks.
func attachNIC(def *libvirtxml.Domain, m metadata, p virt.GuestPort) (nic libvirtxml.DomainInterface, present bool, err error) {
	if have := portNIC(def, p.ID); have != nil {
		if p.MAC != "" && have.MAC != nil && !strings.EqualFold(have.MAC.Address, p.MAC) {
			return nic, false, fmt.Errorf("compute/libvirt: guest %s: port %s has a NIC with MAC %s, not %s", m.ID, p.ID, have.MAC.Address, p.MAC)
		}
		return *have, true, nil
	}
	if p.MAC != "" && def.Devices != nil {
		for _, other := range def.Devices.Interfaces {
			if other.MAC != nil && strings.EqualFold(other.MAC.Address, p.MAC) {
				return nic, false, fmt.Errorf("compute/libvirt: guest %s: MAC %s of port %s is another NIC's (%s)", m.ID, p.MAC, p.ID, nicName(other))
			}
		}
	}
	nic, err = bridgeInterface(p, vifModel(m, def))
	if err != nil {
		return nic, false, fmt.Errorf("compute/libvirt: guest %s: %w", m.ID, err)
	}
	return nic, false, nil
}

// nicName names a NIC in messages: its port, else its tap, else its
// model.
func nicName(nic libvirtxml.DomainInterface) string {
	if vp := nic.VirtualPort; vp != nil && vp.Params != nil && vp.Params.OpenVSwitch != nil && vp.Params.OpenVSwitch.InterfaceID != "" {
		return "port " + vp.Params.OpenVSwitch.InterfaceID
	}
	if nic.Target != nil && nic.Target.Dev != "" {
		return "tap " + nic.Target.Dev
	}
	return "a NIC not gostack's"
}
