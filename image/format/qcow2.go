package format

import "fmt"

// qcow2 header fields (big-endian), from qemu docs/interop/qcow2.txt.
const (
	qcow2Magic        = "QFI\xfb"
	qcow2HeaderV3     = 104 // bytes of the version 3 header; v2 has 72, oslo reads 0x48..0x50 on both
	qcow2OffVersion   = 4   // u32
	qcow2OffBacking   = 8   // u64 backing_file_offset; non-zero = backing file
	qcow2OffSize      = 24  // u64 virtual size
	qcow2OffIncompat  = 72  // u64 incompatible_features (v3)
	qcow2DataFileBit  = 1 << 2
	qcow2KnownIncompt = 1<<4 - 1 // dirty, corrupt, external data, compression type; bit 4 (extended L2) and up are refused, as oslo does
)

// qcow2Probe checks the qcow2 header: oslo's backing_file, data_file and
// unknown_features checks. All of it is in the first 104 bytes, so a bad
// qcow2 is refused on the first chunk of a stream.
type qcow2Probe struct{ base }

func newQCOW2() *qcow2Probe {
	p := &qcow2Probe{base{format: QCOW2}}
	p.need(0, 512)
	return p
}

func (p *qcow2Probe) take(b []byte) {
	if len(b) < len(qcow2Magic) || string(b[:4]) != qcow2Magic {
		p.miss()
		return
	}
	if len(b) < qcow2HeaderV3 {
		p.truncated("header", len(b), qcow2HeaderV3)
		return
	}
	version := be32(b[qcow2OffVersion:])
	incompat := be64(b[qcow2OffIncompat:])
	switch {
	case be64(b[qcow2OffBacking:]) != 0:
		p.refuse("backing_file", "image has a backing file")
	case incompat&qcow2DataFileBit != 0:
		// oslo tests the bit on every version; so do we.
		p.refuse("data_file", "image has an external data file")
	case version != 2 && version != 3:
		p.refuse("unknown_features", "unsupported version %d", version)
	case version == 3 && incompat&^qcow2KnownIncompt != 0:
		p.refuse("unknown_features", "unknown incompatible features %#x", incompat&^qcow2KnownIncompt)
	default:
		if size, ok := p.size64(be64(b[qcow2OffSize:]), "virtual size"); ok {
			p.match(fmt.Sprintf("v%d", version), size)
		}
	}
}

// qedProbe recognises qed ("QED\0", qemu block/qed.h) to refuse it: no
// OpenStack consumer supports it and it is not checked for safety.
type qedProbe struct{ base }

func newQED() *qedProbe {
	p := &qedProbe{base{format: QED}}
	p.need(0, 4)
	return p
}

func (p *qedProbe) take(b []byte) {
	if string(b) != "QED\x00" {
		p.miss()
		return
	}
	p.refuse("banned", "qed images are not allowed")
}
