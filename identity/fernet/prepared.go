package fernet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
	"sync/atomic"
)

// prepared is a key with its AES block and a pool of HMAC states, so a
// token costs no key schedule and no HMAC allocation.
type prepared struct {
	key   Key
	block cipher.Block
	macs  sync.Pool
}

func prepare(k Key) *prepared {
	block, _ := aes.NewCipher(k.encryption()) // 16-byte key: cannot fail
	p := &prepared{key: k, block: block}
	p.macs.New = func() any { return hmac.New(sha256.New, p.key.signing()) }
	return p
}

func (p *prepared) getMAC() hash.Hash  { h := p.macs.Get().(hash.Hash); h.Reset(); return h }
func (p *prepared) putMAC(h hash.Hash) { p.macs.Put(h) }

// keyCache maps keys to their prepared form. It forgets everything when it
// grows past maxPrepared, so keys rotated away do not pile up.
type keyCache struct {
	m sync.Map // Key -> *prepared
	n atomic.Int32
}

const maxPrepared = 64

func (c *keyCache) get(k Key) *prepared {
	if v, ok := c.m.Load(k); ok {
		return v.(*prepared)
	}
	if c.n.Add(1) > maxPrepared {
		c.m.Clear()
		c.n.Store(1)
	}
	p := prepare(k)
	c.m.Store(k, p)
	return p
}
