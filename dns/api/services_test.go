package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/dns"
)

// TestServiceStatuses: the heartbeats services sent, as Designate renders
// them, admin-only; a service silent for three intervals reads DOWN;
// filters, sort keys and Designate's errors.
func TestServiceStatuses(t *testing.T) {
	c := newCloud(t)
	ctx := context.Background()
	beat := func(service, host, status string, every time.Duration, stats map[string]int64) dns.ServiceStatus {
		st, err := c.Store.Heartbeat(ctx, dns.ServiceStatus{ServiceName: service, Hostname: host, Status: status, Stats: stats, Interval: every})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	api := beat("api", "ctl1", dns.ServiceUp, time.Hour, nil)
	pub := beat("publisher", "ctl1", dns.ServiceWarning, time.Hour, map[string]int64{"zones": 2, "pending": 1})
	gone := beat("dns-server", "ns1", dns.ServiceUp, time.Millisecond, map[string]int64{"zones": 2})
	time.Sleep(10 * time.Millisecond)

	list := c.Must(t, http.StatusOK, "GET", "/v2/service_statuses", adminA, nil)
	if got := strings.Join(topKeys(t, c.Do(t, "GET", "/v2/service_statuses", adminA, nil).Body), " "); got != "service_statuses links" {
		t.Errorf("list keys %q", got)
	}
	items := list["service_statuses"].([]any)
	if len(items) != 3 {
		t.Fatalf("%d statuses: %v", len(items), list)
	}
	r := c.Do(t, "GET", "/v2/service_statuses/"+pub.ID, adminA, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("show: %s", r)
	}
	if got := strings.Join(topKeys(t, r.Body), " "); got != "id hostname service_name status stats capabilities heartbeated_at created_at updated_at links" {
		t.Errorf("status keys in order: %s", got)
	}
	show := r.JSON(t)
	if show["status"] != "WARNING" || show["hostname"] != "ctl1" || show["service_name"] != "publisher" ||
		show["stats"].(map[string]any)["pending"] != float64(1) || show["updated_at"] != nil ||
		show["links"].(map[string]any)["self"] != c.URL+"/v2/service_statuses/"+pub.ID {
		t.Errorf("show: %v", show)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/service_statuses/"+gone.ID, adminA, nil)["status"]; got != "DOWN" {
		t.Errorf("silent dns-server: %v", got)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?status=DOWN", []string{gone.ID}},
		{"?hostname=ctl1&sort_key=service_name", []string{api.ID, pub.ID}},
		{"?hostname=ctl1&sort_key=service_name&sort_dir=desc", []string{pub.ID, api.ID}},
		{"?service_name=api", []string{api.ID}},
		{"?sort_key=hostname&limit=1", []string{api.ID}},
	} {
		got := ids(t, c.Must(t, http.StatusOK, "GET", "/v2/service_statuses"+tc.query, adminA, nil), "service_statuses")
		if tc.query == "?sort_key=hostname&limit=1" {
			if len(got) != 1 || got[0] == gone.ID {
				t.Errorf("%s: %v", tc.query, got)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}

	const unknown = "/v2/service_statuses/0d4a7c9e-3c1f-4d2b-9a77-0f6b5f0e2a11"
	for _, tc := range []struct {
		name, path, token string
		code              int
		typ, msg          string
	}{
		{"member list", "/v2/service_statuses", memberA, 403, "forbidden", ""},
		{"member show", "/v2/service_statuses/" + api.ID, memberA, 403, "forbidden", ""},
		{"unknown", unknown, adminA, 404, "service_status_not_found", "Could not find ServiceStatus"},
		{"bad uuid", "/v2/service_statuses/api", adminA, 400, "invalid_uuid", "service_id"},
		{"sort key", "/v2/service_statuses?sort_key=stats", adminA, 400, "invalid_sort_key", "sort key must be one of"},
		{"filter", "/v2/service_statuses?capabilities=x", adminA, 400, "bad_request", "Invalid filters capabilities"},
		{"post", "/v2/service_statuses", adminA, 405, "method_not_allowed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "GET"
			if tc.name == "post" {
				method = "POST"
			}
			wantError(t, c.Do(t, method, tc.path, tc.token, nil), tc.code, tc.typ, tc.msg)
		})
	}
}
