package l3

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// natTable is the nftables table (family ip) of a router's namespace.
const natTable = "gostack-router"

// applyNAT replaces the namespace's NAT table with r's rules in one
// nftables transaction (add, delete, add: atomic, so no packet sees a
// half-written table and established connections keep their
// translations):
//
//	prerouting (dnat)   ip daddr FIP dnat to FIXED          for each floating IP
//	output (dnat)       ip daddr FIP dnat to FIXED          (the router's own traffic)
//	postrouting (snat)  ip saddr FIXED snat to FIP           for each floating IP
//	                    iifname != qg ct status dnat snat to GW   (hairpin: an inside host through a floating IP)
//	                    oifname qg snat to GW                with SNAT on
//
// A router without a gateway has an empty table.
func applyNAT(ns netns.NsHandle, r Router) error {
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return fmt.Errorf("l3: nftables: %w", err)
	}
	defer c.CloseLasting()
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: natTable}
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	chain := func(name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio})
	}
	pre := chain("prerouting", nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	out := chain("output", nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	post := chain("postrouting", nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	if g := r.Gateway; g != nil {
		for _, f := range r.FloatingIPs {
			for _, ch := range []*nftables.Chain{pre, out} {
				c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: concat(matchAddr(16, f.External), nat(expr.NATTypeDestNAT, f.Fixed))})
			}
			c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: concat(matchAddr(12, f.Fixed), nat(expr.NATTypeSourceNAT, f.External))})
		}
		if gw, ok := gatewayV4(g); ok {
			c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: concat(matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, g.Device),
				ctDNAT(), nat(expr.NATTypeSourceNAT, gw))})
			if r.SNAT {
				c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: concat(matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, g.Device),
					nat(expr.NATTypeSourceNAT, gw))})
			}
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("l3: nftables: %w", err)
	}
	return nil
}

// gatewayV4 is the first IPv4 address of the gateway port.
func gatewayV4(g *Gateway) (netip.Addr, bool) {
	for _, p := range g.Addrs {
		if p.Addr().Is4() {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// matchAddr compares the IPv4 header's address at offset (12 source, 16
// destination) with a.
func matchAddr(offset uint32, a netip.Addr) []expr.Any {
	b := a.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]},
	}
}

// matchIfname compares the input or output interface name.
func matchIfname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// ctDNAT matches connections that were destination-NATed.
func ctDNAT() []expr.Any {
	mask, zero := make([]byte, 4), make([]byte, 4)
	binary.NativeEndian.PutUint32(mask, 0x20) // IPS_DST_NAT
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: zero},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: zero},
	}
}

// nat translates to a.
func nat(typ expr.NATType, a netip.Addr) []expr.Any {
	b := a.As4()
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: b[:]},
		&expr.NAT{Type: typ, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegAddrMax: 1},
	}
}
