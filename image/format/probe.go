package format

import (
	"encoding/binary"
	"fmt"
	"math"
)

// span is a byte range of the image that a probe needs: n bytes at off.
// n == 0 means the probe needs nothing more.
type span struct {
	off int64
	n   int
}

func (s span) end() int64 { return s.off + int64(s.n) }

// state is what a probe knows about its format.
type state uint8

const (
	unknown state = iota // not decided yet
	absent               // the image is not in this format
	present              // the image is in this format
)

// verdict is a probe's finding.
type verdict struct {
	state   state
	variant string
	virtual int64        // virtual size in bytes; -1 means the size of the image
	host    bool         // the format may carry an MBR/GPT at offset 0 (iso, fixed vhd)
	err     *SafetyError // non-nil: present but refused
}

// probe recognises one format. The driver (the streaming Inspector, or
// InspectAt reading a file) hands each probe the ranges it asks for, in
// order:
//
//   - next returns the range wanted now. Every range starts at or after the
//     end of the one before, or at the same offset with a larger length
//     (an extension: the bytes already captured are kept). That makes one
//     forward pass over a stream enough.
//   - take receives the bytes of that range: all of them, or fewer when the
//     image ends inside the range. The probe must not keep b.
//   - end is called once after the image ended, with its size and its last
//     bytes (at most tailSize).
type probe interface {
	name() string
	next() span
	take(b []byte)
	end(size int64, tail []byte)
	verdict() verdict
}

// tailSize is how much of the end of the image the probes see: the vmdk
// footer, its marker and the end-of-stream marker (3 sectors); the vhd
// footer is the last sector.
const tailSize = 1536

// maxSteps bounds the ranges one probe may ask for; the real maximum is 4
// (vhdx), so hitting it means a bug, not a big image.
const maxSteps = 16

// newProbes returns one probe per format that has a signature.
func newProbes() []probe {
	return []probe{
		newQCOW2(), newQED(), newVMDK(), newVHD(), newVHDX(),
		newVDI(), newISO(), newGPT(), newLUKS(),
	}
}

var (
	_ probe = (*qcow2Probe)(nil)
	_ probe = (*qedProbe)(nil)
	_ probe = (*vmdkProbe)(nil)
	_ probe = (*vhdProbe)(nil)
	_ probe = (*vhdxProbe)(nil)
	_ probe = (*vdiProbe)(nil)
	_ probe = (*isoProbe)(nil)
	_ probe = (*gptProbe)(nil)
	_ probe = (*luksProbe)(nil)
)

// base holds what every probe has.
type base struct {
	format string
	want   span
	v      verdict
}

func (p *base) name() string          { return p.format }
func (p *base) next() span            { return p.want }
func (p *base) verdict() verdict      { return p.v }
func (p *base) need(off int64, n int) { p.want = span{off: off, n: n} }

// end settles an undecided probe as absent; probes that look at the tail
// or at the size override it.
func (p *base) end(int64, []byte) {
	p.want = span{}
	if p.v.state == unknown {
		p.v.state = absent
	}
}

// miss settles the probe: not this format.
func (p *base) miss() {
	p.want = span{}
	p.v.state = absent
}

// match settles the probe: this format, with this variant and virtual size.
func (p *base) match(variant string, virtual int64) {
	p.want = span{}
	p.v.state = present
	p.v.variant = variant
	p.v.virtual = virtual
}

// refuse settles the probe: this format, and unsafe.
func (p *base) refuse(check, reason string, args ...any) {
	p.want = span{}
	p.v.state = present
	p.v.err = &SafetyError{Format: p.format, Check: check, Reason: fmt.Sprintf(reason, args...)}
}

// truncated refuses a recognised signature whose structure is cut short.
func (p *base) truncated(what string, got, want int) {
	p.refuse("header", "truncated %s (%d of %d bytes)", what, got, want)
}

// size64 converts an unsigned on-disk size, refusing values past int64.
func (p *base) size64(v uint64, what string) (int64, bool) {
	if v > math.MaxInt64 {
		p.refuse("header", "%s %d out of range", what, v)
		return 0, false
	}
	return int64(v), true
}

var (
	be16 = binary.BigEndian.Uint16
	be32 = binary.BigEndian.Uint32
	be64 = binary.BigEndian.Uint64
	le16 = binary.LittleEndian.Uint16
	le32 = binary.LittleEndian.Uint32
	le64 = binary.LittleEndian.Uint64
)

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
