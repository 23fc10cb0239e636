package format

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gostack/gostack/kit/fault"
)

// hostileCase is an unsafe image and how it must be refused.
type hostileCase struct {
	name   string
	make   func(q *qemu) string
	format string // SafetyError.Format
	check  string // SafetyError.Check
	early  bool   // refused before the end of the stream
}

// TestHostile checks that crafted and real unsafe images are refused, by
// InspectFile and by the streaming Inspector alike, and that the stream is
// refused before its last chunk whenever the evidence sits in a header.
func TestHostile(t *testing.T) {
	q := newQemu(t)
	tests := append(append(hostileQCOW2(), hostileVMDK()...), hostileOther()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.make(q.sub(t))
			_, err := inspectAll(t, path)
			var se *SafetyError
			if !errors.As(err, &se) || se.Format != tt.format || se.Check != tt.check {
				t.Fatalf("error %v, want %s %s", err, tt.format, tt.check)
			}
			if !errors.Is(err, ErrUnsafe) || fault.KindOf(err) != fault.BadRequest {
				t.Fatalf("error %v: not ErrUnsafe / BadRequest", err)
			}
			for _, n := range []int{512, 4096, 64 << 10} {
				_, err, at, chunks := stream(readFile(t, path), n)
				if err == nil {
					t.Fatalf("chunks of %d: accepted", n)
				}
				if tt.early && n == 512 && chunks < 2 {
					t.Fatalf("fixture of %d chunks cannot show an early refusal", chunks)
				}
				if tt.early && chunks > 1 && (at < 0 || at == chunks-1) {
					t.Fatalf("chunks of %d: refused at chunk %d of %d, want before the last", n, at, chunks)
				}
			}
		})
	}
}

// hostileQCOW2 are qcow2 images with a backing file, an external data
// file, unchecked features or a broken header, and qed.
func hostileQCOW2() []hostileCase {
	return []hostileCase{
		{"qcow2 backing file", func(q *qemu) string {
			q.create("qcow2", "base.qcow2", "64M")
			return q.create("qcow2", "overlay.qcow2", "64M", "-b", "base.qcow2", "-F", "qcow2")
		}, QCOW2, "backing_file", true},
		{"qcow2 external data file", func(q *qemu) string {
			return q.create("qcow2", "df.qcow2", "64M", "-o", "data_file=df.raw")
		}, QCOW2, "data_file", true},
		{"qcow2 external raw data file", func(q *qemu) string {
			return q.create("qcow2", "dfr.qcow2", "64M", "-o", "data_file=dfr.raw,data_file_raw=on")
		}, QCOW2, "data_file", true},
		{"qcow2 unknown feature bit", func(q *qemu) string {
			p := q.create("qcow2", "feat.qcow2", "64M")
			patch(q.t, p, qcow2OffIncompat+7, []byte{1 << 5})
			return p
		}, QCOW2, "unknown_features", true},
		{"qcow2 extended L2", func(q *qemu) string {
			return q.create("qcow2", "l2.qcow2", "64M", "-o", "extended_l2=on")
		}, QCOW2, "unknown_features", true},
		{"qcow2 version 4", func(q *qemu) string {
			p := q.create("qcow2", "v4.qcow2", "64M")
			patch(q.t, p, qcow2OffVersion, []byte{0, 0, 0, 4})
			return p
		}, QCOW2, "unknown_features", true},
		{"qcow version 1", func(q *qemu) string { return q.create("qcow", "v1.qcow", "64M") }, QCOW2, "unknown_features", true},
		{"qcow2 truncated header", func(q *qemu) string {
			return q.write("short.qcow2", readFile(q.t, q.create("qcow2", "full.qcow2", "64M"))[:100])
		}, QCOW2, "header", false},
		{"qed", func(q *qemu) string { return q.create("qed", "a.qed", "64M") }, QED, "banned", true},
	}
}

// hostileVMDK are vmdk images with unsafe descriptors or broken footers.
func hostileVMDK() []hostileCase {
	return []hostileCase{
		{"vmdk extent path", func(q *qemu) string {
			p := q.create("vmdk", "slash.vmdk", "64M")
			patch(q.t, p, vmdkDescOffset, []byte(vmdkDesc("monolithicSparse", `RW 131072 SPARSE "/etc/shadow"`)))
			return p
		}, VMDK, "descriptor", true},
		{"vmdk createType", func(q *qemu) string {
			return q.write("flat.vmdk", sparseVMDK(vmdkDesc("monolithicFlat", `RW 2048 FLAT "disk-flat.vmdk" 0`), 2048, 21, 64<<10))
		}, VMDK, "descriptor", true},
		{"vmdk createType twice", func(q *qemu) string {
			d := "# createType=\"vmfs\"\n" + vmdkDesc("monolithicSparse", `RW 2048 SPARSE "x.vmdk"`)
			return q.write("twice.vmdk", sparseVMDK(d, 2048, 21, 64<<10))
		}, VMDK, "descriptor", true},
		{"vmdk unknown line", func(q *qemu) string {
			d := vmdkDesc("monolithicSparse", `RW 2048 SPARSE "x.vmdk"`, "include other.vmdk")
			return q.write("line.vmdk", sparseVMDK(d, 2048, 21, 64<<10))
		}, VMDK, "descriptor", true},
		{"vmdk no extents", func(q *qemu) string {
			return q.write("none.vmdk", sparseVMDK(vmdkDesc("monolithicSparse", ""), 2048, 21, 64<<10))
		}, VMDK, "descriptor", true},
		{"vmdk parentFileNameHint", func(q *qemu) string {
			// oslo accepts this descriptor; qemu opens the hint as a backing file.
			p := q.create("vmdk", "hint.vmdk", "64M")
			patch(q.t, p, vmdkDescOffset, []byte(vmdkDesc("monolithicSparse", `RW 131072 SPARSE "hint.vmdk"`,
				`parentFileNameHint="/etc/hostname"`)))
			return p
		}, VMDK, "parent", true},
		{"vmdk version 4", func(q *qemu) string {
			p := q.create("vmdk", "v4.vmdk", "64M")
			patch(q.t, p, vmdkOffVersion, []byte{4})
			return p
		}, VMDK, "header", true},
		{"vmdk text descriptor extent path", func(q *qemu) string {
			return q.write("text.vmdk", []byte(vmdkDesc("monolithicSparse", `RW 2048 SPARSE "../../etc/passwd"`)))
		}, VMDK, "descriptor", false},
		{"vmdk footer marker", func(q *qemu) string {
			return footerVMDK(q, "badmarker.vmdk", func(tail []byte) { tail[12] = 7 })
		}, VMDK, "footer", false},
		{"vmdk footer end-of-stream", func(q *qemu) string {
			return footerVMDK(q, "badeos.vmdk", func(tail []byte) { tail[2*sector+12] = 1 })
		}, VMDK, "footer", false},
		{"vmdk footer points at another footer", func(q *qemu) string {
			return footerVMDK(q, "twofooters.vmdk", func(tail []byte) {
				le.PutUint64(tail[sector+vmdkOffGDOffset:], vmdkGDAtEnd)
			})
		}, VMDK, "footer", false},
		{"vmdk footer capacity", func(q *qemu) string {
			return footerVMDK(q, "capacity.vmdk", func(tail []byte) { tail[sector+vmdkOffCapacity+4] = 1 })
		}, VMDK, "footer", false},
	}
}

// hostileOther are the other formats' unsafe variants and ambiguous images.
func hostileOther() []hostileCase {
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, n-len(b))...) }
	return []hostileCase{
		{"vhd differencing", func(q *qemu) string {
			p := q.create("vpc", "diff.vhd", "64M")
			patch(q.t, p, vhdOffType, []byte{0, 0, 0, vhdDiffering})
			return p
		}, VHD, "parent", true},
		{"vhdx parent locator", func(q *qemu) string {
			p := q.create("vhdx", "diff.vhdx", "64M")
			// Turn the first metadata item (file parameters) into a parent locator.
			meta := int64(le.Uint64(readFile(q.t, p)[vhdxRegionTable+16+32+16:]))
			patch(q.t, p, meta+32, []byte(vhdxParentLocator))
			return p
		}, VHDX, "parent", true},
		{"vdi differencing", func(q *qemu) string {
			p := q.create("vdi", "diff.vdi", "64M")
			patch(q.t, p, vdiOffType, []byte{4})
			return p
		}, VDI, "image_type", true},
		{"luks version 2", func(q *qemu) string {
			p := q.luks("v2.luks", "4M")
			patch(q.t, p, luksOffVersion, []byte{0, 2})
			return p
		}, LUKS, "version", true},
		{"mbr boot flag", func(q *qemu) string {
			return q.write("boot.img", mbrImage(64<<10, partition{boot: 0x55, kind: 0x83, lba: 63, size: 64}))
		}, GPT, "mbr", true},
		{"mbr without partitions", func(q *qemu) string { return q.write("nopart.img", mbrImage(64<<10)) }, GPT, "mbr", true},
		{"gpt with extra partitions", func(q *qemu) string {
			img := gptImage(64 << 10)
			copy(img[mbrTable+16:], []byte{0, 0, 0, 0, 0x83, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0})
			return q.write("extra.img", img)
		}, GPT, "mbr", true},
		{"gpt protective start LBA", func(q *qemu) string {
			img := gptImage(64 << 10)
			le.PutUint32(img[mbrTable+8:], 2)
			return q.write("lba.img", img)
		}, GPT, "mbr", true},
		{"qcow2 inside iso", func(q *qemu) string {
			iso := isoImage(64)
			copy(iso, readFile(q.t, q.create("qcow2", "inner.qcow2", "64M"))[:512])
			return q.write("qcow2.iso", iso)
		}, "qcow2+iso", "ambiguous", true},
		{"qcow2 inside fixed vhd", func(q *qemu) string {
			inner := pad(readFile(q.t, q.create("qcow2", "inner2.qcow2", "1M")), 4<<20)
			src := q.write("inner.raw", inner)
			q.run("convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", src, "qcow2.vhd")
			return q.path("qcow2.vhd")
		}, "qcow2+vhd", "ambiguous", false},
	}
}

// TestRefusedBeforeEnd is the point of inspecting while streaming: a large
// qcow2 with a backing file is refused on its first chunk.
func TestRefusedBeforeEnd(t *testing.T) {
	img := make([]byte, 8<<20)
	copy(img, qcow2Magic)
	binary.BigEndian.PutUint32(img[qcow2OffVersion:], 3)
	binary.BigEndian.PutUint64(img[qcow2OffBacking:], 0x200)
	_, err, at, chunks := stream(img, 64<<10)
	if at != 0 {
		t.Fatalf("refused at chunk %d of %d (%v), want 0", at, chunks, err)
	}
}
