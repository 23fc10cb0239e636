package format

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// qemu runs qemu-img, skipping the test (failing it in CI) when it is absent.
type qemu struct {
	t   testing.TB
	bin string
	dir string
}

func newQemu(t testing.TB) *qemu {
	t.Helper()
	return &qemu{t: t, bin: testenv.LookPath(t, "qemu-img", "qemu-utils"), dir: t.TempDir()}
}

// sub returns a qemu for the subtest t, sharing the directory.
func (q *qemu) sub(t *testing.T) *qemu { return &qemu{t: t, bin: q.bin, dir: q.dir} }

// luks creates a LUKS image. qemu-img times PBKDF2 to choose the iteration
// count and now and then fails to measure it ("Unable to get accurate CPU
// usage"), so it tries a few times.
func (q *qemu) luks(name, size string) string {
	q.t.Helper()
	var out []byte
	for range 5 {
		cmd := exec.Command(q.bin, "create", "-q", "-f", "luks", "--object", "secret,id=sec0,data=s3cret",
			"-o", "key-secret=sec0,iter-time=10", name, size)
		cmd.Dir = q.dir
		var err error
		if out, err = cmd.CombinedOutput(); err == nil {
			return q.path(name)
		}
	}
	q.t.Fatalf("qemu-img create -f luks: %s", out)
	return ""
}

// path returns a file name in the test's directory.
func (q *qemu) path(name string) string { return filepath.Join(q.dir, name) }

// run runs qemu-img in the test's directory.
func (q *qemu) run(args ...string) {
	q.t.Helper()
	cmd := exec.Command(q.bin, args...)
	cmd.Dir = q.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		q.t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// create runs qemu-img create -q -f format [args] name size and returns the path.
func (q *qemu) create(format, name, size string, args ...string) string {
	q.t.Helper()
	q.run(append(append([]string{"create", "-q", "-f", format}, args...), name, size)...)
	return q.path(name)
}

// virtualSize asks qemu-img info for the virtual size of path read as format.
func (q *qemu) virtualSize(format, path string) int64 {
	q.t.Helper()
	out, err := exec.Command(q.bin, "info", "--output=json", "-f", format, path).CombinedOutput()
	if err != nil {
		q.t.Fatalf("qemu-img info %s: %v\n%s", path, err, out)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		q.t.Fatalf("qemu-img info %s: %v", path, err)
	}
	return info.VirtualSize
}

// write stores data in the test's directory and returns the path.
func (q *qemu) write(name string, data []byte) string {
	q.t.Helper()
	p := q.path(name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		q.t.Fatal(err)
	}
	return p
}

// patch rewrites bytes of a file in place.
func patch(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readFile reads a whole fixture.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stream feeds data to a new Inspector in chunks of n bytes. It returns the
// result, and the index of the chunk whose Write failed (-1 if none) out
// of how many chunks.
func stream(data []byte, n int) (r Result, err error, failedAt, chunks int) {
	in := NewInspector()
	failedAt = -1
	chunks = (len(data) + n - 1) / n
	for i := 0; i < chunks; i++ {
		if _, err := in.Write(data[i*n : min(len(data), (i+1)*n)]); err != nil {
			return Result{}, err, i, chunks
		}
	}
	r, err = in.Result()
	return r, err, failedAt, chunks
}

// inspectAll inspects path with InspectFile and as streams in several
// chunk sizes, fails the test if they disagree, and returns the file
// result.
func inspectAll(t *testing.T, path string) (Result, error) {
	t.Helper()
	want, wantErr := InspectFile(context.Background(), path)
	data := readFile(t, path)
	for _, n := range []int{511, 4096, 1 << 20} {
		got, err, _, _ := stream(data, n)
		if !sameError(err, wantErr) {
			t.Fatalf("chunks of %d: error %v, InspectFile: %v", n, err, wantErr)
		}
		got.BytesRead, got.Examined = want.BytesRead, want.Examined
		if got != want {
			t.Fatalf("chunks of %d: %+v, InspectFile: %+v", n, got, want)
		}
	}
	got, err := Inspect(context.Background(), bytes.NewReader(data))
	if !sameError(err, wantErr) {
		t.Fatalf("Inspect: error %v, InspectFile: %v", err, wantErr)
	}
	if err == nil && (got.Format != want.Format || got.VirtualSize != want.VirtualSize) {
		t.Fatalf("Inspect: %+v, InspectFile: %+v", got, want)
	}
	return want, wantErr
}

// sameError reports whether two errors are both nil or refuse the image
// for the same check.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var sa, sb *SafetyError
	if !errors.As(a, &sa) || !errors.As(b, &sb) {
		return a.Error() == b.Error()
	}
	return sa.Check == sb.Check
}

var le = binary.LittleEndian

// isoImage builds a minimal ISO 9660 image: an empty system area, a
// primary volume descriptor in sector 16 and a set terminator in sector 17,
// blocks 2 KiB sectors in all.
func isoImage(blocks uint32) []byte {
	img := make([]byte, int(blocks)*isoSector)
	pvd := img[16*isoSector:]
	pvd[0], pvd[6] = 1, 1
	copy(pvd[1:], "CD001")
	copy(pvd[40:], "GOSTACK")
	le.PutUint32(pvd[80:], blocks)
	binary.BigEndian.PutUint32(pvd[84:], blocks)
	le.PutUint16(pvd[128:], isoSector)
	binary.BigEndian.PutUint16(pvd[130:], isoSector)
	term := img[17*isoSector:]
	term[0], term[6] = 255, 1
	copy(term[1:], "CD001")
	return img
}

// partition is one MBR partition table entry.
type partition struct {
	boot      byte
	chs       [3]byte
	kind      byte
	lba, size uint32
}

// mbrImage builds a size-byte disk with an MBR holding the given entries.
func mbrImage(size int, parts ...partition) []byte {
	img := make([]byte, size)
	for i, p := range parts {
		e := img[mbrTable+16*i:]
		e[0] = p.boot
		copy(e[1:4], p.chs[:])
		e[4] = p.kind
		le.PutUint32(e[8:], p.lba)
		le.PutUint32(e[12:], p.size)
	}
	le.PutUint16(img[510:], mbrSignature)
	return img
}

// gptImage builds a disk with a protective MBR and a GPT header at LBA 1.
func gptImage(size int) []byte {
	img := mbrImage(size, partition{chs: [3]byte{0, 2, 0}, kind: mbrProtective, lba: 1, size: uint32(size/sector - 1)})
	copy(img[sector:], "EFI PART")
	return img
}

// sparseVMDK builds a hosted sparse vmdk header with desc as its embedded
// descriptor, padded to size bytes.
func sparseVMDK(desc string, capacity uint64, gdOffset uint64, size int) []byte {
	img := make([]byte, size)
	copy(img, vmdkMagic)
	le.PutUint32(img[vmdkOffVersion:], 1)
	le.PutUint64(img[vmdkOffCapacity:], capacity)
	le.PutUint64(img[20:], 128)
	le.PutUint64(img[vmdkOffDescSector:], 1)
	le.PutUint64(img[vmdkOffDescSize:], 20)
	le.PutUint64(img[vmdkOffGDOffset:], gdOffset)
	copy(img[vmdkDescOffset:], desc)
	return img
}

// vmdkDesc is a descriptor like the ones qemu writes, with the given
// createType and extent line.
func vmdkDesc(createType, extent string, extra ...string) string {
	lines := []string{
		"# Disk DescriptorFile", "version=1", "CID=12345678", "parentCID=ffffffff",
		`createType="` + createType + `"`, "", "# Extent description", extent, "",
		"# The Disk Data Base", "#DDB", "", `ddb.virtualHWVersion = "4"`, `ddb.adapterType = "ide"`,
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}
