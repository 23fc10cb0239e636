// Package randfile writes the incompressible files benchmarks upload and
// copy, the same bytes for the same seed.
package randfile

import (
	"math/rand/v2"
	"os"
)

// Write writes size bytes of ChaCha8 output for seed to path, replacing
// what is there.
func Write(path string, size int64, seed byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 4<<20)
	r := rand.NewChaCha8([32]byte{seed})
	for left := size; left > 0; left -= int64(len(buf)) {
		r.Read(buf)
		if _, err := f.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
