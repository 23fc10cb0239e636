package agent_test

import (
	"context"
	"log"

	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/qemu"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/network/ovs"
)

// A compute host as a composition builds it: the agent, a QEMU driver
// that plugs its taps through the agent (so a guest starts only once its
// ports are ACTIVE), and the host's Open vSwitch. Run keeps the host in
// step with the controller until ctx ends; the guests outlive it.
func Example() {
	ctx := context.Background()
	sw, err := ovs.Connect(ctx, "unix:/run/openvswitch/db.sock")
	if err != nil {
		log.Fatal(err)
	}
	defer sw.Close()
	a := &agent.Agent{
		Config: agent.Config{Host: "compute-1", StateDir: "/var/lib/gostack/compute", HostIP: "192.0.2.11"},
		Switch: sw,
		Session: kitagent.NewSession(kitagent.Credentials{AuthURL: "http://controller:5000/v3",
			Username: "compute-agent", Password: "secret"}),
		ComputeURL: "http://controller:8774",
		FeedURL:    "http://controller:8790/v1/watch/compute",
	}
	d, err := qemu.New(qemu.Config{StateDir: "/var/lib/gostack/qemu", Plug: a.Plug, Unplug: a.Unplug})
	if err != nil {
		log.Fatal(err)
	}
	a.Driver = d
	if err := a.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
