// Package ovs drives Open vSwitch on one host for the network agent: it
// starts a private ovsdb-server and ovs-vswitchd (or uses the system's),
// keeps bridges and ports as wanted through OVSDB, and keeps each bridge's
// OpenFlow flows exactly as wanted through ovs-ofctl bundles.
//
// # Daemons
//
// Start runs the two daemons detached, with their own run directory (the
// database, db.sock, pid files, logs and each bridge's <bridge>.mgmt
// OpenFlow socket), so they outlive the agent: restarting the agent never
// interrupts traffic, and the next Start finds them again by their socket
// and pid file. ovs-vswitchd runs with --disable-system, the userspace
// ("netdev") datapath only, which needs no kernel module: bridges are
// created with DatapathType "netdev". Daemons.Env and Daemons.Runner reach
// the instance with ovs-vsctl, ovs-ofctl and ovs-appctl; System returns
// the host's own Open vSwitch when one runs.
//
// The daemons start in the network namespace of the calling thread, and
// ovs-vswitchd creates its devices there: the datapath's tap device
// ovs-netdev and one persistent tap per internal port. Two userspace
// datapaths cannot share a namespace (the second fails on ovs-netdev), so
// tests run their instance in a namespace of their own (ovstest.Start).
//
// # OVSDB
//
// Client speaks OVSDB (RFC 7047) through github.com/ovn-kubernetes/libovsdb
// with hand-written models of the few columns used, monitored into a
// cache: Interfaces answers without a round trip, Changed wakes an agent
// when anything it reads changes (including ovs-vsctl behind its back, a
// reconnection, and a restarted ovs-vswitchd, which is seen through its
// pid file because it writes nothing new to the database). EnsureBridge
// and EnsurePort compare with the cache and send one transaction with
// only the columns that differ, or none at all when everything is right,
// then wait until the cache shows the change. Each write raises next_cfg
// as ovs-vsctl does, so WaitSwitch can wait for ovs-vswitchd to have
// applied it. No ovs-vsctl output is parsed.
//
// # OpenFlow
//
// OpenFlow runs ovs-ofctl through an injected Runner, always speaking
// OpenFlow 1.5 (-O OpenFlow15), rather than speaking OpenFlow natively
// (antrea's ofnet/libOpenflow):
//
//   - Bundles. ovs-ofctl --bundle sends a whole change as one OpenFlow 1.4+
//     bundle that the switch commits atomically: a refused flow leaves the
//     table untouched, and traffic never sees half a change (deletes and
//     adds of one Sync land together).
//   - One syntax. The flows in the code, in Sync's errors and in an
//     operator's ovs-ofctl dump-flows are written the same way; Neutron's
//     flow tables translate line by line.
//   - Nothing long-lived. No OpenFlow connection to keep alive, reconnect
//     or resynchronise after ovs-vswitchd restarts; every call connects
//     to <bridge>.mgmt afresh. No native library has OVS's NXM extensions
//     (learn, ct, conjunction, resubmit) as complete as ovs-ofctl.
//   - The cost is one exec per call, measured by BenchmarkSync on a
//     two-core VM: about 4 ms for an ovs-ofctl that does nothing, 13 ms
//     for a Sync of 1,000 flows that finds them right (one dump-flows),
//     45 ms for the first Sync of 1,000 flows in a process (parse-flows,
//     dump-flows, one bundle of 1,000 adds). An agent syncs on change, not
//     in a hot loop.
//
// # Comparing flows
//
// Sync keeps a flow that is already right untouched (no delete and
// re-add: its counters, duration and older-generation cookie stay), so it
// must tell whether a wanted flow is present. ovs-ofctl prints flows in
// its own canonical form, not as written: "dl_type=0x0800" is "ip",
// "mod_vlan_vid:3" is "set_field:4099->vlan_vid" (or "push_vlan:0x8100,
// set_field:4099->vlan_vid" on an untagged match), "3" is "output:3",
// "load:5->NXM_NX_REG0[]" is "set_field:0x5->reg0", fields come in OVS's
// order, prerequisites are added. Rewriting that in Go would be a second,
// always incomplete, copy of OVS's flow parser. Instead Sync learns the
// form from OVS itself: ovs-ofctl parse-flows parses each wanted flow
// offline, with the same code that reads add-flows, and prints it with the
// same code that prints dump-flows (the command is undocumented but part
// of ovs-ofctl since 1.x and used by OVS's own test suite;
// TestCanonicalIsDumpForm checks the two forms agree on Neutron-style
// flows). The answers are remembered by the OpenFlow value, so a Sync that
// finds everything right runs only dump-flows; a new process pays one
// parse-flows run, touches no switch, and still keeps every flow that was
// right. Canonical exposes the same, so an agent's tests can insist its
// flows are written as OVS prints them. Ports must be named by number in
// flows: names are resolved by the switch, which parse-flows has not.
//
// A wanted flow present with other actions is changed with modify_strict,
// in place; OpenFlow 1.2 and later cannot change a cookie on a modify,
// so such a flow keeps its older cookie (it is still "ours": ownership is
// cookie&mask).
//
// # What it does not do
//
// It does not create the devices it attaches (veth pairs and taps are the
// caller's; internal, patch and tunnel ports are made by ovs-vswitchd), set
// addresses or routes (network/l3), run a kernel-datapath Open vSwitch
// (ovs-ctl and the kernel module are left alone), manage OVN, groups,
// meters, QoS, mirrors or controllers, or parse ovs-vsctl output. It does
// not speak OpenFlow natively, and it does not order concurrent Syncs of
// one bridge: one agent loop owns each bridge.
package ovs
