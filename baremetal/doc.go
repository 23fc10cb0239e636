// Package baremetal will hold gostack's bare-metal area: nodes, ports and
// their provisioning state machine, with their Store.
//
// Planned building blocks: baremetal/redfish (gofish), baremetal/ipmi
// (go-ipmi), baremetal/pxe (DHCP, TFTP, iPXE, HTTP boot),
// baremetal/ramdisk (u-root deploy images), a deploy agent, a virtual BMC,
// and baremetal/api (Ironic v1-compatible).
//
// Nothing here works yet: the area lands with its own issue. Until then
// the all-in-one daemon does not open the baremetal port (6385).
package baremetal
