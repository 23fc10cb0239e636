package format

import "fmt"

// This file holds the probes whose whole judgement fits one read: vdi,
// iso, gpt/mbr and luks.

// VirtualBox VDI header (little-endian), qemu block/vdi.c.
const (
	vdiSignature = 0xbeda107f
	vdiOffSig    = 0x40
	vdiOffType   = 0x4c // 1 dynamic, 2 fixed, 3 undo, 4 differencing
	vdiOffSize   = 0x170
	vdiHeaderLen = 0x178
)

type vdiProbe struct{ base }

func newVDI() *vdiProbe {
	p := &vdiProbe{base{format: VDI}}
	p.need(0, vdiHeaderLen)
	return p
}

// take checks the signature and, beyond oslo, the image type: undo and
// differencing images depend on another image, and qemu opens neither.
func (p *vdiProbe) take(b []byte) {
	if len(b) < vdiOffSig+4 || le32(b[vdiOffSig:]) != vdiSignature {
		p.miss()
		return
	}
	if len(b) < vdiHeaderLen {
		p.truncated("header", len(b), vdiHeaderLen)
		return
	}
	variant := ""
	switch t := le32(b[vdiOffType:]); t {
	case 1:
		variant = "dynamic"
	case 2:
		variant = "fixed"
	default:
		p.refuse("image_type", "unsupported image type %d", t)
		return
	}
	if size, ok := p.size64(le64(b[vdiOffSize:]), "disk size"); ok {
		p.match(variant, size)
	}
}

// ISO 9660 / UDF: a volume descriptor in sector 16 (2 KiB sectors).
const (
	isoDescriptor = 32 << 10
	isoSector     = 2 << 10
)

type isoProbe struct{ base }

func newISO() *isoProbe {
	p := &isoProbe{base{format: ISO}}
	p.need(isoDescriptor, isoSector)
	return p
}

// take reads the volume descriptor as oslo does: "CD001" (ISO 9660) or
// "NSR02"/"NSR03" (UDF) at byte 1; for a primary volume descriptor (type 1)
// the size is the volume space size times the logical block size, both
// read from their little-endian halves.
func (p *isoProbe) take(b []byte) {
	if len(b) < isoSector {
		p.miss()
		return
	}
	variant := ""
	switch string(b[1:6]) {
	case "CD001":
		variant = "iso9660"
	case "NSR02", "NSR03":
		variant = "udf"
	default:
		p.miss()
		return
	}
	size := int64(-1) // unknown: the size of the image, as for raw
	if b[0] == 1 {
		if n := int64(le32(b[80:])) * int64(le16(b[128:])); n > 0 {
			size = n
		}
	}
	p.match(variant, size)
	p.v.host = true
}

// MBR, and GPT behind its protective MBR.
const (
	mbrSignature  = 0xaa55
	mbrTable      = 446
	mbrProtective = 0xee
	mbrFATMedia   = 0xf8
)

type gptProbe struct{ base }

func newGPT() *gptProbe {
	p := &gptProbe{base{format: GPT}}
	p.need(0, 2*sector)
	return p
}

// take detects a partition table as oslo does (0xAA55 at 510, and not the
// boot sector of a FAT file system) and runs oslo's "mbr" check on the
// four entries. The variant says whether a GPT header sits at LBA 1.
func (p *gptProbe) take(b []byte) {
	if len(b) < sector || le16(b[510:]) != mbrSignature || isFAT(b) {
		p.miss()
		return
	}
	variant := "mbr"
	if len(b) >= sector+8 && string(b[sector:sector+8]) == "EFI PART" {
		variant = "gpt"
	}
	p.v.variant = variant
	if reason := checkMBR(b); reason != "" {
		p.refuse("mbr", "%s", reason)
		return
	}
	p.match(variant, -1)
}

// isFAT reports a FAT boot sector: two FATs and fixed-disk media.
func isFAT(b []byte) bool { return b[0x10] == 2 && b[0x15] == mbrFATMedia }

// checkMBR returns why the partition entries are refused, or "".
func checkMBR(b []byte) string {
	var used []int
	gpt := false
	for i := range 4 {
		e := b[mbrTable+16*i : mbrTable+16*(i+1)]
		if e[0] != 0x00 && e[0] != 0x80 {
			return fmt.Sprintf("MBR PTE %d has invalid boot flag", i)
		}
		if e[4] != 0 {
			used = append(used, i)
		}
		if e[4] == mbrProtective {
			gpt = true
			if e[1] != 0 || e[2] != 2 || e[3] != 0 {
				return "GPT MBR has invalid start CHS"
			}
			if le32(e[8:]) != 1 {
				return "GPT MBR has invalid start LBA"
			}
		}
	}
	switch {
	case gpt && (len(used) != 1 || used[0] != 0):
		return "GPT MBR defines invalid extra partitions"
	case len(used) == 0:
		return "GPT MBR has no partitions defined"
	}
	return ""
}

// LUKS version 1 header (big-endian), cryptsetup's on-disk format.
const (
	luksMagic      = "LUKS\xba\xbe"
	luksOffVersion = 6
	luksOffPayload = 104 // u32 sectors
	luksHeaderLen  = 108
)

type luksProbe struct {
	base
	payload int64 // bytes before the encrypted payload
}

func newLUKS() *luksProbe {
	p := &luksProbe{base: base{format: LUKS}}
	p.need(0, luksHeaderLen)
	return p
}

// take refuses versions other than 1, as oslo does (qemu writes v1). The
// inner format is not inspected: that needs the passphrase.
func (p *luksProbe) take(b []byte) {
	if len(b) < len(luksMagic) || string(b[:len(luksMagic)]) != luksMagic {
		p.miss()
		return
	}
	if len(b) < luksHeaderLen {
		p.truncated("header", len(b), luksHeaderLen)
		return
	}
	if v := be16(b[luksOffVersion:]); v != 1 {
		p.refuse("version", "LUKS version %d is not supported", v)
		return
	}
	p.payload = int64(be32(b[luksOffPayload:])) * sector
	p.match("v1", 0) // the size is known at the end
}

// end sets the virtual size: the image minus the header area.
func (p *luksProbe) end(size int64, tail []byte) {
	p.base.end(size, tail)
	if p.v.state != present || p.v.err != nil {
		return
	}
	if p.payload > size {
		p.refuse("header", "payload offset %d beyond the end of the image (%d bytes)", p.payload, size)
		return
	}
	p.v.virtual = size - p.payload
}
