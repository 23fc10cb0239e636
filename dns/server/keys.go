package server

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"

	"github.com/miekg/dns"
)

// keyset is the TSIG keys in force, by canonical name; SetKeys replaces
// it whole, so a request sees one set.
type keyset map[string]Key

// SetKeys replaces the TSIG keys (Config.Keys at first): requests
// verified, answers signed and NOTIFYs sent from then on use the new
// set. A transfer already running keeps the key it was signed with.
func (s *Server) SetKeys(keys []Key) {
	ks := keyset{}
	for _, k := range keys {
		k.Name = dns.CanonicalName(k.Name)
		if k.Algorithm == "" {
			k.Algorithm = dns.HmacSHA256
		}
		k.Algorithm = dns.CanonicalName(k.Algorithm)
		if k.Algorithm == "hmac-md5." {
			k.Algorithm = dns.HmacMD5 // its name on the wire (RFC 8945 6)
		}
		ks[k.Name] = k
	}
	s.keyring.Store(&ks)
}

// key returns the key of that name (any case, with or without the dot).
func (s *Server) key(name string) (Key, bool) {
	k, ok := (*s.keyring.Load())[dns.CanonicalName(name)]
	return k, ok
}

// tsigProvider computes TSIG MACs with the server's current keys, for
// miekg/dns (TCP and transfers) and the batched UDP path alike.
type tsigProvider struct{ s *Server }

// Generate is the MAC of msg (the TSIG variables already appended by
// miekg/dns) with t's key, by t's algorithm.
func (p tsigProvider) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	k, ok := p.s.key(t.Hdr.Name)
	if !ok {
		return nil, dns.ErrSecret
	}
	secret, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil {
		return nil, dns.ErrSecret
	}
	var h func() hash.Hash
	switch dns.CanonicalName(t.Algorithm) {
	case dns.HmacMD5, "hmac-md5.":
		h = md5.New
	case dns.HmacSHA1:
		h = sha1.New
	case dns.HmacSHA224:
		h = sha256.New224
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA384:
		h = sha512.New384
	case dns.HmacSHA512:
		h = sha512.New
	default:
		return nil, dns.ErrKeyAlg
	}
	m := hmac.New(h, secret)
	m.Write(msg)
	return m.Sum(nil), nil
}

// Verify checks t's MAC over msg.
func (p tsigProvider) Verify(msg []byte, t *dns.TSIG) error {
	want, err := p.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, got) {
		return dns.ErrSig
	}
	return nil
}
