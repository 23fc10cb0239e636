package area

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/storage/rbd"
)

// TestAgentRBDSecrets: compute.agent.rbd_secrets maps secret uuids to
// keyring files; anything else is a field error.
func TestAgentRBDSecrets(t *testing.T) {
	ok := Agent{RBDSecrets: map[string]string{"457eb676-33da-42ec-9a8c-9293d545c337": "/etc/ceph/ceph.client.gostack.keyring"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{
		{"client.gostack": "/etc/ceph/ceph.client.gostack.keyring"},
		{"457eb676-33da-42ec-9a8c-9293d545c337": ""},
	} {
		err := (&Agent{RBDSecrets: bad}).Validate()
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Key != "agent.rbd_secrets" || !strings.Contains(err.Error(), "want a secret uuid and a keyring file") {
			t.Errorf("rbd_secrets %v: %v", bad, err)
		}
	}
}

// TestAgentImagesType: images_type is qcow2 or rbd; rbd needs a pool,
// and with a ceph.conf of its own a user needs its secret uuid, which
// rbd_secrets must name (its keyring); without one (the all-in-one's
// RBD volume backend's cluster) no user or secret of its own. A build
// without Ceph support refuses rbd.
func TestAgentImagesType(t *testing.T) {
	const secret = "457eb676-33da-42ec-9a8c-9293d545c337"
	keyrings := map[string]string{secret: "/etc/ceph/ceph.client.nova.keyring"}
	rbdOK := []Agent{
		{ImagesType: "rbd", ImagesRBDPool: "vms"},
		{ImagesType: "rbd", ImagesRBDPool: "vms", ImagesRBDCephConf: "/etc/ceph/ceph.conf"},
		{ImagesType: "rbd", ImagesRBDPool: "vms", ImagesRBDCephConf: "/etc/ceph/ceph.conf", RBDUser: "nova", RBDSecretUUID: secret, RBDSecrets: keyrings},
	}
	for _, ok := range append([]Agent{{}, {ImagesType: "qcow2"}}, rbdOK...) {
		err := ok.Validate()
		if ok.ImagesType == "rbd" && !rbd.Available {
			var fe *config.FieldError
			if !errors.As(err, &fe) || fe.Key != "agent.images_type" || !strings.Contains(fe.Problem, "Ceph support") {
				t.Errorf("%+v in a build without Ceph: %v", ok, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	if !rbd.Available {
		return
	}
	for _, tc := range []struct {
		a    Agent
		key  string
		want string
	}{
		{Agent{ImagesType: "raw"}, "agent.images_type", `"raw": want qcow2 or rbd`},
		{Agent{ImagesType: "rbd"}, "agent.images_rbd_pool", "needs a pool"},
		{Agent{ImagesType: "rbd", ImagesRBDPool: "vms/x"}, "agent.images_rbd_pool", "needs a pool"},
		{Agent{ImagesType: "rbd", ImagesRBDPool: "vms", RBDUser: "client nova"}, "agent.rbd_user", "a cephx id"},
		{Agent{ImagesType: "rbd", ImagesRBDPool: "vms", RBDSecretUUID: "nova"}, "agent.rbd_secret_uuid", "must be a UUID"},
		{Agent{ImagesType: "rbd", ImagesRBDPool: "vms", RBDUser: "nova"}, "agent.images_rbd_ceph_conf", "need the cluster's ceph.conf"},
		{Agent{ImagesType: "rbd", ImagesRBDPool: "vms", ImagesRBDCephConf: "/etc/ceph/ceph.conf", RBDUser: "nova"}, "agent.rbd_secret_uuid", "needs the secret uuid"},
		{Agent{ImagesType: "rbd", ImagesRBDPool: "vms", ImagesRBDCephConf: "/etc/ceph/ceph.conf", RBDUser: "nova", RBDSecretUUID: secret},
			"agent.rbd_secrets", "must name rbd_secret_uuid"},
	} {
		err := tc.a.Validate()
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Key != tc.key || !strings.Contains(fe.Problem, tc.want) {
			t.Errorf("%+v: %v, want %s: ...%s...", tc.a, err, tc.key, tc.want)
		}
	}
}

// TestLentCluster: root disks on RBD with no ceph.conf of their own
// take the cluster the RBD volume backend lends (through RBDClusterKey),
// in images_rbd_pool; with nothing lent the agent's first disk fails
// saying what to set.
func TestLentCluster(t *testing.T) {
	l := &lentCluster{pool: "vms"}
	if _, err := l.config(context.Background()); err == nil || !strings.Contains(err.Error(), "no RBD volume backend (volume.rbd.ceph_conf)") {
		t.Errorf("nothing lent: %v", err)
	}
	var set func(conf, cluster, user, keyring, secretUUID string) = l.set
	set("/etc/ceph/ceph.conf", "ceph", "gostack", "/etc/ceph/ceph.client.gostack.keyring", "")
	got, err := l.config(context.Background())
	want := rbd.Config{ConfFile: "/etc/ceph/ceph.conf", ClusterName: "ceph", User: "gostack", Keyring: "/etc/ceph/ceph.client.gostack.keyring", Pool: "vms"}
	if err != nil || got != want {
		t.Errorf("lent: %+v %v, want %+v", got, err, want)
	}
}
