package ovs

import (
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
)

// The few columns of the Open_vSwitch database (vswitch.ovsschema) this
// package reads and writes, as libovsdb models. Only these columns are
// monitored: statistics and status, which ovs-vswitchd rewrites every few
// seconds, would wake Changed for nothing.

const (
	tableRoot      = "Open_vSwitch"
	tableBridge    = "Bridge"
	tablePort      = "Port"
	tableInterface = "Interface"
)

type rootRow struct {
	UUID    string   `ovsdb:"_uuid"`
	Bridges []string `ovsdb:"bridges"`
	CurCfg  int      `ovsdb:"cur_cfg"`
	NextCfg int      `ovsdb:"next_cfg"`
}

type bridgeRow struct {
	UUID         string            `ovsdb:"_uuid"`
	Name         string            `ovsdb:"name"`
	Ports        []string          `ovsdb:"ports"`
	DatapathType string            `ovsdb:"datapath_type"`
	FailMode     *string           `ovsdb:"fail_mode"`
	Protocols    []string          `ovsdb:"protocols"`
	ExternalIDs  map[string]string `ovsdb:"external_ids"`
	OtherConfig  map[string]string `ovsdb:"other_config"`
}

type portRow struct {
	UUID        string            `ovsdb:"_uuid"`
	Name        string            `ovsdb:"name"`
	Interfaces  []string          `ovsdb:"interfaces"`
	Tag         *int              `ovsdb:"tag"`
	OtherConfig map[string]string `ovsdb:"other_config"`
}

type ifaceRow struct {
	UUID        string            `ovsdb:"_uuid"`
	Name        string            `ovsdb:"name"`
	Type        string            `ovsdb:"type"`
	Options     map[string]string `ovsdb:"options"`
	ExternalIDs map[string]string `ovsdb:"external_ids"`
	OFPort      *int              `ovsdb:"ofport"`
	MACInUse    *string           `ovsdb:"mac_in_use"`
	Error       *string           `ovsdb:"error"`
}

func dbModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel("Open_vSwitch", map[string]model.Model{
		tableRoot:      &rootRow{},
		tableBridge:    &bridgeRow{},
		tablePort:      &portRow{},
		tableInterface: &ifaceRow{},
	})
}

// monitorOf monitors exactly the modelled columns of the four tables.
func monitorOf(c client.Client) *client.Monitor {
	r, b, p, i := &rootRow{}, &bridgeRow{}, &portRow{}, &ifaceRow{}
	return c.NewMonitor(
		client.WithTable(r, &r.Bridges, &r.CurCfg, &r.NextCfg),
		client.WithTable(b, &b.Name, &b.Ports, &b.DatapathType, &b.FailMode, &b.Protocols, &b.ExternalIDs, &b.OtherConfig),
		client.WithTable(p, &p.Name, &p.Interfaces, &p.Tag, &p.OtherConfig),
		client.WithTable(i, &i.Name, &i.Type, &i.Options, &i.ExternalIDs, &i.OFPort, &i.MACInUse, &i.Error),
	)
}

// snapshot is the cache's content at one moment, read-only.
type snapshot struct {
	root    *rootRow
	bridges map[string]*bridgeRow // by uuid
	ports   map[string]*portRow
	ifaces  map[string]*ifaceRow
}

func (s *snapshot) bridge(name string) *bridgeRow {
	for _, b := range s.bridges {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// port returns the port named name and the bridge holding it (nil if no
// bridge does).
func (s *snapshot) port(name string) (*portRow, *bridgeRow) {
	for _, p := range s.ports {
		if p.Name != name {
			continue
		}
		for _, b := range s.bridges {
			for _, u := range b.Ports {
				if u == p.UUID {
					return p, b
				}
			}
		}
		return p, nil
	}
	return nil, nil
}

// iface returns the interface of port p named like it (the only one for
// every port this package makes).
func (s *snapshot) iface(p *portRow) *ifaceRow {
	for _, u := range p.Interfaces {
		if i := s.ifaces[u]; i != nil && i.Name == p.Name {
			return i
		}
	}
	return nil
}
