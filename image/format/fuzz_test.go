package format

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// seeds are small real headers of each format.
func seeds() [][]byte {
	qcow2 := make([]byte, 1024)
	copy(qcow2, qcow2Magic)
	binary.BigEndian.PutUint32(qcow2[qcow2OffVersion:], 3)
	binary.BigEndian.PutUint64(qcow2[qcow2OffSize:], 1<<30)
	qcow2[100+3] = 104

	vhd := make([]byte, 2048)
	copy(vhd, vhdCookie)
	copy(vhd[vhdOffApp:], "qemu")
	binary.BigEndian.PutUint32(vhd[vhdOffType:], vhdDynamic)
	binary.BigEndian.PutUint16(vhd[vhdOffCyls:], 1004)
	vhd[vhdOffCyls+2], vhd[vhdOffCyls+3] = 12, 17
	fixed := make([]byte, 2048)
	copy(fixed[1536:], vhd[:sector])
	binary.BigEndian.PutUint32(fixed[1536+vhdOffType:], vhdFixed)
	binary.BigEndian.PutUint32(fixed[1536+vhdOffChecksum:], vhdChecksum(fixed[1536:]))

	vdi := make([]byte, 1024)
	le.PutUint32(vdi[vdiOffSig:], vdiSignature)
	le.PutUint32(vdi[vdiOffType:], 1)
	le.PutUint64(vdi[vdiOffSize:], 1<<20)

	luks := make([]byte, 1024)
	copy(luks, luksMagic)
	binary.BigEndian.PutUint16(luks[luksOffVersion:], 1)
	binary.BigEndian.PutUint32(luks[luksOffPayload:], 1)

	vhdx := make([]byte, 64)
	copy(vhdx, vhdxSignature)

	return [][]byte{
		{}, []byte("QED\x00"), qcow2, vhd, fixed, vdi, luks, vhdx,
		sparseVMDK(vmdkDesc("monolithicSparse", `RW 2048 SPARSE "a.vmdk"`), 2048, 21, 2048),
		sparseVMDK(vmdkDesc("streamOptimized", `RW 2048 SPARSE "a.vmdk"`), 2048, vmdkGDAtEnd, 4096),
		[]byte(vmdkDesc("monolithicSparse", `RW 2048 SPARSE "a.vmdk"`)),
		mbrImage(1024, partition{boot: 0x80, kind: 0x83, lba: 63, size: 1}),
		gptImage(2048),
		isoImage(18),
	}
}

// FuzzInspect checks, on any input, that nothing panics, that the
// streaming Inspector never holds more than MaxBuffered bytes, and that
// it agrees with InspectAt reading the same bytes.
func FuzzInspect(f *testing.F) {
	for _, s := range append(seeds(), realSeeds(f)...) {
		f.Add(s, uint16(512))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		checkAgree(t, data, int(chunk%4096)+1)
	})
}

// realSeeds returns the first 64 KiB of images qemu-img makes, when it is
// installed; the fuzz target still has the synthetic seeds without it.
func realSeeds(f *testing.F) [][]byte {
	bin, err := exec.LookPath("qemu-img")
	if err != nil {
		return nil
	}
	dir := f.TempDir()
	var out [][]byte
	for _, args := range [][]string{
		{"-f", "qcow2", "-o", "compat=0.10"}, {"-f", "qcow2"}, {"-f", "vmdk"},
		{"-f", "vmdk", "-o", "subformat=streamOptimized"}, {"-f", "vpc"}, {"-f", "vdi"}, {"-f", "qed"},
	} {
		path := filepath.Join(dir, "seed")
		os.Remove(path)
		cmd := exec.Command(bin, append(append([]string{"create", "-q"}, args...), path, "64M")...)
		if err := cmd.Run(); err != nil {
			f.Fatalf("qemu-img create %v: %v", args, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b[:min(len(b), 64<<10)])
	}
	return out
}
