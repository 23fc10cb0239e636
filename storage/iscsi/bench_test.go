package iscsi_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// One volume exported (target, LUN, account, ACL: six tgtadm calls and
// a read of tgtd's state) and unexported again, on a tgtd that has 50
// other targets.
func BenchmarkExportUnexport(b *testing.B) {
	l := newLab(b)
	ctx := context.Background()
	for range 50 {
		id := uuid()
		if _, err := l.e.Export(ctx, iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)}); err != nil {
			b.Fatal(err)
		}
	}
	id := uuid()
	x := iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)}
	for b.Loop() {
		if _, err := l.e.Export(ctx, x); err != nil {
			b.Fatal(err)
		}
		if err := l.e.Unexport(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// An Export that changes nothing (the volume agent's periodic pass):
// one read of tgtd's state and of exports.json, among 50 targets.
func BenchmarkExportUnchanged(b *testing.B) {
	l := newLab(b)
	ctx := context.Background()
	var x iscsi.Export
	for range 50 {
		id := uuid()
		x = iscsi.Export{VolumeID: id, Path: l.volume(id, 1<<20)}
		c, err := l.e.Export(ctx, x)
		if err != nil {
			b.Fatal(err)
		}
		x.CHAP = c.CHAP
	}
	for b.Loop() {
		if _, err := l.e.Export(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
}
