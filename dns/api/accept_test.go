package api_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestAcceptsAsDesignate: what Designate 15 accepts and gostack refused
// before — a zone TTL of 0 (the schema's minimum), a secondary zone's
// masters given as hostnames, records repeated in one recordset (kept
// once, as Designate's adapter keeps a set), a TXT record that ends with
// an escaped backslash inside quotes, and a JSON body larger than the
// 112 KiB oslo.middleware limit Designate's pipeline does not use.
func TestAcceptsAsDesignate(t *testing.T) {
	c := newCloud(t)

	t.Run("zone ttl 0", func(t *testing.T) {
		z := c.Must(t, http.StatusAccepted, "POST", "/v2/zones", memberA,
			map[string]any{"name": "zero.example.", "email": "h@zero.example", "ttl": 0})
		if z["ttl"] != float64(0) {
			t.Errorf("ttl = %v, want 0", z["ttl"])
		}
		if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+str(t, z, "id"), memberA, nil)["ttl"]; got != float64(0) {
			t.Errorf("stored ttl = %v, want 0", got)
		}
		other := c.mkZone(t, memberA, "one.example.")
		if got := c.Must(t, http.StatusAccepted, "PATCH", "/v2/zones/"+other, memberA, map[string]any{"ttl": 0})["ttl"]; got != float64(0) {
			t.Errorf("patched ttl = %v, want 0", got)
		}
		// Left out or null, the TTL is Designate's default_ttl.
		for name, body := range map[string]map[string]any{
			"none.example.": {"name": "none.example.", "email": "h@none.example"},
			"null.example.": {"name": "null.example.", "email": "h@null.example", "ttl": nil},
		} {
			if got := c.Must(t, http.StatusAccepted, "POST", "/v2/zones", memberA, body)["ttl"]; got != float64(3600) {
				t.Errorf("%s: ttl = %v, want 3600", name, got)
			}
		}
	})

	t.Run("masters by hostname", func(t *testing.T) {
		z := c.Must(t, http.StatusAccepted, "POST", "/v2/zones", memberA, map[string]any{"name": "secondary.example.",
			"type": "SECONDARY", "masters": []string{"NS1.Example.org", "ns2.example.org.:5353", "ns3.example.org:53",
				"192.0.2.1", "192.0.2.2:5353", "2001:db8::1", "[2001:db8::2]:5353"}})
		want := []any{"ns1.example.org", "ns2.example.org.:5353", "ns3.example.org", "192.0.2.1", "192.0.2.2:5353",
			"2001:db8::1", "[2001:db8::2]:5353"}
		if got := z["masters"].([]any); !slices.Equal(got, want) {
			t.Errorf("masters = %v, want %v", got, want)
		}
		got := c.Must(t, http.StatusAccepted, "PATCH", "/v2/zones/"+str(t, z, "id"), memberA,
			map[string]any{"masters": []string{"primary.example.net:10053"}})["masters"].([]any)
		if !slices.Equal(got, []any{"primary.example.net:10053"}) {
			t.Errorf("patched masters = %v", got)
		}
	})

	t.Run("repeated records", func(t *testing.T) {
		zone := c.mkZone(t, memberA, "repeat.example.")
		for _, tc := range []struct {
			name, typ string
			records   []string
			want      []any
		}{
			{"a.repeat.example.", "A", []string{"192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.1"}, []any{"192.0.2.1", "192.0.2.2"}},
			{"a.repeat.example.", "AAAA", []string{"2001:DB8::1", "2001:db8::1"}, []any{"2001:db8::1"}},
			{"alias.repeat.example.", "CNAME", []string{"a.repeat.example.", "a.repeat.example."}, []any{"a.repeat.example."}},
			{"t.repeat.example.", "TXT", []string{`"ends with \\"`, `"ends with \\"`}, []any{`"ends with \\"`}},
		} {
			rs := c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zone+"/recordsets", memberA,
				map[string]any{"name": tc.name, "type": tc.typ, "records": tc.records})
			if got := rs["records"].([]any); !slices.Equal(got, tc.want) {
				t.Errorf("%s %s: records = %v, want %v", tc.name, tc.typ, got, tc.want)
			}
		}
		// 21 records of which 20 differ are within recordset_records
		// (20), as Designate counts the set.
		recs := append(manyAddresses(20), "192.0.2.10")
		rs := c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zone+"/recordsets", memberA,
			map[string]any{"name": "many.repeat.example.", "type": "A", "records": recs})
		if n := len(rs["records"].([]any)); n != 20 {
			t.Errorf("records = %d, want 20", n)
		}
		got := c.Must(t, http.StatusAccepted, "PUT", "/v2/zones/"+zone+"/recordsets/"+str(t, rs, "id"), memberA,
			map[string]any{"records": []string{"192.0.2.3", "192.0.2.3"}})["records"].([]any)
		if !slices.Equal(got, []any{"192.0.2.3"}) {
			t.Errorf("updated records = %v", got)
		}
	})

	t.Run("body over 112 KiB", func(t *testing.T) {
		zone := c.mkZone(t, memberA, "big.example.")
		var recs []string
		for i := 0; i < 20; i++ {
			txt := ""
			for j := 0; j < 30; j++ {
				txt += `"` + string(rune('a'+i)) + repeat('x', 250) + `" `
			}
			recs = append(recs, txt)
		}
		rs := c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zone+"/recordsets", memberA,
			map[string]any{"name": "big.big.example.", "type": "TXT", "records": recs})
		if n := len(rs["records"].([]any)); n != 20 {
			t.Errorf("records = %d, want 20", n)
		}
	})
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
