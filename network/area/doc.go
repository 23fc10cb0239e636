// Package area plugs the network service (Neutron v2.0: networks,
// subnets and ports) into a kit/compose daemon: its config section
// ("network"), its schema, and its API behind the identity area's token
// validation. It needs the identity area. The host agent, which will
// plumb what the API stores, is not part of it yet.
package area
