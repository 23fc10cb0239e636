package store

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"

	"github.com/gostack/gostack/kit/fault"
)

// DefaultHashAlgo is Glance's default os_hash_algo.
const DefaultHashAlgo = "sha512"

// hashes are the os_hash_algo values accepted (Glance accepts any
// hashlib name; these are the ones worth having).
var hashes = map[string]func() hash.Hash{
	"sha512": sha512.New, "sha384": sha512.New384, "sha256": sha256.New, "sha224": sha256.New224,
}

// Digest computes Glance's two hashes in one pass: md5 (the legacy
// "checksum") and the os_hash_algo one.
type Digest struct {
	algo  string
	md5   hash.Hash
	multi hash.Hash
}

// NewDigest returns a digest for algo ("" means sha512).
func NewDigest(algo string) (*Digest, error) {
	if algo == "" {
		algo = DefaultHashAlgo
	}
	h, ok := hashes[algo]
	if !ok {
		return nil, fmt.Errorf("store: unsupported hash algorithm %q: %w", algo, fault.ErrBadRequest)
	}
	return &Digest{algo: algo, md5: md5.New(), multi: h()}, nil
}

// parallelMin is the chunk size from which the two hashes run on two
// goroutines (each chunk costs a goroutine hand-off).
const parallelMin = 64 << 10

// Write feeds both hashes, in parallel for large chunks.
func (d *Digest) Write(p []byte) (int, error) {
	if len(p) < parallelMin {
		d.md5.Write(p)
		d.multi.Write(p)
		return len(p), nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.md5.Write(p)
	}()
	d.multi.Write(p)
	wg.Wait()
	return len(p), nil
}

// Object returns the hashes so far (Size is left zero).
func (d *Digest) Object() Object {
	return Object{Checksum: hex.EncodeToString(d.md5.Sum(nil)), HashAlgo: d.algo, HashValue: hex.EncodeToString(d.multi.Sum(nil))}
}
