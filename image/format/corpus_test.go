package format

import (
	"context"
	"os"
	"testing"
)

// corpusCase is a safe image and what inspecting it must find.
type corpusCase struct {
	name    string
	make    func(q *qemu) string
	format  string
	variant string
	qemuFmt string // ask qemu-img info for the virtual size with -f this
	virtual int64  // else expect this
}

// TestCorpus inspects images made by qemu-img and by hand, streaming and
// from the file, and checks format, variant and virtual size, the latter
// against qemu-img info where qemu can read the image.
func TestCorpus(t *testing.T) {
	q := newQemu(t)
	tests := append(corpusQemu(), corpusHand()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.make(q.sub(t))
			r, err := inspectAll(t, path)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			want := tt.virtual
			if tt.qemuFmt != "" {
				want = q.virtualSize(tt.qemuFmt, path)
			}
			fi, _ := os.Stat(path)
			if r.Format != tt.format || r.Variant != tt.variant || r.VirtualSize != want || r.Size != fi.Size() {
				t.Fatalf("got %+v, want format %q variant %q virtual size %d size %d",
					r, tt.format, tt.variant, want, fi.Size())
			}
		})
	}
}

// corpusQemu are images qemu-img makes.
func corpusQemu() []corpusCase {
	return []corpusCase{
		{"raw", func(q *qemu) string { return q.create("raw", "a.raw", "16M") }, Raw, "", "raw", 0},
		{"empty", func(q *qemu) string { return q.write("empty", nil) }, Raw, "", "", 0},
		{"qcow2 v2", func(q *qemu) string { return q.create("qcow2", "v2.qcow2", "1G", "-o", "compat=0.10") }, QCOW2, "v2", "qcow2", 0},
		{"qcow2 v3", func(q *qemu) string { return q.create("qcow2", "v3.qcow2", "1G") }, QCOW2, "v3", "qcow2", 0},
		{"qcow2 v3 zstd", func(q *qemu) string {
			return q.create("qcow2", "zstd.qcow2", "64M", "-o", "compression_type=zstd")
		}, QCOW2, "v3", "qcow2", 0},
		{"qcow2 v3 lazy refcounts", func(q *qemu) string {
			return q.create("qcow2", "lazy.qcow2", "64M", "-o", "lazy_refcounts=on")
		}, QCOW2, "v3", "qcow2", 0},
		{"vmdk monolithicSparse", func(q *qemu) string { return q.create("vmdk", "a.vmdk", "100M") }, VMDK, "monolithicSparse", "vmdk", 0},
		{"vmdk streamOptimized", func(q *qemu) string {
			src := q.create("qcow2", "src.qcow2", "64M")
			q.run("convert", "-O", "vmdk", "-o", "subformat=streamOptimized", src, "so.vmdk")
			return q.path("so.vmdk")
		}, VMDK, "streamOptimized", "vmdk", 0},
		{"vmdk streamOptimized with footer", func(q *qemu) string { return footerVMDK(q, "footer.vmdk", nil) }, VMDK, "streamOptimized", "vmdk", 0},
		{"vhd dynamic", func(q *qemu) string { return q.create("vpc", "dyn.vhd", "100M") }, VHD, "dynamic", "vpc", 0},
		{"vhd fixed", func(q *qemu) string { return q.create("vpc", "fixed.vhd", "16M", "-o", "subformat=fixed") }, VHD, "fixed", "vpc", 0},
		{"vhd fixed force_size", func(q *qemu) string {
			return q.create("vpc", "forced.vhd", "16M", "-o", "subformat=fixed,force_size=on")
		}, VHD, "fixed", "vpc", 0},
		{"vhd fixed holding an mbr disk", func(q *qemu) string {
			src := q.write("mbr.raw", mbrImage(4<<20, partition{boot: 0x80, kind: 0x83, lba: 2048, size: 4096}))
			q.run("convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", src, "mbr.vhd")
			return q.path("mbr.vhd")
		}, VHD, "fixed", "vpc", 0},
		{"vhdx", func(q *qemu) string { return q.create("vhdx", "a.vhdx", "100M") }, VHDX, "", "vhdx", 0},
		{"vdi dynamic", func(q *qemu) string { return q.create("vdi", "a.vdi", "100M") }, VDI, "dynamic", "vdi", 0},
		{"vdi static", func(q *qemu) string { return q.create("vdi", "s.vdi", "4M", "-o", "static=on") }, VDI, "fixed", "vdi", 0},
		{"luks", func(q *qemu) string {
			return q.luks("a.luks", "4M")
		}, LUKS, "v1", "", 4 << 20},
	}
}

// corpusHand are images built here: iso, partition tables, text vmdk.
func corpusHand() []corpusCase {
	return []corpusCase{
		{"vmdk text descriptor", func(q *qemu) string {
			return q.write("text.vmdk", []byte(vmdkDesc("monolithicSparse", `RW 2048 SPARSE "extent.vmdk"`)))
		}, VMDK, "monolithicSparse", "", 2048 * sector},
		{"iso", func(q *qemu) string { return q.write("a.iso", isoImage(200)) }, ISO, "iso9660", "", 200 * isoSector},
		{"iso hybrid", func(q *qemu) string {
			img := isoImage(300)
			copy(img, mbrImage(sector, partition{boot: 0x80, kind: 0x17, size: 300 * 4}))
			return q.write("hybrid.iso", img)
		}, ISO, "iso9660", "", 300 * isoSector},
		{"gpt", func(q *qemu) string { return q.write("gpt.raw", gptImage(1<<20)) }, GPT, "gpt", "raw", 0},
		{"mbr", func(q *qemu) string {
			return q.write("mbr.img", mbrImage(1<<20, partition{boot: 0x80, kind: 0x83, lba: 63, size: 1000}))
		}, GPT, "mbr", "raw", 0},
		{"fat boot sector is raw", func(q *qemu) string {
			img := mbrImage(1 << 20)
			img[0x10], img[0x15] = 2, mbrFATMedia
			return q.write("fat.img", img)
		}, Raw, "", "raw", 0},
	}
}

// footerVMDK converts an image to a stream-optimized vmdk and rewrites it
// the way VMware lays it out: gdOffset all ones in the header, the real
// header in a footer after a footer marker, then an end-of-stream marker.
// mangle, if set, edits the three trailing sectors.
func footerVMDK(q *qemu, name string, mangle func(tail []byte)) string {
	src := q.create("qcow2", name+".src", "32M")
	q.run("convert", "-O", "vmdk", "-o", "subformat=streamOptimized", src, name)
	path := q.path(name)
	img := readFile(q.t, path)
	header := append([]byte(nil), img[:sector]...)
	le.PutUint64(img[vmdkOffGDOffset:], vmdkGDAtEnd)
	// qemu ends the file with an end-of-stream marker: replace it.
	img = img[:len(img)-sector]
	tail := make([]byte, 3*sector)
	le.PutUint64(tail, 1)
	le.PutUint32(tail[12:], vmdkMarkerFooter)
	copy(tail[sector:], header)
	if mangle != nil {
		mangle(tail)
	}
	return q.write(name, append(img, tail...))
}

// TestInspectFileReadsHeadersOnly inspects a 10 GiB sparse qcow2 from the
// file: only the header ranges are read.
func TestInspectFileReadsHeadersOnly(t *testing.T) {
	q := newQemu(t)
	path := q.create("qcow2", "big.qcow2", "10G")
	r, err := InspectFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != QCOW2 || r.VirtualSize != 10<<30 {
		t.Fatalf("got %+v", r)
	}
	t.Logf("10 GiB qcow2 (%d-byte file): %d bytes read", r.Size, r.BytesRead)
	if r.BytesRead > 16<<10 {
		t.Fatalf("read %d bytes, want headers only", r.BytesRead)
	}
}

// TestTruncated cuts real images at the edges of the structures the
// probes read and checks that the stream and the file agree, whatever the
// verdict, with the buffers in bounds.
func TestTruncated(t *testing.T) {
	q := newQemu(t)
	images := map[string]string{
		"qcow2":  q.create("qcow2", "t.qcow2", "64M"),
		"vmdk":   q.create("vmdk", "t.vmdk", "64M"),
		"vhdx":   q.create("vhdx", "t.vhdx", "64M"),
		"vhd":    q.create("vpc", "t.vhd", "64M", "-o", "subformat=fixed"),
		"vdi":    q.create("vdi", "t.vdi", "64M"),
		"footer": footerVMDK(q, "t-footer.vmdk", nil),
	}
	cuts := []int{0, 3, 4, 63, 64, 100, 104, 511, 512, 513, 1023, 1024, 0x2a00, 32 << 10, 34<<10 - 1,
		192 << 10, 256<<10 - 1, 256 << 10, 3 << 20, 3<<20 + 64<<10, 3<<20 + 64<<10 + 4, 3<<20 + 64<<10 + 8}
	for name, path := range images {
		t.Run(name, func(t *testing.T) {
			img := readFile(t, path)
			for _, n := range append(cuts, len(img)-1536, len(img)-1, len(img)) {
				if n >= 0 && n <= len(img) {
					checkAgree(t, img[:n], 4096)
				}
			}
		})
	}
}
