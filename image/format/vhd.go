package format

// VHD footer fields (big-endian, 512 bytes), Microsoft "Virtual Hard Disk
// Image Format Specification" and qemu block/vpc.c.
const (
	vhdCookie      = "conectix"
	vhdOffApp      = 28 // creator application, 4 bytes
	vhdOffCurrent  = 48 // u64 current size in bytes
	vhdOffCyls     = 56 // u16 cylinders, then u8 heads, u8 sectors per track
	vhdOffType     = 60 // u32 disk type
	vhdOffChecksum = 64 // u32 one's complement of the byte sum, this field as zero
	vhdFixed       = 2
	vhdDynamic     = 3
	vhdDiffering   = 4
	vhdMaxGeometry = 65535 * 16 * 255 // qemu: CHS at its maximum means "use the size field"
)

// vhdProbe finds a dynamic disk by the footer copy at offset 0, as qemu and
// oslo do, and a fixed disk by the footer in the last sector, which neither
// probes. A fixed disk is raw data plus a footer, so a partition table at
// offset 0 is its content, not a second format.
type vhdProbe struct{ base }

func newVHD() *vhdProbe {
	p := &vhdProbe{base{format: VHD}}
	p.need(0, sector)
	return p
}

func (p *vhdProbe) take(b []byte) {
	p.want = span{}
	if len(b) < len(vhdCookie) || string(b[:len(vhdCookie)]) != vhdCookie {
		return // undecided until the tail has been seen
	}
	if len(b) < sector {
		p.truncated("footer", len(b), sector)
		return
	}
	p.judge(b, true)
}

func (p *vhdProbe) end(size int64, tail []byte) {
	if p.v.state != unknown {
		return
	}
	p.v.state = absent
	if len(tail) < sector {
		return
	}
	f := tail[len(tail)-sector:]
	// Without the copy at offset 0 only a valid checksum tells a footer from
	// raw data that happens to end in "conectix".
	if string(f[:len(vhdCookie)]) != vhdCookie || vhdChecksum(f) != be32(f[vhdOffChecksum:]) {
		return
	}
	p.judge(f, false)
}

// judge checks a footer found at the head (dynamic) or at the tail (fixed).
func (p *vhdProbe) judge(f []byte, atHead bool) {
	variant := ""
	switch t := be32(f[vhdOffType:]); {
	case t == vhdDiffering:
		p.refuse("parent", "differencing disk (has a parent image)")
		return
	case t == vhdFixed:
		variant = "fixed"
	case t == vhdDynamic && atHead:
		variant = "dynamic"
	case t == vhdDynamic:
		p.refuse("disk_type", "dynamic disk without its footer copy at offset 0")
		return
	default:
		p.refuse("disk_type", "unsupported disk type %d", t)
		return
	}
	size, ok := p.size64(vhdSize(f), "disk size")
	if !ok {
		return
	}
	p.match(variant, size)
	p.v.host = !atHead
}

// vhdSize is the virtual size qemu gives the disk: the CHS geometry for the
// creators that size by geometry (Virtual PC, old qemu), unless it is at
// its maximum; the current-size field for everyone else (Hyper-V, Azure,
// disk2vhd, XenServer, qemu with force_size).
func vhdSize(f []byte) uint64 {
	chs := uint64(be16(f[vhdOffCyls:])) * uint64(f[vhdOffCyls+2]) * uint64(f[vhdOffCyls+3])
	app := string(f[vhdOffApp : vhdOffApp+4])
	if (app == "vpc " || app == "qemu") && chs != vhdMaxGeometry {
		return chs * sector
	}
	return be64(f[vhdOffCurrent:])
}

func vhdChecksum(f []byte) uint32 {
	var sum uint32
	for i, c := range f[:sector] {
		if i < vhdOffChecksum || i >= vhdOffChecksum+4 {
			sum += uint32(c)
		}
	}
	return ^sum
}
