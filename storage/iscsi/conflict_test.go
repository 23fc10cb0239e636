package iscsi_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// What tgtd holds that the Exporter did not make: an account of the
// wanted user bound to another target, or unbound, is a conflict and
// nothing is bound; a target made by Cinder's tgt-admin under the same
// name, with its account bound to it alone, is taken over with the
// credentials given.
func TestForeignState(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()

	// Someone's account, bound to someone's target.
	l.tgtadm("--mode", "target", "--op", "new", "--tid", "70", "--targetname", "iqn.2024-01.org.example:theirs")
	l.tgtadm("--mode", "account", "--op", "new", "--user", "theiruser", "--password", "their-password")
	l.tgtadm("--mode", "account", "--op", "bind", "--tid", "70", "--user", "theiruser")
	l.tgtadm("--mode", "account", "--op", "new", "--user", "spareuser", "--password", "spare-password")

	for _, user := range []string{"theiruser", "spareuser"} {
		id := uuid()
		password := "my-password-" + user
		_, err := l.e.Export(ctx, iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20), CHAP: iscsi.CHAP{Username: user, Password: password}})
		if !errors.Is(err, iscsi.ErrConflict) || !strings.Contains(err.Error(), user) {
			t.Errorf("CHAP user %s held by someone else: %v, want ErrConflict naming it", user, err)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("the error holds the password: %v", err)
		}
		tg, ok := l.target("iqn.2010-10.org.openstack:volume-" + id)
		if ok && (len(tg.Accounts) != 0 || len(tg.ACL) != 0) {
			t.Errorf("the refused volume's target has accounts %q and ACL %q: want neither (no login)", tg.Accounts, tg.ACL)
		}
		if err := l.e.Unexport(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if acc := l.accounts(); !slices.Contains(acc, "theiruser") || !slices.Contains(acc, "spareuser") {
		t.Errorf("others' accounts touched: %q", acc)
	}

	// A target left by Cinder's tgt-admin for a volume: taken over.
	id := uuid()
	path := l.volume(id, 1<<20)
	iqn := "iqn.2010-10.org.openstack:volume-" + id
	l.tgtadm("--mode", "target", "--op", "new", "--tid", "80", "--targetname", iqn)
	l.tgtadm("--mode", "logicalunit", "--op", "new", "--tid", "80", "--lun", "1", "--backing-store", path)
	l.tgtadm("--mode", "account", "--op", "new", "--user", "cinderuser", "--password", "cinder-password")
	l.tgtadm("--mode", "account", "--op", "bind", "--tid", "80", "--user", "cinderuser")
	l.tgtadm("--mode", "target", "--op", "bind", "--tid", "80", "--initiator-address", "ALL")
	chap := iscsi.CHAP{Username: "cinderuser", Password: "cinder-password"}
	c := l.export(iscsi.Export{VolumeID: id, Path: path, CHAP: chap})
	if c.TID != 80 {
		t.Errorf("tid %d, want the existing target's 80", c.TID)
	}
	if out, err := login(c.URL(), ""); err != nil {
		t.Errorf("taken-over target: %v: %s", err, out)
	}
	if err := l.e.Unexport(ctx, id); err != nil {
		t.Fatal(err)
	}
	if acc := l.accounts(); slices.Contains(acc, "cinderuser") {
		t.Errorf("the taken-over account outlived its target: %q", acc)
	}

	// Reconcile leaves others' targets and accounts, and refuses one
	// CHAP user for two volumes before changing anything.
	a, b := uuid(), uuid()
	same := iscsi.CHAP{Username: "shared", Password: "shared-password"}
	_, err := l.e.Reconcile(ctx, []iscsi.Export{
		{VolumeID: a, Path: l.volume(a, 1<<20), CHAP: same},
		{VolumeID: b, Path: l.volume(b, 1<<20), CHAP: same},
	})
	if !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("one user for two volumes: %v, want ErrInvalid", err)
	}
	if _, err := l.e.Reconcile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range l.targets() {
		names = append(names, tg.IQN+" "+strconv.Itoa(tg.TID))
	}
	if !slices.Equal(names, []string{"iqn.2024-01.org.example:theirs 70"}) {
		t.Errorf("targets %q, want only theirs", names)
	}
	if acc := l.accounts(); !slices.Equal(slices.Sorted(slices.Values(acc)), []string{"spareuser", "theiruser"}) {
		t.Errorf("accounts %q, want only theirs", acc)
	}
}

// One Export of many fails (its file is gone) and the others are
// exported all the same; the error names the volume.
func TestReconcilePartial(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	good, gone := uuid(), uuid()
	conns, err := l.e.Reconcile(ctx, []iscsi.Export{
		{VolumeID: gone, Path: l.files.Path(gone)},
		{VolumeID: good, Path: l.volume(good, 1<<20)},
	})
	if !errors.Is(err, iscsi.ErrInvalid) || !strings.Contains(err.Error(), gone) {
		t.Fatalf("error %v, want ErrInvalid naming %s", err, gone)
	}
	if conns[0] != (iscsi.Connection{}) {
		t.Errorf("the failed volume's connection: %+v", conns[0])
	}
	l.secret(conns[1].CHAP.Password)
	if out, err := login(conns[1].URL(), ""); err != nil {
		t.Errorf("the good volume: %v: %s", err, out)
	}
}
