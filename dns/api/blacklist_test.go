package api_test

import (
	"net/http"
	"testing"
)

func zoneBody(name string) map[string]any {
	return map[string]any{"name": name, "email": "a@example.org"}
}

// TestBlacklistedZones: a member cannot take a top-level domain, a public
// suffix or a reserved name (the name, above it or below it): Designate's
// 400 invalid_zone_name, and nothing is stored. Names beside or below the
// suffixes stay a member's to take. An admin passes use_blacklisted_zone
// and creates them, but a single label is refused for admins too, as in
// Designate. The decision is the policy's: granting use_blacklisted_zone
// to members lets them through.
func TestBlacklistedZones(t *testing.T) {
	c := newCloud(t)
	const oneLabel, blacklisted = "More than one label is required", "Blacklisted zone name"

	before := c.snapshot(t)
	for _, tc := range []struct{ name, msg string }{
		{"org.", oneLabel},
		{"com.", oneLabel},
		{"ORG.", oneLabel},
		{"co.uk.", blacklisted},
		{"Co.UK.", blacklisted},
		{"com.au.", blacklisted},
		{"github.io.", blacklisted},
		{"in-addr.arpa.", blacklisted},
		{reservedName, blacklisted},
		{"cloud.example.", blacklisted},
		{"a.ns1.cloud.example.", blacklisted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, "POST", "/v2/zones", memberA, zoneBody(tc.name))
			wantError(t, r, http.StatusBadRequest, "invalid_zone_name", tc.msg)
		})
	}
	c.unchanged(t, before)

	for _, name := range []string{"example.org.", "example.co.uk.", "user.github.io.", "www.cloud.example.", "10.in-addr.arpa."} {
		c.mkZone(t, memberA, name)
	}

	for _, name := range []string{"co.uk.", "github.io.", reservedName, "cloud.example."} {
		c.mkZone(t, adminA, name)
	}
	before = c.snapshot(t)
	r := c.Do(t, "POST", "/v2/zones", adminA, zoneBody("org."))
	wantError(t, r, http.StatusBadRequest, "invalid_zone_name", oneLabel)
	c.unchanged(t, before)

	if err := c.Policy.Load([]byte(`{"use_blacklisted_zone": "role:member"}`)); err != nil {
		t.Fatal(err)
	}
	c.mkZone(t, memberB, "com.au.")
	r = c.Do(t, "POST", "/v2/zones", memberB, zoneBody("net."))
	wantError(t, r, http.StatusBadRequest, "invalid_zone_name", oneLabel)
	r = c.Do(t, "POST", "/v2/zones", readerA, zoneBody("org.uk."))
	wantError(t, r, http.StatusForbidden, "forbidden") // create_zone comes first
}
