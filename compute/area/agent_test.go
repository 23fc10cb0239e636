package area

import (
	"errors"
	"strings"
	"testing"

	"github.com/gostack/gostack/kit/config"
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
