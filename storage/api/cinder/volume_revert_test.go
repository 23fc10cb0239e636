package cinder_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// cinderclient runs code with python3-cinderclient as the caller of
// token, at microversion version: cs is the client, through a
// keystoneauth session with the token and an endpoint with the project
// id as a catalog's volumev3 endpoint has it, and args are sys.argv[1:].
// It returns what code prints.
func (c *client) cinderclient(t *testing.T, token, version, code string, args ...string) string {
	t.Helper()
	testenv.LookPath(t, "cinder", "python3-cinderclient")
	project := map[string]string{alice: projA, bob: projB, admin: projAdmin}[token]
	prelude := `import json, sys
from keystoneauth1 import session
from keystoneauth1.token_endpoint import Token
from cinderclient import client
cs = client.Client(sys.argv[1], session=session.Session(auth=Token(endpoint=sys.argv[2], token=sys.argv[3])))
sys.argv = sys.argv[3:]
`
	b, err := exec.Command("/usr/bin/python3", append([]string{"-c", prelude + code, version, c.URL + "/v3/" + project, token}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cinderclient %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return string(b)
}

// cinderRevert reverts snapshot's volume to it as cinderclient's
// revert-to-snapshot command does (the snapshot, its volume, then the
// volume's revert).
func (c *client) cinderRevert(t *testing.T, token, snapshot string) {
	t.Helper()
	c.cinderclient(t, token, "3.40", `snap = cs.volume_snapshots.get(sys.argv[1])
cs.volumes.get(snap.volume_id).revert_to_snapshot(snap)
`, snapshot)
}

// The revert action (3.40): the volume to its latest snapshot, reverting
// until its agent reports, with cinderclient's revert_to_snapshot; the
// refusals in Cinder's order and with its errors, changing nothing.
func TestRevertToSnapshot(t *testing.T) {
	c := newAPI(t)
	vol := c.availableVolume(t, alice, 1)
	path := "/volumes/" + vol + "/action"
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.40", alice, "POST", path, map[string]any{"revert": map[string]any{"snapshot_id": "x"}}),
			400, "badRequest", "Volume "+vol+" doesn't have any snapshots.")
	})
	first := c.newSnapshot(t, alice, vol, nil)
	c.snapDone(t, first)
	latest := c.newSnapshot(t, alice, vol, nil)
	c.snapDone(t, latest)
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.39", alice, "POST", path, map[string]any{"revert": map[string]any{"snapshot_id": latest}}),
			404, "itemNotFound", "The resource could not be found.")
		wantError(t, c.call(t, "3.40", alice, "POST", path, map[string]any{"revert": "x"}),
			400, "badRequest", "Missing required element 'revert' in request body.")
		wantError(t, c.call(t, "3.40", alice, "POST", path, map[string]any{"revert": map[string]any{"snapshot_id": first}}),
			400, "badRequest", "Specified snapshot "+first+" is None or not the latest one of volume "+vol+".")
		wantError(t, c.call(t, "3.40", alice, "POST", path, map[string]any{"revert": map[string]any{}}),
			400, "badRequest", "Specified snapshot None is None")
		wantError(t, c.call(t, "3.40", alice, "POST", path, map[string]any{"revert": map[string]any{"snapshot_id": 7}}),
			400, "badRequest", "Specified snapshot 7 is None")
		wantError(t, c.call(t, "3.40", bob, "POST", path, map[string]any{"revert": map[string]any{"snapshot_id": latest}}),
			404, "itemNotFound", "Volume "+vol+" could not be found.")
	})
	c.cinderRevert(t, alice, latest)
	got := c.must(t, 200, "3.40", alice, "GET", "/volumes/"+vol, nil)["volume"].(map[string]any)
	snap := c.must(t, 200, "3.40", alice, "GET", "/snapshots/"+latest, nil)["snapshot"].(map[string]any)
	if got["status"] != "reverting" || snap["status"] != "restoring" {
		t.Fatalf("after the revert: volume %v, snapshot %v", got["status"], snap["status"])
	}
	c.nothingChanges(t, func() {
		wantError(t, c.call(t, "3.40", alice, "POST", path, map[string]any{"revert": map[string]any{"snapshot_id": latest}}),
			409, "conflictingRequest", "Invalid volume: Can't revert volume "+vol+" to its latest snapshot "+latest+". Volume's status must be 'available'.")
		wantError(t, c.call(t, "3.40", alice, "DELETE", "/snapshots/"+latest, nil), 400, "badRequest", "Snapshot status must be available or error")
	})
	c.agentDone(t, vol)
	got = c.must(t, 200, "3.40", alice, "GET", "/volumes/"+vol, nil)["volume"].(map[string]any)
	snap = c.must(t, 200, "3.40", alice, "GET", "/snapshots/"+latest, nil)["snapshot"].(map[string]any)
	if got["status"] != "available" || snap["status"] != "available" {
		t.Fatalf("reverted: volume %v, snapshot %v", got["status"], snap["status"])
	}
}
