//go:build cgo && (pacific || quincy || reef || squid)

package rbd

import (
	"errors"
	"testing"

	librbd "github.com/ceph/go-ceph/rbd"
)

// rbd_default_features as Ceph takes it: a number or names; none is
// layering (Cinder's RADOSClient.features); an unknown name refused.
func TestParseFeatures(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		err  error
	}{
		{"61", 61, nil},
		{" 1 ", librbd.FeatureLayering, nil},
		{"0", librbd.FeatureLayering, nil},
		{"layering,exclusive-lock", librbd.FeatureLayering | librbd.FeatureExclusiveLock, nil},
		{"layering, object-map, fast-diff", librbd.FeatureLayering | librbd.FeatureObjectMap | librbd.FeatureFastDiff, nil},
		{"layering,bogus", 0, ErrInvalid},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseFeatures(c.in)
			if got != c.want || !errors.Is(err, c.err) {
				t.Fatalf("parseFeatures(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}
