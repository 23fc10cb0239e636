package format

import (
	"fmt"
	"io"
)

var _ io.Writer = (*Inspector)(nil)

// Format names, spelled as Glance's disk_format and oslo's inspectors
// spell them.
const (
	Raw   = "raw"   // no signature matched
	QCOW2 = "qcow2" // Variant "v2" or "v3"
	VMDK  = "vmdk"  // Variant "monolithicSparse" or "streamOptimized"
	VHD   = "vhd"   // qemu's "vpc"; Variant "fixed" or "dynamic"
	VHDX  = "vhdx"  // no variants
	VDI   = "vdi"   // Variant "dynamic" or "fixed"
	ISO   = "iso"   // Variant "iso9660" or "udf"
	GPT   = "gpt"   // a partition table; Variant "gpt" (EFI PART at LBA 1) or "mbr"
	LUKS  = "luks"  // Variant "v1"
	QED   = "qed"   // recognised only to be refused
)

// MaxBuffered bounds the bytes an Inspector holds, whatever its input:
// for each format the largest range it needs at a time (a vmdk descriptor,
// capped at 1 MiB like qemu does; a vhdx region or metadata table, 64 KiB;
// 2 KiB for the iso volume descriptor; one or two sectors for the others)
// plus the last 1536 bytes of the stream, kept for footers.
const MaxBuffered = 1152 << 10

// Result describes an inspected image.
type Result struct {
	Format      string // one of the format names; Raw when nothing matched
	Variant     string // subformat, when the format has them
	VirtualSize int64  // bytes the guest sees; the image size for raw, gpt and iso without a volume size
	Size        int64  // bytes in the image
	BytesRead   int64  // bytes read from the source: all of a stream, the needed ranges of a file
	Examined    int64  // bytes the format checks looked at
}

// Inspector detects the format of an image streamed through Write, and
// refuses unsafe images as soon as the data to judge them has passed:
// Write then returns a *SafetyError, so an upload fed through
// io.TeeReader or io.MultiWriter stops there. It keeps at most
// MaxBuffered bytes, however long the stream.
//
// The zero value is ready to use. An Inspector is not safe for concurrent
// use.
type Inspector struct {
	slots    []slot
	size     int64
	tail     [tailSize]byte
	tailLen  int
	examined int64
	live     int // slots still wanting data
	err      error
	closed   bool
	res      Result
	resErr   error
}

// NewInspector returns an Inspector.
func NewInspector() *Inspector {
	in := &Inspector{}
	in.init()
	return in
}

func (in *Inspector) init() {
	for _, p := range newProbes() {
		in.slots = append(in.slots, newSlot(p))
	}
	in.live = len(in.slots)
}

// Write inspects the next bytes of the image. It returns len(p) and the
// first safety error once one is certain; later calls return that error
// again.
func (in *Inspector) Write(p []byte) (int, error) {
	if in.slots == nil {
		in.init()
	}
	if in.closed {
		return 0, errWriteAfterResult
	}
	if in.err != nil {
		return 0, in.err
	}
	pos := in.size
	in.size += int64(len(p))
	in.keepTail(p)
	if in.live == 0 {
		return len(p), nil
	}
	took := false
	in.live = 0
	for i := range in.slots {
		s := &in.slots[i]
		t, n := s.feed(p, pos)
		took = took || t
		in.examined += int64(n)
		if s.want.n > 0 {
			in.live++
		}
	}
	if took {
		_, in.err = resolve(in.findings(), false)
	}
	return len(p), in.err
}

// keepTail keeps the last tailSize bytes of the stream.
func (in *Inspector) keepTail(p []byte) {
	if len(p) >= tailSize {
		in.tailLen = copy(in.tail[:], p[len(p)-tailSize:])
		return
	}
	keep := min(in.tailLen, tailSize-len(p))
	copy(in.tail[:keep], in.tail[in.tailLen-keep:in.tailLen])
	in.tailLen = keep + copy(in.tail[keep:], p)
}

// Err returns the safety error found so far, if any.
func (in *Inspector) Err() error { return in.err }

// Result ends the stream and returns the format found, or why the image
// is refused. Write must not be called after Result.
func (in *Inspector) Result() (Result, error) {
	if in.slots == nil {
		in.init()
	}
	if !in.closed {
		in.closed = true
		in.res, in.resErr = in.finish()
	}
	return in.res, in.resErr
}

func (in *Inspector) finish() (Result, error) {
	if in.err != nil {
		return Result{}, in.err
	}
	for i := range in.slots {
		s := &in.slots[i]
		for s.want.n > 0 {
			// Short: the stream ended inside the range. A range that does
			// not extend this one starts past the end and gets nothing.
			if !s.deliver(s.buf) {
				s.buf = nil
			}
		}
	}
	tail := in.tail[:in.tailLen]
	for i := range in.slots {
		in.slots[i].p.end(in.size, tail)
	}
	in.examined += int64(len(tail))
	return decide(in.findings(), in.size, in.size, in.examined)
}

func (in *Inspector) findings() []finding {
	f := make([]finding, len(in.slots))
	for i := range in.slots {
		f[i] = in.slots[i].finding()
	}
	return f
}

// buffered returns the bytes the Inspector holds (for the bound tests).
func (in *Inspector) buffered() int {
	n := len(in.tail)
	for i := range in.slots {
		n += cap(in.slots[i].buf)
	}
	return n
}

// slot drives one probe: it captures the range the probe wants and hands
// it over.
type slot struct {
	p      probe
	want   span
	buf    []byte
	steps  int
	broken *SafetyError // the probe broke the driver's rules
}

func newSlot(p probe) slot { return slot{p: p, want: p.next()} }

// feed offers p, which starts at offset pos of the image. It reports
// whether the probe was handed data, and how many bytes it captured.
func (s *slot) feed(p []byte, pos int64) (took bool, copied int) {
	end := pos + int64(len(p))
	for s.want.n > 0 {
		next := s.want.off + int64(len(s.buf))
		if next >= end {
			return took, copied
		}
		if next < pos {
			s.fail(fmt.Sprintf("needs offset %d, which the stream has passed", next))
			return true, copied
		}
		if s.buf == nil {
			s.buf = make([]byte, 0, s.want.n)
		}
		stop := min(s.want.end(), end)
		s.buf = append(s.buf, p[next-pos:stop-pos]...)
		copied += int(stop - next)
		if len(s.buf) < s.want.n {
			return took, copied
		}
		took = true
		if s.deliver(s.buf) {
			buf := make([]byte, len(s.buf), s.want.n)
			copy(buf, s.buf)
			s.buf = buf
		} else {
			s.buf = nil
		}
	}
	return took, copied
}

// deliver hands b, the bytes of the wanted range, to the probe and moves
// to the next range. It reports whether that range extends the last one,
// so that the bytes captured so far stay valid.
func (s *slot) deliver(b []byte) (extends bool) {
	s.steps++
	old := s.want
	s.p.take(b)
	s.want = s.p.next()
	switch {
	case s.want.n <= 0:
		s.want = span{}
	case s.steps >= maxSteps:
		s.fail("too many ranges")
	case s.want.off == old.off && s.want.n > old.n:
		return true
	case s.want.off < old.end():
		s.fail(fmt.Sprintf("range at %d goes back before %d", s.want.off, old.end()))
	}
	return false
}

func (s *slot) fail(reason string) {
	s.broken = &SafetyError{Format: s.p.name(), Check: "layout", Reason: reason}
	s.want, s.buf = span{}, nil
}

func (s *slot) finding() finding {
	if s.broken != nil {
		return finding{s.p.name(), verdict{state: present, err: s.broken}}
	}
	return finding{s.p.name(), s.p.verdict()}
}
