package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/storage"
	"github.com/gostack/gostack/storage/iscsi"
)

// filling is a destination that takes what qemu-img copied as done.
type filling struct{ *ISCSI }

func (filling) Fill(context.Context, storage.Volume, string) error { return nil }

// A migration's copy logs in to an iSCSI export with its CHAP password
// kept out of qemu-img's arguments (readable by anyone on the host in
// /proc/<pid>/cmdline for the whole copy): the password is in a secret
// object's file, readable by the agent alone, while qemu-img runs, and
// removed after. Both ways: the source writing into the destination's
// export (push) and the destination reading the source's (pull).
func TestQemuImgKeepsCHAPOutOfArguments(t *testing.T) {
	dir := t.TempDir()
	// A stand-in qemu-img: it records its arguments, and the content
	// and mode of each file a secret object names.
	fake := filepath.Join(dir, "qemu-img")
	script := `#!/bin/sh
out=` + dir + `/call
: > "$out"
for a in "$@"; do printf '%s\n' "$a" >> "$out"; done
for a in "$@"; do
	case "$a" in
	secret,*file=*) f=${a#*file=}; f=${f%%,*}; echo "mode $(stat -c %a "$f") content $(cat "$f")" >> "$out.secret" ;;
	esac
done
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	const password = "Secr3tPassw0rdXYZ"
	files := iscsi.Files{Dir: filepath.Join(dir, "files")}
	b := &ISCSI{Files: files}
	a := &Agent{Config: Config{Host: "h@iscsi#iscsi", QemuImg: fake, ImageDir: filepath.Join(dir, "images")}, Backend: b}
	ctx := context.Background()
	id := "0f0e8a36-1d0c-4c5e-9a67-7d0fb0a6d3a1"
	if _, err := files.Create(ctx, id, 1<<20); err != nil {
		t.Fatal(err)
	}
	loc := "192.0.2.7:3260,1 iqn.2010-10.org.openstack:volume-" + id + " 1"
	auth := "CHAP chapuser " + password
	for _, c := range []struct {
		name string
		run  func() error
	}{
		{"push", func() error {
			v := storage.Volume{ID: id, Size: 1, ProviderLocation: "rbd name=x/volume-" + id,
				Retype: &storage.VolumeRetype{DestLocation: loc, DestAuth: auth}}
			return a.push(ctx, v)
		}},
		{"pull", func() error {
			v := storage.Volume{ID: id, Size: 1, ProviderLocation: loc, ProviderAuth: auth}
			d := *a
			d.Backend = filling{b}
			return d.pull(ctx, v, v)
		}},
	} {
		os.Remove(filepath.Join(dir, "call"))
		os.Remove(filepath.Join(dir, "call.secret"))
		if err := c.run(); err != nil && strings.Contains(err.Error(), password) {
			t.Fatalf("%s: the password in the error: %v", c.name, err)
		}
		args, err := os.ReadFile(filepath.Join(dir, "call"))
		if err != nil {
			t.Fatalf("%s: qemu-img not run: %v", c.name, err)
		}
		if strings.Contains(string(args), password) {
			t.Fatalf("%s: the CHAP password in qemu-img's arguments:\n%s", c.name, args)
		}
		for _, want := range []string{"driver=iscsi", "portal=192.0.2.7:3260", "target=iqn.2010-10.org.openstack:volume-" + id, "lun=1",
			"user=chapuser", "password-secret="} {
			if !strings.Contains(string(args), want) {
				t.Fatalf("%s: no %s in qemu-img's arguments:\n%s", c.name, want, args)
			}
		}
		sec, err := os.ReadFile(filepath.Join(dir, "call.secret"))
		if err != nil || string(sec) != "mode 600 content "+password+"\n" {
			t.Fatalf("%s: the secret object's file while qemu-img ran: %q (%v)", c.name, sec, err)
		}
		for _, d := range []string{a.Config.ImageDir} {
			left, _ := filepath.Glob(filepath.Join(d, "*chap*"))
			if len(left) != 0 {
				t.Fatalf("%s: secret files left: %v", c.name, left)
			}
		}
	}
}

// A copy's secret file a killed agent left in its image directory is
// removed when the agent starts (with the other leftovers there).
func TestSweepCHAPSecrets(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, ".chap-123.secret")
	keep := filepath.Join(dir, "other.secret")
	for _, p := range []string{left, keep} {
		if err := os.WriteFile(p, []byte("pw"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sweepImages(dir)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("the secret a killed copy left: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("another file swept: %v", err)
	}
}
