package network_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
)

// A group that lets SSH in from 10.0.0.0/8, and a port in it. The
// project got its default group on the way, as in Neutron.
func Example_securityGroups() {
	dir, _ := os.MkdirTemp("", "network-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "n.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, watch.Migrations(), network.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	s := network.NewStore(db, watch.New(db))
	me := network.Viewer{Project: "demo"}
	n, _ := s.CreateNetwork(ctx, network.Network{ProjectID: "demo", Name: "private"})
	ssh, err := s.CreateSecurityGroup(ctx, me, network.SecurityGroup{Name: "ssh"})
	if err != nil {
		fmt.Println(err)
		return
	}
	port := 22
	rule := network.SecurityGroupRule{SecurityGroupID: ssh.ID, Direction: network.Ingress, Protocol: "TCP",
		PortRangeMin: &port, PortRangeMax: &port, RemoteIPPrefix: "10.1.2.3/8"}
	r, err := s.CreateSecurityGroupRule(ctx, me, rule)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Ethertype, r.Protocol, *r.PortRangeMin, r.RemoteIPPrefix, r.NormalizedCIDR)
	rule.Protocol = "6"
	var fe *fault.Error
	if _, err := s.CreateSecurityGroupRule(ctx, me, rule); errors.As(err, &fe) {
		fmt.Println(fe.Type)
	}
	p, err := s.CreatePort(ctx, me, network.Port{NetworkID: n.ID, SecurityGroups: []string{ssh.ID}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*p.PortSecurity, p.SecurityGroups[0] == ssh.ID)
	groups, _, _ := s.ListSecurityGroups(ctx, me, nil, network.Page{Sort: []network.Sort{{Key: "name"}}})
	for _, g := range groups {
		fmt.Println(g.Name, len(g.Rules))
	}
	// Output:
	// IPv4 tcp 22 10.1.2.3/8 10.0.0.0/8
	// SecurityGroupRuleExists
	// true true
	// default 4
	// ssh 3
}
