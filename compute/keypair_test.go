package compute_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// Keys made with ssh-keygen and openssl, their fingerprints as Nova's
// own nova.crypto computes them.
const (
	testSSHKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMndHqje7Lv4uWQiXTVyY4Cp2RutcOpUJCJTiZCCNxw+ alice@example"
	testSSHPrint = "50:bf:b0:0a:9c:8d:2b:8d:1e:8e:e8:9b:7e:ab:7f:e3"
	testCert     = `-----BEGIN CERTIFICATE-----
MIIB/DCCAWWgAwIBAgIUTBcpAA2MQIVmo2UnxArsxdoDjNUwDQYJKoZIhvcNAQEL
BQAwEDEOMAwGA1UEAwwFYWxpY2UwHhcNMjYxMjA1MDQyNzUyWhcNMzYxMjAyMDQy
NzUyWjAQMQ4wDAYDVQQDDAVhbGljZTCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC
gYEAy9F+XJKTvKaE+BOfslHWbsACsQHArMBR8ne13jRNWyvMXroVUuyLvg21ZWIh
hAyeGJFXF/mgBHE7A0tMSUItWdvpCnPVyFzUecnHJ9HI3HWWz9UfL1XWWoaG2EKE
HsJZn3M5Sp4B5s9yMLrVLSGrfZMEKo60JGR55aVZDsDW+qsCAwEAAaNTMFEwHQYD
VR0OBBYEFBBKO4F7m0AZNebX0jRZPAQOI5CUMB8GA1UdIwQYMBaAFBBKO4F7m0AZ
NebX0jRZPAQOI5CUMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADgYEA
YVwFjZOR50ZhE69hK0ZACQR8cHMJfLiAsJsMWTmBuYIqe9EJRecj9RGfED0Jkb59
9mmToz79QiEr6EQ8IjqdYL+PZAsEPXB9v5+82b2N1oFtrOQ5c2O3Ayr8AD08q9Ai
gOByaHV11+pIYzIirGZMPusf2BelhEl8jsPSmlQxjpQ=
-----END CERTIFICATE-----
`
	testCertPrint = "46:75:bc:14:50:23:e5:7f:94:ca:96:16:7a:29:a5:1b:3e:65:5f:99"
)

func TestKeyPairFingerprint(t *testing.T) {
	for _, c := range []struct{ typ, key, want, err string }{
		{"ssh", testSSHKey, testSSHPrint, ""},
		{"", testSSHKey, testSSHPrint, ""},
		{"x509", testCert, testCertPrint, ""},
		{"ssh", "ssh-rsa notbase64", "", "Keypair data is invalid: failed to generate fingerprint"},
		{"ssh", strings.Replace(testSSHKey, "ssh-ed25519", "ssh-rsa", 1), "", "failed to generate fingerprint"},
		{"ssh", "", "", "failed to generate fingerprint"},
		{"x509", testSSHKey, "", "Keypair data is invalid: failed to generate X509 fingerprint."},
	} {
		got, err := compute.KeyPairFingerprint(c.typ, c.key)
		if c.err != "" {
			if fault.KindOf(err) != fault.BadRequest || !strings.Contains(fault.Message(err), c.err) {
				t.Errorf("%s %.20q: %v, want a 400 with %q", c.typ, c.key, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %.20q = %q, %v; want %q", c.typ, c.key, got, err, c.want)
		}
	}
	for _, typ := range []string{"ssh", "x509"} {
		priv, pub, err := compute.GenerateKeyPair(typ, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := compute.KeyPairFingerprint(typ, pub); err != nil || !strings.Contains(priv, "PRIVATE KEY-----") {
			t.Errorf("generated %s: %v\n%s", typ, err, pub)
		}
		if typ == "ssh" && (!strings.HasPrefix(pub, "ssh-rsa ") || !strings.HasSuffix(pub, " Generated-by-Nova")) {
			t.Errorf("generated ssh key %q", pub)
		}
	}
}

func TestKeyPairs(t *testing.T) {
	ctx := context.Background()
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			s, _, _ := newStore(t, eng.DSN)
			k1, err := s.ImportKeyPair(ctx, compute.NewKeyPair{UserID: "alice", Name: "k1", PublicKey: testSSHKey})
			if err != nil || k1.Fingerprint != testSSHPrint || k1.Type != "ssh" || k1.ID == 0 {
				t.Fatalf("import: %+v %v", k1, err)
			}
			// The name is per user: bob may have a k1 too.
			if _, err := s.ImportKeyPair(ctx, compute.NewKeyPair{UserID: "bob", Name: "k1", PublicKey: testSSHKey}); err != nil {
				t.Fatal(err)
			}
			_, err = s.ImportKeyPair(ctx, compute.NewKeyPair{UserID: "alice", Name: "k1", Type: "x509", PublicKey: testCert})
			if fault.KindOf(err) != fault.Conflict || fault.Message(err) != "Key pair 'k1' already exists." {
				t.Fatalf("duplicate: %v", err)
			}
			for i := 2; i <= 5; i++ {
				if _, err := s.ImportKeyPair(ctx, compute.NewKeyPair{UserID: "alice", Name: fmt.Sprintf("k%d", i), PublicKey: testSSHKey}); err != nil {
					t.Fatal(err)
				}
			}
			page, err := s.KeyPairs(ctx, "alice", "k2", 2)
			if err != nil || len(page) != 2 || page[0].Name != "k3" || page[1].Name != "k4" {
				t.Fatalf("page after k2: %+v %v", page, err)
			}
			if _, err := s.KeyPairs(ctx, "alice", "nope", 0); fault.KindOf(err) != fault.BadRequest || fault.Message(err) != "Marker nope could not be found." {
				t.Fatalf("bad marker: %v", err)
			}
			if err := s.DeleteKeyPair(ctx, "alice", "k3"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteKeyPair(ctx, "alice", "k3"); fault.KindOf(err) != fault.NotFound || fault.Message(err) != "Keypair k3 not found for user alice" {
				t.Fatalf("second delete: %v", err)
			}
			all, _ := s.KeyPairs(ctx, "alice", "", 0)
			if len(all) != 4 {
				t.Fatalf("alice has %d key pairs", len(all))
			}
			got, err := s.KeyPair(ctx, "bob", "k1")
			if err != nil || got.UserID != "bob" {
				t.Fatalf("bob's k1: %+v %v", got, err)
			}

			// The quota holds under concurrent creates: 16 at once for 5
			// places, and the count never goes over.
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, over := 0, 0
			for i := range 16 {
				wg.Go(func() {
					_, err := s.ImportKeyPair(ctx, compute.NewKeyPair{UserID: "carol", Name: fmt.Sprintf("c%d", i), PublicKey: testSSHKey, Quota: 5})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case fault.KindOf(err) == fault.Forbidden && fault.Message(err) == "Quota exceeded, too many key pairs.":
						over++
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if ok != 5 || over != 11 {
				t.Fatalf("%d created, %d over quota; want 5 and 11", ok, over)
			}
		})
	}
}
