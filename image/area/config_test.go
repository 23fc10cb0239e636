package area

import (
	"errors"
	"testing"

	"github.com/gostack/gostack/kit/config"
)

// image.rbd.* is checked only when ceph_conf enables it; each bad key
// is named.
func TestValidateRBD(t *testing.T) {
	a := New()
	a.Config.RBD.Pool = "" // not enabled: not checked
	if err := a.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	for key, bad := range map[string]func(*RBD){
		"rbd.pool":       func(r *RBD) { r.Pool = "a/b" },
		"rbd.user":       func(r *RBD) { r.User = "client admin" },
		"rbd.chunk_size": func(r *RBD) { r.ChunkSize = 3 },
	} {
		a := New()
		a.Config.RBD.CephConf = "/etc/ceph/ceph.conf"
		if err := a.Config.Validate(); err != nil {
			t.Fatalf("defaults: %v", err)
		}
		bad(&a.Config.RBD)
		var fe *config.FieldError
		if err := a.Config.Validate(); !errors.As(err, &fe) || fe.Key != key {
			t.Errorf("%s: %v", key, err)
		}
	}
}
