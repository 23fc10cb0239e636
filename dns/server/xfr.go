package server

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// xfrChunk is the uncompressed size at which a transfer message is sent
// and the next begun; well under the 64 KiB a TCP message may hold.
const xfrChunk = 16 << 10

// transfer answers AXFR, and IXFR with a full zone (RFC 1995 4 allows it
// when no history is kept), to allowed clients over TCP only.
func (s *Server) transfer(w dns.ResponseWriter, req *dns.Msg, r *reply) {
	m := &r.msg
	q := req.Question[0]
	if !s.transferAllowed(w, req) {
		m.Rcode = dns.RcodeRefused // RFC 5936 4.2
		s.write(w, req, r)
		return
	}
	z := s.src.Zones().byNameLower(q.Name)
	if z == nil {
		m.Rcode = dns.RcodeNotAuth // RFC 5936 2.2.1
		s.write(w, req, r)
		return
	}
	m.Authoritative = true
	if q.Qtype == dns.TypeIXFR && (upToDate(req, z.soa.Serial) || isUDP(w)) {
		// RFC 1995 2 and 4: the current SOA alone means "up to date", or
		// over UDP "ask again over TCP".
		m.Answer = append(m.Answer, z.soa)
		s.write(w, req, r)
		return
	}
	if isUDP(w) {
		m.Rcode = dns.RcodeFormatError // AXFR is TCP only (RFC 5936 4.2)
		m.Authoritative = false
		s.write(w, req, r)
		return
	}
	if err := s.sendZone(w, req, z); err != nil {
		s.logf("dns/server: transfer %s to %s: %v", z.name, w.RemoteAddr(), err)
	}
}

// upToDate reports whether an IXFR's SOA serial is at least ours
// (serial arithmetic, RFC 1982).
func upToDate(req *dns.Msg, serial uint32) bool {
	for _, rr := range req.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return int32(soa.Serial-serial) >= 0
		}
	}
	return false
}

// sendZone streams SOA, every other record, SOA again, in messages of
// about xfrChunk bytes, each signed when the request was (RFC 8945 5.3.1).
func (s *Server) sendZone(w dns.ResponseWriter, req *dns.Msg, z *zone) error {
	t := req.IsTsig()
	first := true
	send := func(rrs []dns.RR) error {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Compress = true
		m.Answer = rrs
		if t != nil {
			m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
		}
		if err := w.WriteMsg(m); err != nil {
			return err
		}
		if first && t != nil {
			w.TsigTimersOnly(true)
		}
		first = false
		return nil
	}
	batch := []dns.RR{z.soa}
	size := dns.Len(z.soa)
	for _, rr := range z.records {
		if rr.Header().Rrtype == dns.TypeSOA {
			continue
		}
		if size > xfrChunk {
			if err := send(batch); err != nil {
				return err
			}
			batch, size = nil, 0
		}
		batch = append(batch, rr)
		size += dns.Len(rr)
	}
	return send(append(batch, z.soa))
}

// transferAllowed reports whether an entry of Config.Transfer, or of
// Config.ZoneTransfer for the zone asked for, matches the request.
func (s *Server) transferAllowed(w dns.ResponseWriter, req *dns.Msg) bool {
	addr := remoteAddr(w)
	key := ""
	if t := req.IsTsig(); t != nil && w.TsigStatus() == nil {
		key = strings.ToLower(t.Hdr.Name)
	}
	if matchACL(s.cfg.Transfer, addr, key) {
		return true
	}
	return s.cfg.ZoneTransfer != nil && matchACL(s.cfg.ZoneTransfer(strings.ToLower(req.Question[0].Name)), addr, key)
}

func matchACL(acls []ACL, addr netip.Addr, key string) bool {
	for _, a := range acls {
		if a.Prefix.IsValid() && !a.Prefix.Contains(addr) {
			continue
		}
		if a.Key != "" && dns.CanonicalName(a.Key) != key {
			continue
		}
		return true
	}
	return false
}

func remoteAddr(w dns.ResponseWriter) netip.Addr {
	var ip net.IP
	switch a := w.RemoteAddr().(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
