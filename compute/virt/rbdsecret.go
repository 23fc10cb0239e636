package virt

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// ErrNoKey is an rbd volume whose cephx key the host does not have: no
// keyring for its secret uuid, or none for its user in that keyring.
var ErrNoKey = errors.New("compute/virt: no cephx key for the volume")

// RBDSecrets are the cephx keys a host gives its guests' RBD volumes,
// by secret uuid (the connection's secret_uuid, RBD.SecretUUID): each
// names a keyring file. Nova's hosts hold each key as a libvirt secret
// of that uuid (usage ceph) which operators define; here the drivers
// read it from the file when a volume is attached or a guest boots from
// one: compute/qemu copies it into the guest's own secret file,
// compute/libvirt defines the libvirt secret with it when the host has
// none of that uuid.
//
// A keyring file is a Ceph keyring, as "ceph auth get client.<user>" or
// ceph-authtool write it ("[client.<user>]" then "key = <base64>"), the
// key read from the section of the connection's user; or a file holding
// the key alone, as "ceph auth get-key" writes it. It should be
// readable by the agent's user only.
type RBDSecrets map[string]string

// Key is the cephx key (base64, as Ceph writes it) of client.<user>
// that secret uuid names. Errors wrap ErrNoKey, or say what is wrong
// with the file, and never hold a key.
func (s RBDSecrets) Key(secretUUID, user string) (string, error) {
	path, ok := s.path(secretUUID)
	if !ok {
		return "", fmt.Errorf("%w: no keyring for secret uuid %s", ErrNoKey, secretUUID)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("compute/virt: keyring of secret uuid %s: %w", secretUUID, err)
	}
	key, err := keyringKey(b, user)
	if err != nil {
		return "", fmt.Errorf("compute/virt: keyring %s of secret uuid %s: %w", path, secretUUID, err)
	}
	return key, nil
}

// Has says whether secret uuid names a keyring.
func (s RBDSecrets) Has(secretUUID string) bool {
	_, ok := s.path(secretUUID)
	return ok
}

func (s RBDSecrets) path(secretUUID string) (string, bool) {
	path, ok := s[strings.ToLower(secretUUID)]
	if !ok {
		path, ok = s[secretUUID]
	}
	if !ok {
		// A uuid written in capitals in the configuration.
		for k, p := range s {
			if strings.EqualFold(k, secretUUID) {
				path, ok = p, true
				break
			}
		}
	}
	return path, ok && path != ""
}

// keyringKey is client.<user>'s key in a keyring, or the key a file
// holds alone.
func keyringKey(b []byte, user string) (string, error) {
	if t := string(bytes.TrimSpace(b)); t != "" && !strings.ContainsAny(t, "[\n") {
		if err := CheckCephKey(t); err != nil {
			return "", err
		}
		return t, nil
	}
	want := "client." + user
	var section string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
		case section == want:
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.TrimSpace(k) == "key" {
				v = strings.Trim(strings.TrimSpace(v), `"`)
				if err := CheckCephKey(v); err != nil {
					return "", fmt.Errorf("%s: %w", want, err)
				}
				return v, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%w: no key of %s in it", ErrNoKey, want)
}

// CheckCephKey accepts a cephx secret as Ceph writes it: the base64 of
// a CryptoKey (its type, its creation time, the length of the secret
// that follows, the secret). The error does not hold the key.
func CheckCephKey(key string) error {
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(b) < 12 || int(binary.LittleEndian.Uint16(b[10:12])) != len(b)-12 || len(b) == 12 {
		return errors.New("not a cephx key (the base64 of a CryptoKey, as ceph auth get-key prints it)")
	}
	return nil
}

// ParseRBDSecrets reads RBDSecrets from a driver setting,
// "<uuid>=<keyring file>" pairs separated by commas.
func ParseRBDSecrets(s string) (RBDSecrets, error) {
	out := RBDSecrets{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		id, path, ok := strings.Cut(pair, "=")
		id, path = strings.TrimSpace(id), strings.TrimSpace(path)
		if !ok || !isUUID(id) || path == "" {
			return nil, fmt.Errorf("compute/virt: rbd secret %q: want <uuid>=<keyring file>", pair)
		}
		out[strings.ToLower(id)] = path
	}
	return out, nil
}

// Check refuses an entry whose uuid is not one or whose file is not
// named.
func (s RBDSecrets) Check() error {
	for id, path := range s {
		if !isUUID(id) {
			return fmt.Errorf("compute/virt: rbd secret %q: not a uuid", id)
		}
		if path == "" {
			return fmt.Errorf("compute/virt: rbd secret %s: no keyring file", id)
		}
	}
	return nil
}

// RBDKeyrings are keyrings a host learns while it runs, beside the
// RBDSecrets it was configured with: the all-in-one adds its in-process
// RBD volume backend's keyring once the backend knows its secret uuid
// (the cluster's fsid when none is set). Safe for concurrent use; the
// zero value is empty, and a nil *RBDKeyrings has nothing.
type RBDKeyrings struct {
	mu sync.RWMutex
	m  RBDSecrets
}

// Add names keyring for secret uuid; a uuid it has already keeps its
// keyring (false).
func (k *RBDKeyrings) Add(secretUUID, keyring string) (bool, error) {
	if !isUUID(secretUUID) || keyring == "" {
		return false, fmt.Errorf("compute/virt: rbd secret %q: want a uuid and a keyring file", secretUUID)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m.Has(secretUUID) {
		return false, nil
	}
	if k.m == nil {
		k.m = RBDSecrets{}
	}
	k.m[strings.ToLower(secretUUID)] = keyring
	return true, nil
}

// With is base with the keyrings learnt for the uuids base does not
// have: what the configuration names wins.
func (k *RBDKeyrings) With(base RBDSecrets) RBDSecrets {
	if k == nil {
		return base
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.m) == 0 {
		return base
	}
	out := make(RBDSecrets, len(base)+len(k.m))
	for id, path := range k.m {
		if !base.Has(id) {
			out[id] = path
		}
	}
	for id, path := range base {
		out[id] = path
	}
	return out
}
