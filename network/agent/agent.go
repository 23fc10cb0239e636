package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/kit/watch/watchhttp"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/dhcp"
	"github.com/gostack/gostack/network/ovs"
)

// Binary is the agent's binary name in /v2.0/agents.
const Binary = "gostack-network-agent"

// Config is one host's agent.
type Config struct {
	// Host is the name ports are bound to (binding:host_id).
	Host string
	// TunnelIP is the host's VXLAN endpoint with its prefix length, e.g.
	// 192.168.50.1/24. With the userspace datapath it is put on the
	// physical bridge, which also takes Uplink; with the kernel datapath
	// it is an address the host already has.
	TunnelIP netip.Prefix
	// Uplink is the underlay device the physical bridge takes (userspace
	// datapath only); "" to leave the bridge without one.
	Uplink string
	// DatapathType is "netdev" (userspace, what works without the
	// openvswitch kernel module) or "system".
	DatapathType string
	// Bridges: integration (br-int), tunnel (br-tun), physical (br-phy,
	// userspace datapath only).
	IntegrationBridge, TunnelBridge, PhysicalBridge string
	// BridgeMappings map provider physical networks (the external
	// network's "public", flat and VLAN networks) to bridges of this host,
	// Neutron's bridge_mappings: each is joined to br-int by a patch pair
	// (int-<bridge>, phy-<bridge>). BridgeAddrs puts an address on a
	// mapped bridge's own device: the host's side of that network, which
	// is how the all-in-one reaches floating IPs.
	BridgeMappings map[string]string
	BridgeAddrs    map[string]netip.Prefix
	// L3: this host runs the routers the controller schedules to it
	// (network/l3), with the gateway on a provider network of
	// BridgeMappings.
	L3 bool
	// DHCP: this host serves the DHCP of the networks the controller
	// schedules to it, with dnsmasq in a namespace per network, its files
	// under DHCPDir (which must be searchable by others: dnsmasq reads
	// them as nobody).
	DHCP    bool
	DHCPDir string
	// MetadataURL is Nova's metadata API (its base URL, e.g.
	// http://controller:8775) that a proxy in each DHCP namespace
	// forwards the guests' requests to 169.254.169.254 to, naming the
	// instance by the network and the request's source address; the
	// subnets' DHCP gives the guests a route to it. "" serves no
	// metadata service.
	MetadataURL string
	// MetadataSecret signs the instance ids the proxies forward (Nova's
	// and Neutron's metadata_proxy_shared_secret); it must be the API's.
	MetadataSecret string `json:"-"`
	// OVSDir is the private run directory of the Open vSwitch daemons
	// the agent starts when they are not running; "" uses the system's.
	OVSDir string
}

func (c *Config) defaults() {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&c.DatapathType, "netdev")
	def(&c.IntegrationBridge, "br-int")
	def(&c.TunnelBridge, "br-tun")
	def(&c.PhysicalBridge, "br-phy")
}

// cookieOwner marks the flows of this agent (the high half of the
// cookie); the low half is the generation, one per start.
const (
	cookieOwner = 0x6e657477 << 32 // "netw"
	cookieMask  = 0xffffffff << 32
)

// Agent plumbs the ports bound to its host into Open vSwitch. It holds
// no database credentials: it follows the network feed of the controller
// and reads its host's state from the network API's internal routes,
// with a service user's token (kit/agent).
type Agent struct {
	Config  Config
	Session *kitagent.Session
	// NetworkURL is the network API ("" to take the internal endpoint
	// of type "network" from the catalog); FeedURL is the controller's
	// watch feed of the network area (admin port /v1/watch/network).
	NetworkURL, FeedURL string
	// HTTP is the client for the feed (nil: http.DefaultClient); give it
	// the same TLS settings as the Session's.
	HTTP *http.Client
	Log  *slog.Logger
	// Synced, if set, is called after each sync with what it did.
	Synced func(SyncStats)

	mu         sync.Mutex
	daemons    *ovs.Daemons
	db         *ovs.Client
	run        ovs.Runner
	tunFlows   *ovs.OpenFlow
	intFlows   *ovs.OpenFlow
	physFlows  map[string]*ovs.OpenFlow // by bridge
	generation uint64
	reported   bool
	synced     bool // once: the first sync is logged
	dhcp       map[string]*dhcp.Server
	meta       map[string]*metaProxy // by network
	wake       chan struct{}
}

// SyncStats is what one sync did.
type SyncStats struct {
	Revision int64
	Ports    int // bound to the host
	Plumbed  int // of which plumbed (a VIF on br-int, tagged, flows in)
	Reported int // statuses sent
	Tunnel   ovs.SyncResult
	Integ    ovs.SyncResult
	Took     time.Duration
	// Read, Switch and Flows split Took: the state read from the
	// controller, the OVSDB work (bridges, tunnels, DHCP, tags), the flow
	// syncs; the status report is the rest.
	Read, Switch, Flows time.Duration
	Remotes             int
	Networks            int
	TunnelsUp           int
}

func (a *Agent) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Run starts (or adopts) Open vSwitch, then syncs until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.Config.defaults()
	if a.Config.Host == "" {
		return errors.New("network agent: no host name")
	}
	if a.Config.MetadataURL != "" && a.Config.MetadataSecret == "" {
		return errors.New("network agent: the metadata proxies need a shared secret")
	}
	if a.Config.DHCP {
		if a.Config.DHCPDir == "" {
			return errors.New("network agent: DHCP needs a DHCPDir")
		}
		if err := os.MkdirAll(a.Config.DHCPDir, 0o755); err != nil {
			return fmt.Errorf("network agent: %w", err)
		}
	}
	if err := a.open(ctx); err != nil {
		return err
	}
	defer a.db.Close()
	defer a.stopAllMetadata()
	wake := make(chan struct{}, 1)
	a.wake = wake
	go a.watchSwitch(ctx, wake)
	loop := &kitagent.Loop{
		Sync: a.Sync,
		Feed: &watchhttp.Client{URL: a.FeedURL, HTTP: a.HTTP, Prepare: a.Session.Prepare},
		Area: "network",
		Wake: wake,
		Heartbeat: func(ctx context.Context) error {
			return a.report(ctx)
		},
		Log: a.log(),
	}
	if a.FeedURL == "" {
		loop.Feed = nil
	}
	return loop.Run(ctx)
}

// open starts or adopts the switch and connects to its database.
func (a *Agent) open(ctx context.Context) error {
	var err error
	if a.Config.OVSDir == "" {
		d, ok := ovs.System()
		if !ok {
			return errors.New("network agent: no ovs_dir set and no Open vSwitch running on this host")
		}
		a.daemons = d
	} else if a.daemons, err = ovs.Start(ctx, a.Config.OVSDir); err != nil {
		return fmt.Errorf("network agent: %w", err)
	}
	a.run = a.daemons.Runner()
	if a.db, err = ovs.Connect(ctx, a.daemons.DB); err != nil {
		return fmt.Errorf("network agent: %w", err)
	}
	a.tunFlows = &ovs.OpenFlow{Bridge: a.Config.TunnelBridge, Run: a.run}
	a.intFlows = &ovs.OpenFlow{Bridge: a.Config.IntegrationBridge, Run: a.run}
	a.physFlows = map[string]*ovs.OpenFlow{}
	for _, br := range a.Config.BridgeMappings {
		a.physFlows[br] = &ovs.OpenFlow{Bridge: br, Run: a.run}
	}
	a.generation = uint64(time.Now().Unix()) & 0xffffffff
	// The bridges first: with the userspace datapath the VTEP address,
	// on br-phy, may be how this host reaches the controller.
	for {
		err := a.bridges(ctx)
		if err == nil {
			return nil
		}
		a.log().Warn("network agent: bridges", "err", err)
		select {
		case <-ctx.Done():
			a.db.Close()
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// watchSwitch pokes the loop when the switch's database changes (a VIF
// plugged or unplugged, a reconnection) and, for the agent's own switch,
// when ovs-vswitchd is no longer running: the next Sync starts it again
// and puts back every flow it lost.
func (a *Agent) watchSwitch(ctx context.Context, wake chan<- struct{}) {
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	running := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.db.Changed():
			poke()
		case <-tick.C:
			if a.Config.OVSDir == "" {
				continue
			}
			_, sw := a.daemons.PID("ovs-vswitchd")
			_, db := a.daemons.PID("ovsdb-server")
			up := sw && db
			if !up && running {
				a.log().Warn("network agent: Open vSwitch is not running; starting it again", "ovs-vswitchd", sw, "ovsdb-server", db)
				poke()
			}
			running = up
		}
	}
}

// retrySoon pokes the loop in a few seconds, for work a sync left
// unfinished that no change would bring back.
func (a *Agent) retrySoon() {
	if a.wake == nil {
		return
	}
	time.AfterFunc(3*time.Second, func() {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	})
}

// ensureSwitch starts the agent's own ovsdb-server or ovs-vswitchd
// again if one has stopped.
func (a *Agent) ensureSwitch(ctx context.Context) error {
	if a.Config.OVSDir == "" {
		return nil
	}
	_, db := a.daemons.PID("ovsdb-server")
	_, sw := a.daemons.PID("ovs-vswitchd")
	if db && sw {
		return nil
	}
	if _, err := ovs.Start(ctx, a.Config.OVSDir); err != nil {
		return fmt.Errorf("network agent: %w", err)
	}
	return nil
}

// report tells the controller the agent is alive, and its VTEP.
func (a *Agent) report(ctx context.Context) error {
	base, err := a.networkURL(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	start := !a.reported
	a.mu.Unlock()
	body := map[string]any{"agent": map[string]any{
		"agent_type": network.OVSAgent, "binary": Binary, "topic": "N/A", "start": start,
		"tunnel_ip": addrOrEmpty(a.Config.TunnelIP),
		"configurations": map[string]any{
			"tunnel_types": []string{"vxlan"}, "l2_population": true, "arp_responder_enabled": true,
			"datapath_type": a.Config.DatapathType, "integration_bridge": a.Config.IntegrationBridge,
			"bridge_mappings": a.Config.BridgeMappings, "dhcp": a.Config.DHCP, "l3": a.Config.L3,
		},
	}}
	if err := a.Session.Do(ctx, "PUT", base+"/internal/hosts/"+url.PathEscape(a.Config.Host)+"/agent", body, nil); err != nil {
		return err
	}
	a.mu.Lock()
	a.reported = true
	a.mu.Unlock()
	return nil
}

func addrOrEmpty(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.Addr().String()
}

func (a *Agent) networkURL(ctx context.Context) (string, error) {
	if a.NetworkURL != "" {
		return strings.TrimSuffix(a.NetworkURL, "/"), nil
	}
	return a.Session.Endpoint(ctx, "network")
}

// Sync reads the host's desired state and makes Open vSwitch match it:
// bridges, tunnel ports, port tags and flows, changing only what differs;
// then it reports the ports it plumbed ACTIVE and those it could not
// DOWN. It returns the feed revision of the state it read.
func (a *Agent) Sync(ctx context.Context) (int64, error) {
	start := time.Now()
	base, err := a.networkURL(ctx)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	reported := a.reported
	a.mu.Unlock()
	if !reported { // the VTEP must be known before others tunnel to us
		if err := a.report(ctx); err != nil {
			return 0, err
		}
	}
	if err := a.ensureSwitch(ctx); err != nil {
		return 0, err
	}
	var st network.HostState
	if err := a.Session.Do(ctx, "GET", base+"/internal/hosts/"+url.PathEscape(a.Config.Host), nil, &st); err != nil {
		return 0, err
	}
	stats := SyncStats{Revision: st.Revision, Ports: len(st.Ports), Networks: len(st.Networks), Remotes: len(st.Remotes)}
	stats.Read = time.Since(start)
	if err := a.bridges(ctx); err != nil {
		return 0, err
	}
	l := &layout{state: &st, networks: map[string]network.Network{}, tunnels: map[netip.Addr]int{}, vifs: map[string]int{}}
	for _, n := range st.Networks {
		l.networks[n.ID] = n
	}
	if err := a.tunnelPorts(ctx, l); err != nil {
		return 0, err
	}
	stats.TunnelsUp = len(l.tunnels)
	crashpoint.Hit("network.agent.tunnels")
	if err := a.physicalPorts(ctx, l); err != nil {
		return 0, err
	}
	// DHCP first: its veths are VIFs localPorts then tags. A DHCP service
	// that fails does not hold up the ports; the next sync retries it.
	if _, err := a.dhcpServices(ctx, base, &st); err != nil {
		a.log().Warn("network agent: DHCP", "err", err)
		defer a.retrySoon()
	}
	// Routers too, before the tags: their veths are VIFs localPorts then
	// tags. A router that fails does not hold up the ports; it is retried.
	if err := a.routers(ctx, base, l); err != nil {
		a.log().Warn("network agent: routers", "err", err)
		defer a.retrySoon()
	}
	plumbed, tags, err := a.localPorts(ctx, l)
	if err != nil {
		return 0, err
	}
	stats.Switch = time.Since(start) - stats.Read
	cookie := cookieOwner | a.generation
	if stats.Tunnel, err = a.tunFlows.Sync(ctx, l.tunnelFlows(), cookie, cookieMask); err != nil {
		return 0, err
	}
	crashpoint.Hit("network.agent.tunnel-flows")
	if stats.Integ, err = a.intFlows.Sync(ctx, l.integrationFlows(), cookie, cookieMask); err != nil {
		return 0, err
	}
	for physnet, br := range a.Config.BridgeMappings {
		if _, err := a.physFlows[br].Sync(ctx, l.physicalFlows(physnet), cookie, cookieMask); err != nil {
			return 0, err
		}
	}
	stats.Flows = time.Since(start) - stats.Read - stats.Switch
	crashpoint.Hit("network.agent.flows")
	// The tags last, as Neutron orders it: a VIF joins its network's
	// local VLAN only once the flows of that VLAN are this network's (a
	// VLAN freed and handed to another network in one sync never carries
	// the new VIF's traffic under the old network's flows).
	if len(tags) > 0 {
		if err := a.db.SetTags(ctx, tags); err != nil {
			return 0, err
		}
	}
	crashpoint.Hit("network.agent.tagged")
	// Flows are in: the ports with a tagged VIF are plumbed.
	want := map[string]string{}
	for _, p := range st.Ports {
		status := network.Down
		if plumbed[p.ID] {
			status = network.Active
			stats.Plumbed++
		}
		if p.Status != status {
			want[p.ID] = status
		}
	}
	if len(want) > 0 {
		if err := a.Session.Do(ctx, "PUT", base+"/internal/hosts/"+url.PathEscape(a.Config.Host)+"/ports",
			map[string]any{"ports": want}, nil); err != nil {
			return 0, err
		}
	}
	stats.Reported = len(want)
	stats.Took = time.Since(start)
	if a.Synced != nil {
		a.Synced(stats)
	}
	first := !a.synced
	a.synced = true
	if first || stats.Reported > 0 || stats.Tunnel.Added+stats.Tunnel.Modified+stats.Tunnel.Deleted > 0 {
		a.log().Info("network agent: synced", "first", first, "revision", st.Revision, "ports", stats.Ports, "plumbed", stats.Plumbed,
			"reported", stats.Reported, "flows_added", stats.Tunnel.Added+stats.Integ.Added,
			"flows_deleted", stats.Tunnel.Deleted+stats.Integ.Deleted, "flows_kept", stats.Tunnel.Kept+stats.Integ.Kept, "took", stats.Took,
			"read", stats.Read, "switch", stats.Switch, "flows", stats.Flows)
	}
	return st.Revision, nil
}

// bridges makes br-int, br-tun (with their patch) and, for the userspace
// datapath with a tunnel address, br-phy with the uplink and the VTEP
// address.
func (a *Agent) bridges(ctx context.Context) error {
	c := a.Config
	secure := ovs.BridgeOptions{DatapathType: c.DatapathType, FailMode: "secure",
		Protocols: []string{"OpenFlow10", "OpenFlow13", "OpenFlow14", "OpenFlow15"}}
	for _, br := range []string{c.IntegrationBridge, c.TunnelBridge} {
		if err := a.db.EnsureBridge(ctx, br, secure); err != nil {
			return err
		}
	}
	if err := a.db.EnsurePort(ctx, c.IntegrationBridge, ovs.Port{Name: "patch-tun", Type: "patch",
		Options: map[string]string{"peer": "patch-int"}}); err != nil {
		return err
	}
	if err := a.db.EnsurePort(ctx, c.TunnelBridge, ovs.Port{Name: "patch-int", Type: "patch",
		Options: map[string]string{"peer": "patch-tun"}}); err != nil {
		return err
	}
	for _, br := range sortedValues(c.BridgeMappings) {
		if err := a.db.EnsureBridge(ctx, br, secure); err != nil {
			return err
		}
		intName, phyName := patchNames(br)
		if err := a.db.EnsurePort(ctx, c.IntegrationBridge, ovs.Port{Name: intName, Type: "patch",
			Options: map[string]string{"peer": phyName}}); err != nil {
			return err
		}
		if err := a.db.EnsurePort(ctx, br, ovs.Port{Name: phyName, Type: "patch",
			Options: map[string]string{"peer": intName}}); err != nil {
			return err
		}
		if p, ok := c.BridgeAddrs[br]; ok {
			if err := hostAddress(br, p); err != nil {
				return err
			}
		}
	}
	if c.DatapathType != "netdev" || !c.TunnelIP.IsValid() {
		return nil
	}
	if err := a.db.EnsureBridge(ctx, c.PhysicalBridge, ovs.BridgeOptions{DatapathType: c.DatapathType}); err != nil {
		return err
	}
	if c.Uplink != "" {
		if err := a.db.EnsurePort(ctx, c.PhysicalBridge, ovs.Port{Name: c.Uplink}); err != nil {
			return err
		}
	}
	return hostAddress(c.PhysicalBridge, c.TunnelIP)
}

// patchNames are the patch pair between br-int and a mapped bridge, as
// Neutron names them, cut to the 15 bytes of a device name.
func patchNames(bridge string) (onInt, onPhys string) {
	cut := func(s string) string {
		if len(s) > 15 {
			return s[:15]
		}
		return s
	}
	return cut("int-" + bridge), cut("phy-" + bridge)
}

// physicalPorts records the OpenFlow numbers of the patch pairs to the
// mapped bridges.
func (a *Agent) physicalPorts(ctx context.Context, l *layout) error {
	l.phys = map[string]physPorts{}
	for physnet, br := range a.Config.BridgeMappings {
		intName, phyName := patchNames(br)
		onInt, err := a.db.WaitOFPort(ctx, intName)
		if err != nil {
			return err
		}
		onPhys, err := a.db.WaitOFPort(ctx, phyName)
		if err != nil {
			return err
		}
		l.phys[physnet] = physPorts{onInt: onInt, onPhys: onPhys}
	}
	return nil
}

// tunnelPorts makes br-tun hold one VXLAN port per remote VTEP with
// ports on this host's networks, and no other, and records their
// OpenFlow numbers.
func (a *Agent) tunnelPorts(ctx context.Context, l *layout) error {
	c := a.Config
	want := map[string]netip.Addr{}
	for _, r := range l.state.Remotes {
		if r.TunnelIP.IsValid() && (!c.TunnelIP.IsValid() || r.TunnelIP != c.TunnelIP.Addr()) {
			want[tunnelPortName(r.TunnelIP)] = r.TunnelIP
		}
	}
	for name, ip := range want {
		opts := map[string]string{"remote_ip": ip.String(), "in_key": "flow", "out_key": "flow"}
		if c.TunnelIP.IsValid() {
			opts["local_ip"] = c.TunnelIP.Addr().String()
		}
		if err := a.db.EnsurePort(ctx, c.TunnelBridge, ovs.Port{Name: name, Type: "vxlan", Options: opts}); err != nil {
			// One bad remote endpoint costs its own tunnel, not the host.
			a.log().Warn("network agent: tunnel", "remote", ip, "err", err)
			delete(want, name)
		}
	}
	for _, ifc := range a.db.Interfaces(c.TunnelBridge) {
		if ifc.Type == "vxlan" && want[ifc.Name] == (netip.Addr{}) {
			if err := a.db.DeletePort(ctx, c.TunnelBridge, ifc.Name); err != nil {
				return err
			}
		}
	}
	for name, ip := range want {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := a.db.WaitOFPort(wctx, name)
		cancel()
		if err != nil {
			a.log().Warn("network agent: tunnel", "remote", ip, "err", err)
			continue
		}
		l.tunnels[ip] = n
	}
	n, err := a.db.WaitOFPort(ctx, "patch-int")
	if err != nil {
		return err
	}
	l.patchInt = n
	return nil
}

// localPorts works out the tags of the VIFs on br-int: a VIF of a port
// bound here gets its network's local VLAN, any other the dead VLAN (and
// a drop of all it sends, as Neutron's port_dead: a port's tag does not
// bind the flow tables). It returns the ports whose VIF will be attached
// and tagged, and the tags to write once the flows are in.
func (a *Agent) localPorts(ctx context.Context, l *layout) (map[string]bool, map[string]int, error) {
	c := a.Config
	ports := map[string]network.Port{}
	for _, p := range l.state.Ports {
		ports[p.ID] = p
	}
	vifs := a.db.Interfaces(c.IntegrationBridge)
	have := map[string]int{} // network → the tag its VIFs carry now
	for _, ifc := range vifs {
		if p, ok := ports[ifc.ExternalIDs["iface-id"]]; ok && ifc.Tag > 0 && ifc.Tag != deadVLAN {
			have[p.NetworkID] = ifc.Tag
		}
	}
	lvid, err := assignVLANs(l.state.Networks, have)
	if err != nil {
		return nil, nil, err
	}
	l.lvid = lvid
	plumbed := map[string]bool{}
	tags := map[string]int{}
	for _, ifc := range vifs {
		id := ifc.ExternalIDs["iface-id"]
		if id == "" {
			continue
		}
		p, ok := ports[id]
		tag := deadVLAN
		if ok && p.AdminStateUp && l.networks[p.NetworkID].AdminStateUp {
			tag = lvid[p.NetworkID]
		}
		if ifc.Tag != tag {
			tags[ifc.Name] = tag
		}
		if tag != deadVLAN && ifc.OFPort > 0 {
			plumbed[id] = true
			l.vifs[id] = ifc.OFPort
		} else if tag == deadVLAN && ifc.OFPort > 0 {
			l.dead = append(l.dead, ifc.OFPort)
		}
	}
	return plumbed, tags, nil
}

// Cookie is the cookie this agent generation gives the flows it adds.
func (a *Agent) Cookie() uint64 { return cookieOwner | a.generation }
