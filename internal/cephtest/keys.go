package cephtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
)

// entity is a cephx entity of a keyring: its name ("client.admin"), its
// secret and its caps (service, capability).
type entity struct {
	name string
	key  string
	caps [][2]string
}

// newKey is a cephx secret as ceph-authtool --gen-key makes it: the
// base64 of a CryptoKey (type AES = 1, created as seconds and
// nanoseconds, the length, 16 random bytes), little-endian.
func newKey() string {
	b := make([]byte, 2+8+2+16)
	binary.LittleEndian.PutUint16(b[0:], 1)
	now := time.Now()
	binary.LittleEndian.PutUint32(b[2:], uint32(now.Unix()))
	binary.LittleEndian.PutUint32(b[6:], uint32(now.Nanosecond()))
	binary.LittleEndian.PutUint16(b[10:], 16)
	rand.Read(b[12:])
	return base64.StdEncoding.EncodeToString(b)
}

func newUUID() string { return uuid.NewString() }

// writeKeyring writes entities as ceph-authtool writes a keyring.
func writeKeyring(path string, entities []entity, mode os.FileMode) error {
	var sb strings.Builder
	for _, e := range entities {
		fmt.Fprintf(&sb, "[%s]\n\tkey = %s\n", e.name, e.key)
		for _, c := range e.caps {
			fmt.Fprintf(&sb, "\tcaps %s = %q\n", c[0], c[1])
		}
	}
	return os.WriteFile(path, []byte(sb.String()), mode)
}
