package format

import "bytes"

// Hosted sparse extent header (little-endian), VMware Virtual Disk Format
// 1.1 and qemu block/vmdk.c; the fields oslo reads.
const (
	vmdkMagic         = "KDMV"
	vmdkHeaderLen     = 64 // magic through gdOffset
	vmdkOffVersion    = 4  // u32, 1..3
	vmdkOffCapacity   = 12 // u64 sectors
	vmdkOffDescSector = 28 // u64 sectors
	vmdkOffDescSize   = 36 // u64 sectors
	vmdkOffGDOffset   = 56 // u64 sectors; all ones: the real header is the footer
	vmdkDescOffset    = 0x200
	vmdkDescMax       = 1<<20 - 1 // qemu's and oslo's cap on a descriptor
	vmdkGDAtEnd       = ^uint64(0)
	vmdkMarkerEOS     = 0
	vmdkMarkerFooter  = 3
	sector            = 512
)

// vmdkProbe handles both a sparse file (KDMV header, descriptor at 0x200)
// and a text-only descriptor file. Everything but the stream-optimized
// footer sits in the first MiB, so a bad vmdk is refused early.
type vmdkProbe struct {
	base
	head     bool                // the first sector has been seen
	text     bool                // the file is a bare text descriptor
	header   [vmdkHeaderLen]byte // the sparse header, for the footer check
	footer   bool                // gdOffset is all ones: expect a footer
	capacity int64               // bytes, from the header
}

func newVMDK() *vmdkProbe {
	p := &vmdkProbe{base: base{format: VMDK}}
	p.need(0, sector)
	return p
}

func (p *vmdkProbe) take(b []byte) {
	if !p.head {
		p.head = true
		p.takeHead(b)
		return
	}
	p.takeDescriptor(b)
}

// takeHead reads the first sector: a sparse header, the start of a text
// descriptor, or neither.
func (p *vmdkProbe) takeHead(b []byte) {
	if len(b) >= 4 && string(b[:4]) == vmdkMagic {
		p.takeSparseHeader(b)
		return
	}
	if len(b) == 0 || !isText(b) {
		p.miss()
		return
	}
	// Possibly a text-only descriptor, which qemu opens too: read on up to
	// the cap (an extension of this range) and parse it as one.
	p.text = true
	if len(b) < sector {
		p.takeDescriptor(b) // the whole file
		return
	}
	p.need(0, vmdkDescMax)
}

func (p *vmdkProbe) takeSparseHeader(b []byte) {
	if len(b) < vmdkHeaderLen {
		p.truncated("header", len(b), vmdkHeaderLen)
		return
	}
	copy(p.header[:], b)
	version := le32(b[vmdkOffVersion:])
	if version < 1 || version > 3 {
		p.refuse("header", "unsupported version %d", version)
		return
	}
	descOff, descLen := le64(b[vmdkOffDescSector:]), le64(b[vmdkOffDescSize:])
	if descOff != vmdkDescOffset/sector {
		p.refuse("header", "descriptor at sector %d, not 1", descOff)
		return
	}
	if descLen == 0 {
		p.refuse("descriptor", "no descriptor found")
		return
	}
	capacity, ok := p.sectors(le64(b[vmdkOffCapacity:]))
	if !ok {
		return
	}
	p.capacity = capacity
	p.footer = le64(b[vmdkOffGDOffset:]) == vmdkGDAtEnd
	n := vmdkDescMax
	if descLen < vmdkDescMax/sector {
		n = int(descLen) * sector
	}
	p.need(vmdkDescOffset, n)
}

// sectors converts a sector count to bytes, refusing overflow.
func (p *vmdkProbe) sectors(n uint64) (int64, bool) {
	if n > (1<<63-1)/sector {
		p.refuse("header", "capacity %d sectors out of range", n)
		return 0, false
	}
	return int64(n) * sector, true
}

func (p *vmdkProbe) takeDescriptor(b []byte) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i] // the embedded descriptor is NUL-padded
	}
	if p.text && !containsFold(b, "createtype") {
		p.miss() // just text: raw
		return
	}
	d, err := parseDescriptor(b)
	if err != nil {
		p.refuse(err.check, "%s", err.reason)
		return
	}
	size := p.capacity
	if p.text {
		size = d.sectors * sector
	}
	if p.footer {
		// Settled at the end, when the footer has been seen.
		p.want = span{}
		p.v = verdict{state: present, variant: d.createType, virtual: size}
		return
	}
	p.match(d.createType, size)
}

// end checks the stream-optimized footer, as oslo's check_footer does,
// and that it describes the same disk as the header.
func (p *vmdkProbe) end(size int64, tail []byte) {
	p.base.end(size, tail)
	if !p.footer || p.v.state != present || p.v.err != nil {
		return
	}
	if len(tail) < 3*sector {
		p.refuse("footer", "image too short for a footer")
		return
	}
	t := tail[len(tail)-3*sector:]
	marker, foot, eos := t[:sector], t[sector:2*sector], t[2*sector:]
	h := p.header[:]
	switch {
	case string(foot[:4]) != string(h[:4]):
		p.refuse("footer", "header and footer signature do not match")
	case le32(foot[vmdkOffVersion:]) != le32(h[vmdkOffVersion:]):
		p.refuse("footer", "header and footer versions do not match")
	case string(foot[vmdkOffDescSector:vmdkOffDescSize+8]) != string(h[vmdkOffDescSector:vmdkOffDescSize+8]):
		p.refuse("footer", "footer specifies a different descriptor than header")
	case le64(foot[vmdkOffGDOffset:]) == vmdkGDAtEnd:
		p.refuse("footer", "footer indicates another footer")
	case le64(foot[vmdkOffCapacity:]) != le64(h[vmdkOffCapacity:]):
		p.refuse("footer", "footer capacity differs from header")
	case !isMarker(marker, vmdkMarkerFooter, false):
		p.refuse("footer", "footer marker is invalid")
	case !isMarker(eos, vmdkMarkerEOS, true):
		p.refuse("footer", "end-of-stream marker is invalid")
	}
}

// isMarker checks a stream-optimized marker sector: u64 value, u32 size 0,
// u32 type, 496 zero bytes. The end-of-stream marker's value is 0 too.
func isMarker(m []byte, typ uint32, zeroValue bool) bool {
	if zeroValue && le64(m) != 0 {
		return false
	}
	return le32(m[8:]) == 0 && le32(m[12:]) == typ && allZero(m[16:])
}

// isText reports whether b is printable ASCII or whitespace, the test oslo
// uses to take a file for a text-only descriptor.
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f' {
			return false
		}
	}
	return true
}
