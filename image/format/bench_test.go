package format

import (
	"context"
	"testing"
)

// BenchmarkInspectStream measures streaming throughput on a 256 MiB raw
// image written in chunks of the given size. Past the first 34 KiB only
// the tail is kept, so this is the inspector's overhead per Write.
func BenchmarkInspectStream(b *testing.B) {
	const size = 256 << 20
	for _, tc := range []struct {
		name  string
		chunk int
	}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		b.Run(tc.name, func(b *testing.B) {
			chunk := make([]byte, tc.chunk)
			for i := range chunk {
				chunk[i] = byte(i*31 + 7)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				in := NewInspector()
				for n := 0; n < size; n += len(chunk) {
					if _, err := in.Write(chunk); err != nil {
						b.Fatal(err)
					}
				}
				if r, err := in.Result(); err != nil || r.Format != Raw {
					b.Fatalf("%+v %v", r, err)
				}
			}
		})
	}
}

// BenchmarkInspectWorstCase streams the costliest head: a 1 MiB text
// vmdk descriptor, captured whole and parsed line by line.
func BenchmarkInspectWorstCase(b *testing.B) {
	line := []byte("ddb.comment = \"padding padding padding padding\"\n")
	img := []byte(vmdkDesc("monolithicSparse", `RW 2048 SPARSE "a.vmdk"`))
	for len(img)+len(line) < vmdkDescMax {
		img = append(img, line...)
	}
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	for b.Loop() {
		in := NewInspector()
		for i := 0; i < len(img); i += 64 << 10 {
			in.Write(img[i:min(len(img), i+64<<10)])
		}
		if r, err := in.Result(); err != nil || r.Format != VMDK {
			b.Fatalf("%+v %v", r, err)
		}
	}
}

// BenchmarkInspectFileSparseQCOW2 inspects a 10 GiB sparse qcow2 from the
// file and reports the bytes read: the headers only.
func BenchmarkInspectFileSparseQCOW2(b *testing.B) {
	path := newQemu(b).create("qcow2", "big.qcow2", "10G")
	var r Result
	for b.Loop() {
		var err error
		if r, err = InspectFile(context.Background(), path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.BytesRead), "bytes-read/op")
}
