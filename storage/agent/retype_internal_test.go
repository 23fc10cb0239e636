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
// /proc/<pid>/cmdline for the whole copy) and out of every file: the
// secret object reads it from a pipe qemu-img inherits (/dev/fd/3), so
// no file holds it while qemu-img runs, in the image directory or the
// temporary one, nor after. Both ways: the source writing into the
// destination's export (push, which needs no image directory) and the
// destination reading the source's (pull).
func TestQemuImgKeepsCHAPOutOfArguments(t *testing.T) {
	dir := t.TempDir()
	const password = "Secr3tPassw0rdXYZ"
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	images := filepath.Join(dir, "images")
	// A stand-in qemu-img (outside the directories watched): it records
	// its arguments, what each secret object's file is and holds, and
	// any file under the temporary, image and volume directories that
	// holds the password while it runs.
	fake := filepath.Join(t.TempDir(), "qemu-img")
	script := `#!/bin/sh
out=` + dir + `/call
: > "$out"
for a in "$@"; do printf '%s\n' "$a" >> "$out"; done
for a in "$@"; do
	case "$a" in
	secret,*file=*) f=${a#*file=}; f=${f%%,*}; echo "file $f content $(cat "$f")" >> "$out.sec" ;;
	esac
done
grep -rl ` + password + ` ` + tmp + ` ` + images + ` ` + dir + `/files >> "$out.found" 2>/dev/null
exit 0
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	files := iscsi.Files{Dir: filepath.Join(dir, "files")}
	b := &ISCSI{Files: files}
	a := &Agent{Config: Config{Host: "h@iscsi#iscsi", QemuImg: fake, ImageDir: images}, Backend: b}
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
			s := *a
			s.Config.ImageDir = "" // push does not copy through it
			return s.push(ctx, v)
		}},
		{"pull", func() error {
			v := storage.Volume{ID: id, Size: 1, ProviderLocation: loc, ProviderAuth: auth}
			d := *a
			d.Backend = filling{b}
			return d.pull(ctx, v, v)
		}},
	} {
		for _, f := range []string{"call", "call.sec", "call.found"} {
			os.Remove(filepath.Join(dir, f))
		}
		if err := c.run(); err != nil {
			if strings.Contains(err.Error(), password) {
				t.Fatalf("%s: the password in the error: %v", c.name, err)
			}
			t.Fatalf("%s: %v", c.name, err)
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
		sec, err := os.ReadFile(filepath.Join(dir, "call.sec"))
		if err != nil || string(sec) != "file /dev/fd/3 content "+password+"\n" {
			t.Fatalf("%s: the secret object's file while qemu-img ran: %q (%v), want the inherited pipe with the password", c.name, sec, err)
		}
		if found, _ := os.ReadFile(filepath.Join(dir, "call.found")); len(found) != 0 {
			t.Fatalf("%s: files holding the password while qemu-img ran:\n%s", c.name, found)
		}
		for _, d := range []string{tmp, images} {
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
