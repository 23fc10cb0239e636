package server

import (
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// reply is a pooled response: the message, its OPT record and backing
// arrays for the sections, so a typical answer allocates little.
type reply struct {
	msg               dns.Msg
	opt               dns.OPT
	ans, ns, extra    [8]dns.RR
	question          [1]dns.Question
	buf               []byte
	signKey, signAlgo string
	ede               dns.EDNS0_EDE
	options           [1]dns.EDNS0
	notAuth           bool // REFUSED because no zone holds the name
}

func (s *Server) getReply(req *dns.Msg) *reply {
	r := s.pool.Get().(*reply)
	m := &r.msg
	m.Id = req.Id
	m.Response = true
	m.Opcode = req.Opcode
	m.RecursionDesired = req.RecursionDesired
	m.CheckingDisabled = req.CheckingDisabled
	m.Compress = true
	m.Answer, m.Ns, m.Extra = r.ans[:0], r.ns[:0], r.extra[:0]
	if len(req.Question) > 0 {
		r.question[0] = req.Question[0]
		m.Question = r.question[:]
	}
	return r
}

func (s *Server) putReply(r *reply) {
	clear(r.ans[:])
	clear(r.ns[:])
	clear(r.extra[:])
	r.msg = dns.Msg{}
	r.opt.Option = nil
	r.signKey, r.signAlgo = "", ""
	r.notAuth = false
	if cap(r.buf) > 4096 {
		r.buf = nil
	}
	s.pool.Put(r)
}

// ServeDNS answers one request. The miekg/dns server has already
// rejected packets it cannot parse (FORMERR), responses (dropped) and
// opcodes other than QUERY and NOTIFY (NOTIMP), and checked TSIG.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	r := s.getReply(req)
	defer s.putReply(r)
	m := &r.msg
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		s.write(w, req, r)
		return
	}
	if t := req.IsTsig(); t != nil {
		if w.TsigStatus() != nil {
			s.writeTSIGError(w, req, r, t)
			return
		}
		r.signKey, r.signAlgo = t.Hdr.Name, t.Algorithm
	}
	opt, ok := requestOPT(req)
	if !ok {
		m.Rcode = dns.RcodeFormatError
		s.write(w, req, r)
		return
	}
	if opt != nil && opt.Version() != 0 {
		m.Rcode = dns.RcodeBadVers // RFC 6891 6.1.3
		s.write(w, req, r)
		return
	}
	switch req.Opcode {
	case dns.OpcodeQuery:
		s.query(w, req, r)
	case dns.OpcodeNotify:
		s.notifyReceived(w, req, m)
		s.write(w, req, r)
	default:
		m.Rcode = dns.RcodeNotImplemented
		s.write(w, req, r)
	}
}

// query answers an ordinary query or hands a transfer request on.
func (s *Server) query(w dns.ResponseWriter, req *dns.Msg, r *reply) {
	m := &r.msg
	q := req.Question[0]
	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		s.transfer(w, req, r)
		return
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY:
		m.Rcode = dns.RcodeFormatError
	case dns.TypeMAILA, dns.TypeMAILB:
		m.Rcode = dns.RcodeNotImplemented
	default:
		switch q.Qclass {
		case dns.ClassINET, dns.ClassANY:
			resolve(s.src.Zones(), q.Name, q.Qtype, m)
			r.notAuth = m.Rcode == dns.RcodeRefused
		default:
			m.Rcode = dns.RcodeRefused
		}
	}
	s.write(w, req, r)
}

// notifyReceived acknowledges a NOTIFY that Config.Notified takes (a
// secondary zone's master), or one for a zone we hold; any other is
// NOTAUTH.
func (s *Server) notifyReceived(w dns.ResponseWriter, req *dns.Msg, m *dns.Msg) {
	zone := strings.ToLower(req.Question[0].Name)
	if s.cfg.Notified != nil && s.cfg.Notified(zone, remoteAddr(w)) {
		m.Authoritative = true
		return
	}
	if s.src.Zones().byNameLower(zone) == nil {
		m.Rcode = dns.RcodeNotAuth
		return
	}
	m.Authoritative = true
}

func (z *Zones) byNameLower(name string) *zone {
	if z == nil {
		return nil
	}
	return z.byName[strings.ToLower(name)]
}

// requestOPT returns the request's OPT record; ok is false when there is
// more than one (RFC 6891 6.1.1).
func requestOPT(req *dns.Msg) (opt *dns.OPT, ok bool) {
	for _, rr := range req.Extra {
		if o, is := rr.(*dns.OPT); is {
			if opt != nil {
				return nil, false
			}
			opt = o
		}
	}
	return opt, true
}

func isUDP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.UDPAddr)
	return ok
}

// write finishes the response (OPT, size limit, TSIG) and sends it.
func (s *Server) write(w dns.ResponseWriter, req *dns.Msg, r *reply) {
	m := &r.msg
	limit := dns.MaxMsgSize
	reqOPT, _ := requestOPT(req)
	if reqOPT != nil {
		r.opt.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}
		r.opt.SetUDPSize(s.cfg.UDPSize)
		if reqOPT.Do() {
			r.opt.SetDo()
		}
		if r.notAuth {
			// RFC 8914 4.21, as Knot DNS adds it.
			r.ede = dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeNotAuthoritative}
			r.options[0] = &r.ede
			r.opt.Option = r.options[:]
		}
		m.Extra = append(m.Extra, &r.opt)
	}
	if isUDP(w) {
		limit = dns.MinMsgSize
		if reqOPT != nil {
			limit = int(min(max(reqOPT.UDPSize(), dns.MinMsgSize), s.cfg.UDPSize))
		}
	}
	if r.signKey != "" {
		limit -= tsigSize(r.signKey, r.signAlgo)
	}
	if m.Rcode > 0xF && reqOPT == nil {
		m.Rcode = dns.RcodeFormatError
	}
	b, err := m.PackBuffer(r.buf[:cap(r.buf)])
	if err == nil && len(b) > limit {
		truncate(m, limit)
		b, err = m.PackBuffer(b)
	}
	if err == nil {
		r.buf = b
		if r.signKey != "" {
			m.SetTsig(r.signKey, r.signAlgo, 300, time.Now().Unix())
			err = w.WriteMsg(m)
		} else {
			_, err = w.Write(b)
		}
	}
	if err != nil {
		s.logf("dns/server: write response to %s: %v", w.RemoteAddr(), err)
	}
}

// tsigSize is room kept for the TSIG record signing adds.
func tsigSize(key, algo string) int {
	return len(key) + len(algo) + 2 + 10 + 16 + 64 + 6 + 16
}

// truncate fits m into limit bytes the way Knot DNS does: additional
// RRsets that do not fit are left out silently; if an answer or
// authority RRset does not fit, it and everything after it go and TC is
// set so the client retries over TCP (RFC 2181 9, RFC 1035 4.2.1).
func truncate(m *dns.Msg, limit int) {
	var opt dns.RR
	if o := m.IsEdns0(); o != nil {
		opt = o
	}
	extra := m.Extra[:0]
	for _, rr := range m.Extra {
		if rr != opt {
			extra = append(extra, rr)
		}
	}
	for n := len(extra); n >= 0; n = setStart(extra, n) {
		m.Extra = append(extra[:n:n], nonNil(opt)...)
		if m.Len() <= limit {
			return
		}
		if n == 0 {
			break
		}
	}
	m.Truncated = true
	m.Extra = nonNil(opt)
	ans, ns := m.Answer, m.Ns
	for n := len(ns); n >= 0; n = setStart(ns, n) {
		m.Ns = ns[:n]
		if m.Len() <= limit {
			return
		}
		if n == 0 {
			break
		}
	}
	for n := len(ans); n >= 0; n = setStart(ans, n) {
		m.Answer = ans[:n]
		if m.Len() <= limit {
			return
		}
		if n == 0 {
			break
		}
	}
}

// setStart returns where the RRset ending at rrs[n-1] starts.
func setStart(rrs []dns.RR, n int) int {
	if n == 0 {
		return 0
	}
	h := rrs[n-1].Header()
	i := n - 1
	for i > 0 {
		p := rrs[i-1].Header()
		if p.Rrtype != h.Rrtype || !strings.EqualFold(p.Name, h.Name) {
			break
		}
		i--
	}
	return i
}

func nonNil(rr dns.RR) []dns.RR {
	if rr == nil {
		return nil
	}
	return []dns.RR{rr}
}

// writeTSIGError answers a request whose TSIG failed: NOTAUTH and an
// unsigned TSIG carrying the error (RFC 8945 5.3.2).
func (s *Server) writeTSIGError(w dns.ResponseWriter, req *dns.Msg, r *reply, t *dns.TSIG) {
	m := &r.msg
	m.Rcode = dns.RcodeNotAuth
	code := uint16(dns.RcodeBadSig)
	if _, ok := s.key(t.Hdr.Name); !ok {
		code = dns.RcodeBadKey
	} else if w.TsigStatus() == dns.ErrTime {
		code = dns.RcodeBadTime
	}
	m.Extra = append(m.Extra, &dns.TSIG{
		Hdr:        dns.RR_Header{Name: t.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm:  dns.Fqdn(t.Algorithm),
		TimeSigned: t.TimeSigned,
		Fudge:      t.Fudge,
		OrigId:     req.Id,
		Error:      code,
	})
	b, err := m.Pack()
	if err == nil {
		_, err = w.Write(b)
	}
	if err != nil {
		s.logf("dns/server: write response to %s: %v", w.RemoteAddr(), err)
	}
}
