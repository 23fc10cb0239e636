package cinder_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// Backend capabilities (admins) and resource filters (3.33), through
// cinderclient's get-capabilities and the openstack CLI's block
// storage resource filter list; a user is refused the capabilities, a
// host that is no service is Cinder's 404, and resource filters are not
// there below 3.33.
func TestCapabilitiesAndResourceFilters(t *testing.T) {
	c := newAPI(t)
	// cinderclient's get-capabilities (python-openstackclient 6.0 has
	// volume backend capability show in its volume v2 commands only).
	var caps map[string]any
	out := c.cinderclient(t, admin, "3.0", "print(json.dumps(cs.capabilities.get(sys.argv[1])._info))\n", "host1@lvm")
	if err := json.Unmarshal([]byte(out), &caps); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	keys := []string{}
	for k, p := range caps["properties"].(map[string]any) {
		keys = append(keys, k)
		if p := p.(map[string]any); p["type"] != "boolean" || p["title"] == "" || p["description"] == "" {
			t.Errorf("capability %s: %v", k, p)
		}
	}
	if caps["storage_protocol"] != "iSCSI" && caps["storage_protocol"] != nil {
		t.Errorf("storage_protocol %v", caps["storage_protocol"])
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"compression", "qos", "replication_enabled", "thin_provisioning"}) {
		t.Fatalf("capability keys: %v", keys)
	}
	got := c.must(t, 200, "3.0", admin, "GET", "/capabilities/host1", nil)
	if got["namespace"] != "OS::Storage::Capabilities::host1@lvm" || got["volume_backend_name"] != "lvm" || got["pool_name"] != nil {
		t.Fatalf("capabilities of host1: %v", got)
	}
	wantError(t, c.call(t, "3.0", admin, "GET", "/capabilities/host1@lvm%23pool1", nil), 404, "itemNotFound", "Can't find service: host1@lvm#pool1")
	wantError(t, c.call(t, "3.0", admin, "GET", "/capabilities/host2", nil), 404, "itemNotFound", "Can't find service: host2")
	wantError(t, c.call(t, "3.0", alice, "GET", "/capabilities/host1@lvm", nil), 403, "forbidden")

	var filters []map[string]any
	c.osc(t, alice, &filters, "block", "storage", "resource", "filter", "list")
	if len(filters) != 9 || filters[0]["Resource"] != "volume" || filters[6]["Resource"] != "message" {
		t.Fatalf("resource filter list: %v", filters)
	}
	// python-openstackclient 6.0's resource filter show fails on its
	// own ("'ListWithMeta' object is not an iterator"): asked directly.
	one := c.must(t, 200, "3.33", alice, "GET", "/resource_filters?resource=backup", nil)["resource_filters"].([]any)
	if len(one) != 1 || one[0].(map[string]any)["resource"] != "backup" || len(one[0].(map[string]any)["filters"].([]any)) != 3 {
		t.Fatalf("the backup's resource filters: %v", one)
	}
	if l := c.must(t, 200, "3.33", alice, "GET", "/resource_filters?resource=nothing", nil)["resource_filters"].([]any); len(l) != 0 {
		t.Fatalf("an unknown resource: %v", l)
	}
	wantError(t, c.call(t, "3.32", alice, "GET", "/resource_filters", nil), 404, "itemNotFound")
}
