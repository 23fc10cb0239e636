package server

import (
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"slices"
	"sync"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The batched UDP path. miekg/dns's server reads one packet per recvmsg,
// starts a goroutine for it and answers with one sendmsg; on loopback the
// sendmsg (and the wake-up of the client it causes) was 56% of the CPU
// profile under dnsperf. Here each worker reads up to udpBatch packets
// with one recvmmsg, answers them in turn and sends the answers with one
// sendmmsg, as Knot DNS does. It is used when the socket is a *net.UDPConn
// bound to a specific address, so that the answers leave from the address
// the queries came to; other sockets (an unspecified address, a
// PacketConn of another kind) take miekg/dns's path.
const (
	udpBatch   = 16
	udpReadBuf = 4096 // bytes of a query read (the rest is cut, as miekg/dns's server does)
)

// batchConn is what ipv4.PacketConn and ipv6.PacketConn share.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchable returns the batch reader/writer for pc, or nil when pc must
// take miekg/dns's path.
func batchable(pc net.PacketConn) batchConn {
	c, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	la, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok || la.IP == nil || la.IP.IsUnspecified() {
		return nil
	}
	if la.IP.To4() != nil {
		return ipv4.NewPacketConn(c)
	}
	return ipv6.NewPacketConn(c)
}

// startUDP serves a batchable socket with one worker per CPU the Go
// runtime uses; the workers share the socket (the kernel hands each
// recvmmsg the packets waiting). Stopping closes the socket: each worker
// finishes the batch in hand and ends.
func (s *Server) startUDP(pc net.PacketConn, bc batchConn) *run {
	r := &run{started: make(chan struct{}), done: make(chan struct{}), close: pc.Close}
	close(r.started)
	var wg sync.WaitGroup
	var once sync.Once
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			if err := s.serveBatches(pc.LocalAddr(), bc); err != nil {
				once.Do(func() { r.err = err })
			}
		})
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	return r
}

// serveBatches is one worker. It returns nil when the socket is closed.
func (s *Server) serveBatches(local net.Addr, bc batchConn) error {
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, udpBatch)
	bufs := make([][]byte, udpBatch) // answer buffers, kept between batches
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, udpReadBuf)}
		out[i].Buffers = [][]byte{nil}
		bufs[i] = make([]byte, 0, 512)
	}
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		k := 0
		for _, m := range in[:n] {
			remote, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			ans := s.answerPacket(m.Buffers[0][:m.N], local, remote, bufs[k][:0])
			if ans == nil {
				continue
			}
			bufs[k] = ans
			out[k].Buffers[0], out[k].Addr = ans, remote
			k++
		}
		for sent := 0; sent < k; {
			w, err := bc.WriteBatch(out[sent:k], 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return nil
				}
				s.logf("dns/server: write %d UDP answers: %v", k-sent, err)
				break
			}
			sent += w
		}
		for i := range out[:k] {
			out[i].Buffers[0], out[i].Addr = nil, nil
		}
	}
}

const dnsHeaderLen = 12

// answerPacket answers one UDP query the way miekg/dns's server does
// before it calls ServeDNS — drop what is shorter than a header or is a
// response, FORMERR what does not unpack, NOTIMP other opcodes, verify
// TSIG — and then calls ServeDNS. It returns the answer appended to buf,
// or nil when the packet is dropped.
func (s *Server) answerPacket(b []byte, local net.Addr, remote *net.UDPAddr, buf []byte) []byte {
	if len(b) < dnsHeaderLen {
		return nil
	}
	bits := binary.BigEndian.Uint16(b[2:])
	dh := dns.Header{
		Id: binary.BigEndian.Uint16(b), Bits: bits,
		Qdcount: binary.BigEndian.Uint16(b[4:]), Ancount: binary.BigEndian.Uint16(b[6:]),
		Nscount: binary.BigEndian.Uint16(b[8:]), Arcount: binary.BigEndian.Uint16(b[10:]),
	}
	w := &packetWriter{s: s, local: local, remote: remote, buf: buf}
	action := dns.DefaultMsgAcceptFunc(dh)
	if action == dns.MsgIgnore {
		return nil
	}
	req := new(dns.Msg)
	if action == dns.MsgAccept {
		err := req.Unpack(b)
		if err == nil {
			if t := req.IsTsig(); t != nil {
				w.requestMAC = t.MAC
				w.tsig = dns.TsigVerifyWithProvider(b, tsigProvider{s}, "", false)
			}
			s.ServeDNS(w, req)
			return w.out
		}
	}
	// As miekg/dns's server answers: the request's header flags (and any
	// question it could read) back with FORMERR, or NOTIMP for an opcode
	// we do not serve.
	req.Id = dh.Id
	req.RecursionDesired = bits&(1<<8) != 0
	req.RecursionAvailable = bits&(1<<7) != 0
	req.AuthenticatedData = bits&(1<<5) != 0
	req.CheckingDisabled = bits&(1<<4) != 0
	req.Truncated = bits&(1<<9) != 0
	opcode := int(bits>>11) & 0xF
	req.SetRcodeFormatError(req)
	req.Zero = false
	if action == dns.MsgRejectNotImplemented {
		req.Opcode, req.Rcode = opcode, dns.RcodeNotImplemented
	}
	req.Ns, req.Answer, req.Extra = nil, nil, nil
	w.WriteMsg(req)
	return w.out
}

// packetWriter is the dns.ResponseWriter of the batched path: the answer
// is kept in out for the worker's sendmmsg.
type packetWriter struct {
	s             *Server
	local         net.Addr
	remote        *net.UDPAddr
	tsig          error
	requestMAC    string
	buf, out      []byte
	tsigTimesOnly bool
}

func (w *packetWriter) LocalAddr() net.Addr  { return w.local }
func (w *packetWriter) RemoteAddr() net.Addr { return w.remote }

// WriteMsg packs m, signing it when it carries a TSIG record (with the
// request's MAC, RFC 8945 5.3).
func (w *packetWriter) WriteMsg(m *dns.Msg) error {
	if t := m.IsTsig(); t != nil {
		b, _, err := dns.TsigGenerateWithProvider(m, tsigProvider{w.s}, w.requestMAC, w.tsigTimesOnly)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	b, err := m.PackBuffer(w.buf[:cap(w.buf)])
	if err != nil {
		return err
	}
	w.out = b
	return nil
}

// Write keeps a copy of b (the caller reuses its buffer).
func (w *packetWriter) Write(b []byte) (int, error) {
	w.out = append(slices.Grow(w.buf[:0], len(b)), b...)
	return len(b), nil
}

func (w *packetWriter) Close() error          { return nil }
func (w *packetWriter) TsigStatus() error     { return w.tsig }
func (w *packetWriter) TsigTimersOnly(b bool) { w.tsigTimesOnly = b }
func (w *packetWriter) Hijack()               {}
