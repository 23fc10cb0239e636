package area

import (
	"errors"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/storage"
)

// The RBD backend's names: each 1 to 64 of Ceph's characters, and
// together short enough that every volume's provider_location (256
// characters) holds them with a monitor; a configuration at the limit
// is taken, one character more refused naming the keys.
func TestValidateRBDNames(t *testing.T) {
	base := func() *Config {
		c := New().Config
		c.RBD.CephConf = "/etc/ceph/ceph.conf"
		return &c
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	at := base()
	at.RBD.Pool, at.RBD.ClusterName, at.RBD.User = strings.Repeat("p", 30), strings.Repeat("c", 28), strings.Repeat("u", storage.MaxRBDNames-58)
	if err := at.Validate(); err != nil {
		t.Errorf("names of %d characters together: %v", storage.MaxRBDNames, err)
	}
	over := base()
	over.RBD.Pool, over.RBD.ClusterName, over.RBD.User = at.RBD.Pool, at.RBD.ClusterName, at.RBD.User+"u"
	var fe *config.FieldError
	if err := over.Validate(); !errors.As(err, &fe) || fe.Key != "rbd.pool" || !strings.Contains(fe.Problem, "rbd.user") {
		t.Errorf("names of %d characters together: %v", storage.MaxRBDNames+1, err)
	}
	// What the agent writes for them fits, with the longest monitor.
	x := storage.RBDExport{Name: at.RBD.Pool + "/volume-0b8c5ad9-5d55-4b1e-9c5f-7ec1f1d3a0b2", ClusterName: at.RBD.ClusterName,
		User: at.RBD.User, SecretUUID: "457eb676-33da-42ec-9a8c-9293d545c337",
		Hosts: []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}, Ports: []string{"65535"}}
	if loc, omitted, err := x.Location(); err != nil || omitted != 0 || len(loc) > 256 {
		t.Errorf("the location at the limit: %q %d %v", loc, omitted, err)
	}
	long := base()
	long.RBD.Pool = strings.Repeat("p", 65)
	if err := long.Validate(); !errors.As(err, &fe) || fe.Key != "rbd.pool" {
		t.Errorf("a pool of 65 characters: %v", err)
	}
}
