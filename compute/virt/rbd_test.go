package virt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute/virt"
)

const secretUUID = "457eb676-33da-42ec-9a8c-9293d545c337"

// rbdDisk is an rbd volume's connection as Cinder's RBD driver gives it
// (after VolumeDisk), with changes.
func rbdDisk(change func(map[string]string)) virt.Disk {
	c := map[string]string{
		"name": "volumes/volume-5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", "hosts": "192.0.2.1,192.0.2.2,2001:db8::3",
		"ports": "6789,6789,3300", "cluster_name": "ceph", "auth_enabled": "true", "auth_username": "cinder",
		"secret_type": "ceph", "secret_uuid": secretUUID, "volume_id": "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", "discard": "true",
	}
	if change != nil {
		change(c)
	}
	return virt.Disk{Protocol: "rbd", Connection: c}
}

func TestRBD(t *testing.T) {
	mons := []virt.Monitor{{Host: "192.0.2.1", Port: 6789}, {Host: "192.0.2.2", Port: 6789}, {Host: "2001:db8::3", Port: 3300}}
	full := virt.RBD{Pool: "volumes", Image: "volume-5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", Monitors: mons, User: "cinder",
		SecretUUID: secretUUID, Cluster: "ceph"}
	for _, c := range []struct {
		name string
		disk virt.Disk
		want virt.RBD
		err  string
	}{
		{name: "cephx", disk: rbdDisk(nil), want: full},
		{name: "no authentication", disk: rbdDisk(func(c map[string]string) {
			c["auth_enabled"] = "false"
			delete(c, "auth_username")
			delete(c, "secret_uuid")
			delete(c, "cluster_name")
		}), want: virt.RBD{Pool: "volumes", Image: full.Image, Monitors: mons, Cluster: "ceph"}},
		{name: "auth_enabled as Python prints it", disk: rbdDisk(func(c map[string]string) { c["auth_enabled"] = "True" }), want: full},
		{name: "no secret_type", disk: rbdDisk(func(c map[string]string) { delete(c, "secret_type") }), want: full},
		{name: "one monitor", disk: rbdDisk(func(c map[string]string) { c["hosts"], c["ports"] = "mon-1.example", "6789" }),
			want: func() virt.RBD { r := full; r.Monitors = []virt.Monitor{{Host: "mon-1.example", Port: 6789}}; return r }()},
		{name: "not rbd", disk: virt.Disk{Protocol: "iscsi"}, err: "not rbd"},
		{name: "no name", disk: rbdDisk(func(c map[string]string) { delete(c, "name") }), err: "want pool/image"},
		{name: "no pool", disk: rbdDisk(func(c map[string]string) { c["name"] = "volume-1" }), err: "want pool/image"},
		{name: "a snapshot", disk: rbdDisk(func(c map[string]string) { c["name"] = "volumes/volume-1@snap" }), err: "want pool/image"},
		{name: "three parts", disk: rbdDisk(func(c map[string]string) { c["name"] = "volumes/ns/volume-1" }), err: "want pool/image"},
		{name: "an option in the name", disk: rbdDisk(func(c map[string]string) { c["name"] = "volumes/v:conf=/etc/x" }), err: "want pool/image"},
		{name: "no hosts", disk: rbdDisk(func(c map[string]string) { delete(c, "hosts"); delete(c, "ports") }), err: "no hosts"},
		{name: "a port short", disk: rbdDisk(func(c map[string]string) { c["ports"] = "6789,6789" }), err: "3 hosts and 2 ports"},
		{name: "no ports", disk: rbdDisk(func(c map[string]string) { delete(c, "ports") }), err: "3 hosts and 1 ports"},
		{name: "port 0", disk: rbdDisk(func(c map[string]string) { c["ports"] = "6789,0,3300" }), err: "port \"0\""},
		{name: "a port not a number", disk: rbdDisk(func(c map[string]string) { c["ports"] = "6789,x,3300" }), err: "port \"x\""},
		{name: "a host in brackets", disk: rbdDisk(func(c map[string]string) { c["hosts"] = "192.0.2.1,[2001:db8::2],192.0.2.3" }), err: "host \"[2001:db8::2]\""},
		{name: "an empty host", disk: rbdDisk(func(c map[string]string) { c["hosts"] = "192.0.2.1,,192.0.2.3" }), err: "host \"\""},
		{name: "cephx without a user", disk: rbdDisk(func(c map[string]string) { delete(c, "auth_username") }), err: "auth_username"},
		{name: "a user with a newline", disk: rbdDisk(func(c map[string]string) { c["auth_username"] = "cinder\nx" }), err: "auth_username"},
		{name: "cephx without a secret uuid", disk: rbdDisk(func(c map[string]string) { delete(c, "secret_uuid") }), err: "secret_uuid \"\""},
		{name: "a secret uuid that is none", disk: rbdDisk(func(c map[string]string) { c["secret_uuid"] = "client.cinder" }), err: "secret_uuid"},
		{name: "another secret type", disk: rbdDisk(func(c map[string]string) { c["secret_type"] = "iscsi" }), err: "secret_type"},
		{name: "auth_enabled not a bool", disk: rbdDisk(func(c map[string]string) { c["auth_enabled"] = "yes" }), err: "auth_enabled"},
		{name: "a bad cluster name", disk: rbdDisk(func(c map[string]string) { c["cluster_name"] = "../etc" }), err: "cluster_name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.disk.RBD()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, virt.ErrBadVolume) {
					t.Fatalf("RBD() = %v, %v; want an ErrBadVolume with %q", got, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("RBD() = %+v, want %+v", got, c.want)
			}
		})
	}
	if got, want := full.String(), "volumes/"+full.Image+" at 192.0.2.1:6789,192.0.2.2:6789,[2001:db8::3]:3300 (cephx user cinder, secret "+secretUUID+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestVolumeDiskRBD: Cinder's RBD connection info, decoded from JSON or
// built in Go (storage/rbd's []string lists), makes the same disk: the
// monitors' lists joined by commas, a keyring (Cinder's
// rbd_keyring_conf) not kept, the null auth_username of a volume
// without cephx left out.
func TestVolumeDiskRBD(t *testing.T) {
	key := cephKey(1)
	data := map[string]any{
		"name": "volumes/volume-5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", "hosts": []string{"192.0.2.1", "192.0.2.2", "2001:db8::3"},
		"ports": []string{"6789", "6789", "3300"}, "cluster_name": "ceph", "auth_enabled": true, "auth_username": "cinder",
		"secret_type": "ceph", "secret_uuid": secretUUID, "volume_id": "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f", "discard": true,
		"keyring": "[client.cinder]\n\tkey = " + key + "\n",
	}
	built := map[string]any{"driver_volume_type": "rbd", "data": data}
	b, err := json.Marshal(built)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	numbers := map[string]any{"driver_volume_type": "rbd", "data": map[string]any{"hosts": []any{"192.0.2.1"}, "ports": []any{6789.0}}}
	want := rbdDisk(nil)
	want.Serial = want.Connection["volume_id"]
	for name, info := range map[string]map[string]any{"built in Go": built, "decoded from JSON": decoded} {
		got, err := virt.VolumeDisk(info)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: VolumeDisk = %v, want %v", name, got, want)
		}
		if _, err := got.RBD(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got, err := virt.VolumeDisk(numbers); err != nil || got.Connection["ports"] != "6789" {
		t.Errorf("ports as JSON numbers: %v, %v", got, err)
	}
	for _, bad := range []any{[]any{map[string]any{}}, []any{6789.5}} {
		info := map[string]any{"driver_volume_type": "rbd", "data": map[string]any{"ports": bad}}
		if d, err := virt.VolumeDisk(info); !errors.Is(err, virt.ErrBadVolume) {
			t.Errorf("ports %v: %v, %v; want ErrBadVolume", bad, d, err)
		}
	}
	// Without cephx, Cinder's auth_username is null.
	data["auth_enabled"], data["auth_username"] = false, nil
	got, err := virt.VolumeDisk(map[string]any{"driver_volume_type": "rbd", "data": data})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Connection["auth_username"]; ok {
		t.Errorf("a null auth_username is kept: %v", got)
	}
	if r, err := got.RBD(); err != nil || r.User != "" {
		t.Errorf("without cephx: %+v, %v", r, err)
	}
}

// TestNoKey: a keyring in a connection built in Go is neither printed
// nor logged.
func TestNoKey(t *testing.T) {
	key := cephKey(2)
	d := rbdDisk(func(c map[string]string) { c["keyring"] = "[client.cinder]\n\tkey = " + key + "\n" })
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Info("attach", "disk", d)
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%v %+v %#v %s", d, d, d, d), log.String()} {
		if strings.Contains(s, key) {
			t.Errorf("the key is in %q", s)
		}
	}
	if !strings.Contains(log.String(), "volumes/volume-5e0a") || !strings.Contains(log.String(), "192.0.2.1") {
		t.Errorf("the log lacks the image or its monitors: %s", log.String())
	}
}

// cephKey is a cephx key as ceph-authtool makes one, its secret bytes
// all b.
func cephKey(b byte) string {
	k := make([]byte, 28)
	binary.LittleEndian.PutUint16(k[0:], 1)
	binary.LittleEndian.PutUint32(k[2:], 1700000000)
	binary.LittleEndian.PutUint16(k[10:], 16)
	for i := 12; i < 28; i++ {
		k[i] = b
	}
	return base64.StdEncoding.EncodeToString(k)
}

func TestRBDSecrets(t *testing.T) {
	dir := t.TempDir()
	key, other := cephKey(3), cephKey(4)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyring := write("ceph.client.cinder.keyring", "[client.admin]\n\tkey = "+other+"\n[client.cinder]\n\tkey = "+key+"\n\tcaps mon = \"profile rbd\"\n")
	quoted := write("quoted.keyring", "# a comment\n[client.cinder]\nkey=\""+key+"\"\n")
	bare := write("cinder.key", key+"\n")
	s := virt.RBDSecrets{secretUUID: keyring, "11111111-2222-4333-8444-555555555555": bare,
		"22222222-2222-4333-8444-555555555555": quoted,
		"33333333-2222-4333-8444-555555555555": write("bad.keyring", "[client.cinder]\n\tkey = notakey\n"),
		"44444444-2222-4333-8444-555555555555": write("short.key", base64.StdEncoding.EncodeToString([]byte("0123456789ab"))),
		"55555555-2222-4333-8444-555555555555": filepath.Join(dir, "missing"),
		"6666AAAA-2222-4333-8444-555555555555": bare, // written in capitals in the configuration
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, uuid, user string
		want             string
		is               error
		err              string
	}{
		{name: "a keyring", uuid: secretUUID, user: "cinder", want: key},
		{name: "a keyring, the uuid in capitals", uuid: strings.ToUpper(secretUUID), user: "cinder", want: key},
		{name: "configured in capitals", uuid: "6666aaaa-2222-4333-8444-555555555555", user: "cinder", want: key},
		{name: "another user of it", uuid: secretUUID, user: "admin", want: other},
		{name: "a quoted key", uuid: "22222222-2222-4333-8444-555555555555", user: "cinder", want: key},
		{name: "the key alone", uuid: "11111111-2222-4333-8444-555555555555", user: "anyone", want: key},
		{name: "no such user", uuid: secretUUID, user: "glance", is: virt.ErrNoKey, err: "no key of client.glance"},
		{name: "no such uuid", uuid: "99999999-2222-4333-8444-555555555555", user: "cinder", is: virt.ErrNoKey, err: "no keyring for secret uuid"},
		{name: "not a key", uuid: "33333333-2222-4333-8444-555555555555", user: "cinder", err: "not a cephx key"},
		{name: "too short", uuid: "44444444-2222-4333-8444-555555555555", user: "cinder", err: "not a cephx key"},
		{name: "no file", uuid: "55555555-2222-4333-8444-555555555555", user: "cinder", is: os.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Key(c.uuid, c.user)
			if c.want != "" {
				if err != nil || got != c.want {
					t.Fatalf("Key = %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("Key = %q, %v; want an error with %q (%v)", got, err, c.err, c.is)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), other) {
				t.Fatalf("the error holds a key: %v", err)
			}
		})
	}
	if err := (virt.RBDSecrets{"client.cinder": keyring}).Check(); err == nil {
		t.Error("a secret that is not a uuid passes Check")
	}
	parsed, err := virt.ParseRBDSecrets(" " + strings.ToUpper(secretUUID) + "=" + keyring + ", 11111111-2222-4333-8444-555555555555=" + bare + ",")
	if err != nil || !reflect.DeepEqual(parsed, virt.RBDSecrets{secretUUID: keyring, "11111111-2222-4333-8444-555555555555": bare}) {
		t.Errorf("ParseRBDSecrets = %v, %v", parsed, err)
	}
	for _, bad := range []string{"x=" + keyring, secretUUID, secretUUID + "="} {
		if _, err := virt.ParseRBDSecrets(bad); err == nil {
			t.Errorf("ParseRBDSecrets(%q) accepted", bad)
		}
	}
}

// Keyrings learnt while a host runs add uuids the configuration does
// not name and never replace one it does; a bad entry is refused.
func TestRBDKeyrings(t *testing.T) {
	dir := t.TempDir()
	conf, learnt := filepath.Join(dir, "conf.key"), filepath.Join(dir, "learnt.key")
	os.WriteFile(conf, []byte(cephKey(5)), 0o600)
	os.WriteFile(learnt, []byte(cephKey(6)), 0o600)
	const other = "11111111-2222-3333-4444-555555555555"
	base := virt.RBDSecrets{secretUUID: conf}

	var none *virt.RBDKeyrings
	if got := none.With(base); !reflect.DeepEqual(got, base) {
		t.Errorf("nil keyrings: %v", got)
	}
	k := &virt.RBDKeyrings{}
	for _, c := range []struct {
		uuid, keyring string
		added, bad    bool
	}{
		{strings.ToUpper(other), learnt, true, false},
		{other, conf, false, false}, // learnt already: kept
		{"not-a-uuid", learnt, false, true},
		{secretUUID, "", false, true},
	} {
		added, err := k.Add(c.uuid, c.keyring)
		if added != c.added || (err != nil) != c.bad {
			t.Errorf("Add(%s, %q): %v %v", c.uuid, c.keyring, added, err)
		}
	}
	// The configuration's uuid keeps its keyring even when one is learnt
	// for it.
	if added, err := k.Add(secretUUID, learnt); !added || err != nil {
		t.Fatalf("Add(configured uuid): %v %v", added, err)
	}
	s := k.With(base)
	for uuid, want := range map[string]string{secretUUID: cephKey(5), other: cephKey(6)} {
		if key, err := s.Key(uuid, "gostack"); err != nil || key != want {
			t.Errorf("Key(%s): %q %v, want %q", uuid, key, err, want)
		}
	}
	if len(base) != 1 {
		t.Errorf("With changed its base: %v", base)
	}
}
