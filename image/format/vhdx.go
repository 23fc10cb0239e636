package format

import (
	"encoding/hex"
	"strings"
)

// VHDX layout (little-endian), [MS-VHDX] and qemu block/vhdx.h.
const (
	vhdxSignature   = "vhdxfile"
	vhdxRegionTable = 192 << 10 // first region table
	vhdxTableLen    = 64 << 10  // a region table, and a metadata table, are 64 KiB
	vhdxMaxEntries  = 2047
	vhdxRegionAlign = 1 << 20 // regions are 1 MiB aligned, after the 1 MiB header section
	vhdxItemMin     = 64 << 10
)

// GUIDs in their on-disk byte order.
var (
	vhdxMetadataRegion = msGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
	vhdxVirtualSize    = msGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	vhdxParentLocator  = msGUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
)

// vhdxProbe follows signature → region table → metadata table → virtual
// disk size, as oslo does. The spec puts every step after the one before
// (regions at 1 MiB or more, metadata items at 64 KiB or more into their
// region), which one forward pass needs; images that break that are
// refused. A parent locator (a differencing disk) is refused too.
type vhdxProbe struct {
	base
	step int
	meta int64 // offset of the metadata region
}

func newVHDX() *vhdxProbe {
	p := &vhdxProbe{base: base{format: VHDX}}
	p.need(0, len(vhdxSignature))
	return p
}

func (p *vhdxProbe) take(b []byte) {
	p.step++
	switch p.step {
	case 1:
		if string(b) != vhdxSignature {
			p.miss()
			return
		}
		p.need(vhdxRegionTable, vhdxTableLen)
	case 2:
		p.regions(b)
	case 3:
		p.metadata(b)
	default:
		if len(b) < 8 {
			p.truncated("virtual disk size", len(b), 8)
			return
		}
		if size, ok := p.size64(le64(b), "virtual disk size"); ok {
			p.match("", size)
		}
	}
}

// regions finds the metadata region in the region table.
func (p *vhdxProbe) regions(b []byte) {
	if len(b) < vhdxTableLen {
		p.truncated("region table", len(b), vhdxTableLen)
		return
	}
	if string(b[:4]) != "regi" {
		p.refuse("header", "region table signature not found")
		return
	}
	count := le32(b[8:])
	if count > vhdxMaxEntries {
		p.refuse("header", "region count %d over %d", count, vhdxMaxEntries)
		return
	}
	for i := range int(count) {
		e := b[16+32*i : 16+32*(i+1)]
		if string(e[:16]) != vhdxMetadataRegion {
			continue
		}
		off := le64(e[16:])
		if off < vhdxRegionAlign || off%vhdxRegionAlign != 0 || off > 1<<62 {
			p.refuse("header", "metadata region at invalid offset %d", off)
			return
		}
		p.meta = int64(off)
		p.need(p.meta, vhdxTableLen)
		return
	}
	p.refuse("header", "no metadata region")
}

// metadata finds the virtual disk size item in the metadata table.
func (p *vhdxProbe) metadata(b []byte) {
	if len(b) < vhdxTableLen {
		p.truncated("metadata table", len(b), vhdxTableLen)
		return
	}
	if string(b[:8]) != "metadata" {
		p.refuse("header", "metadata table signature not found")
		return
	}
	count := int(le16(b[10:]))
	if count > vhdxMaxEntries {
		p.refuse("header", "metadata item count %d over %d", count, vhdxMaxEntries)
		return
	}
	item := int64(-1)
	for i := range count {
		e := b[32+32*i : 32+32*(i+1)]
		switch string(e[:16]) {
		case vhdxParentLocator:
			p.refuse("parent", "differencing disk (has a parent locator)")
			return
		case vhdxVirtualSize:
			item = int64(le32(e[16:]))
		}
	}
	switch {
	case item < 0:
		p.refuse("header", "no virtual disk size item")
	case item < vhdxItemMin:
		p.refuse("header", "virtual disk size item at invalid offset %d", item)
	default:
		p.need(p.meta+item, 8)
	}
}

// msGUID turns a textual GUID into its 16 on-disk bytes: the first three
// groups little-endian, the rest as written.
func msGUID(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("format: bad GUID literal " + s)
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return string(b)
}
