package cinder_test

import (
	"testing"
)

// The messages API (3.3): a create no pool takes leaves its project
// Cinder's message, listed (filters and pages from 3.5, a user's
// unknown filter refused from 3.31), shown and deleted with the
// openstack CLI's volume message commands; another project sees none
// of it; below 3.3 the API is not there.
func TestMessages(t *testing.T) {
	c := newAPI(t)
	c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "nowhere",
		"extra_specs": map[string]any{"volume_backend_name": "none"}}})
	vol := c.newVolume(t, alice, map[string]any{"size": 1, "volume_type": "nowhere"})
	var list []map[string]any
	c.osc(t, alice, &list, "volume", "message", "list")
	if len(list) != 1 || list[0]["Resource UUID"] != vol || list[0]["Resource Type"] != "VOLUME" || list[0]["Event ID"] != "VOLUME_VOLUME_001_003" ||
		list[0]["User Message"] != "schedule allocate volume:Could not find any available weighted backend." || list[0]["Message Level"] != "ERROR" {
		t.Fatalf("volume message list: %v", list)
	}
	id := list[0]["ID"].(string)
	var shown map[string]any
	c.osc(t, alice, &shown, "volume", "message", "show", id)
	if shown["id"] != id || shown["request_id"] == "" || shown["guaranteed_until"] == nil || shown["resource_uuid"] != vol {
		t.Fatalf("volume message show: %v", shown)
	}
	wantError(t, c.call(t, "3.2", alice, "GET", "/messages", nil), 404, "itemNotFound", "The resource could not be found.")
	wantError(t, c.call(t, "3.3", bob, "GET", "/messages/"+id, nil), 404, "itemNotFound", "Message "+id+" could not be found.")
	wantError(t, c.call(t, "3.3", bob, "DELETE", "/messages/"+id, nil), 404, "itemNotFound", "Message "+id+" could not be found.")
	if l := c.must(t, 200, "3.3", bob, "GET", "/messages", nil)["messages"].([]any); len(l) != 0 {
		t.Fatalf("bob's messages: %v", l)
	}
	// Filters from 3.5 (before, the query is not read), exact.
	for _, tc := range []struct {
		v, query string
		n        int
	}{
		{"3.3", "?resource_uuid=x", 1}, {"3.5", "?resource_uuid=x", 0}, {"3.5", "?resource_uuid=" + vol, 1},
		{"3.5", "?event_id=VOLUME_VOLUME_001_003&message_level=ERROR", 1}, {"3.30", "?nonsense=1", 0}, {"3.5", "?limit=0", 0},
		{"3.5", "?action_id=001&detail_id=003", 1}, {"3.5", "?action_id=002", 0},
	} {
		if l := c.must(t, 200, tc.v, alice, "GET", "/messages"+tc.query, nil)["messages"].([]any); len(l) != tc.n {
			t.Errorf("%s %s: %d messages, want %d", tc.v, tc.query, len(l), tc.n)
		}
	}
	wantError(t, c.call(t, "3.31", alice, "GET", "/messages?nonsense=1", nil), 400, "badRequest", "Invalid filters nonsense are found in query options.")
	wantError(t, c.call(t, "3.5", alice, "GET", "/messages?sort=user_message", nil), 400, "badRequest", "Invalid sort key")
	if l := c.must(t, 200, "3.31", admin, "GET", "/messages?project_id="+projA, nil)["messages"].([]any); len(l) != 1 {
		t.Errorf("an admin's project filter: %v", l)
	}
	c.osc(t, alice, nil, "volume", "message", "delete", id)
	wantError(t, c.call(t, "3.3", alice, "GET", "/messages/"+id, nil), 404, "itemNotFound")
}
