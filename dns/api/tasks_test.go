package api_test

import (
	"net/http"
	"strings"
	"testing"
)

const importFile = "$ORIGIN example.org.\n$TTL 600\n@ IN SOA ns.example. hostmaster.example.org. 7 3600 600 86400 300\n" +
	"@ IN NS ns.example.\nwww 120 IN A 192.0.2.1\n"

// TestImportExport: a text/dns import answers 202 COMPLETE with its
// zone; the zone's export answers 202 COMPLETE with a link to its file,
// which is text/dns; neither is seen by another project.
func TestImportExport(t *testing.T) {
	c := newCloud(t)
	r := c.Call(t, call{Method: "POST", Path: "/v2/zones/tasks/imports", Token: memberA, Body: importFile, Type: "text/dns"})
	if r.Code != http.StatusAccepted {
		t.Fatalf("import: %s", r)
	}
	imp := r.JSON(t)
	zone := str(t, imp, "zone_id")
	links, _ := imp["links"].(map[string]any)
	if imp["status"] != "COMPLETE" || imp["message"] != "example.org. imported" || links["zone"] != c.URL+"/v2/zones/"+zone ||
		r.Header.Get("Location") != c.URL+"/v2/zones/tasks/imports/"+str(t, imp, "id") {
		t.Fatalf("import: %s", r.Body)
	}
	if z := c.Must(t, http.StatusOK, "GET", "/v2/zones/"+zone, memberA, nil); z["serial"] != float64(7) {
		t.Errorf("imported zone: %v", z)
	}
	exp := c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zone+"/tasks/export", memberA, nil)
	id := str(t, exp, "id")
	elinks, _ := exp["links"].(map[string]any)
	if exp["status"] != "COMPLETE" || exp["zone_id"] != zone || elinks["export"] != c.URL+"/v2/zones/tasks/exports/"+id+"/export" {
		t.Fatalf("export: %v", exp)
	}
	r = c.Call(t, call{Method: "GET", Path: "/v2/zones/tasks/exports/" + id + "/export", Token: memberA, Header: map[string]string{"Accept": "text/dns"}})
	if r.Code != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/dns") ||
		!strings.HasPrefix(string(r.Body), "$ORIGIN example.org.\n$TTL 600\n") || !strings.Contains(string(r.Body), "www.example.org. 120 IN A 192.0.2.1\n") {
		t.Fatalf("export file: %s\n%s", r, r.Body)
	}

	before := c.snapshot(t)
	for _, path := range []string{"/v2/zones/tasks/imports/" + str(t, imp, "id"), "/v2/zones/tasks/exports/" + id, "/v2/zones/tasks/exports/" + id + "/export"} {
		typ := "zone_export_not_found"
		if strings.Contains(path, "imports") {
			typ = "zone_import_not_found"
		}
		wantError(t, c.Do(t, "GET", path, memberB, nil), 404, typ)
		if !strings.HasSuffix(path, "/export") {
			wantError(t, c.Do(t, "DELETE", path, memberB, nil), 404, typ)
		}
	}
	for _, path := range []string{"/v2/zones/tasks/imports", "/v2/zones/tasks/exports"} {
		if got := c.Must(t, http.StatusOK, "GET", path, memberB, nil); len(list(t, got, path[strings.LastIndex(path, "/")+1:])) != 0 {
			t.Errorf("B lists A's tasks: %v", got)
		}
	}
	wantError(t, c.Do(t, "POST", "/v2/zones/"+zone+"/tasks/export", memberB, nil), 404, "zone_not_found")
	c.unchanged(t, before)

	c.Must(t, http.StatusNoContent, "DELETE", "/v2/zones/tasks/exports/"+id, memberA, nil)
	wantError(t, c.Do(t, "GET", "/v2/zones/tasks/exports/"+id, memberA, nil), 404, "zone_export_not_found")
}

// TestImportBadInput: requests refused before an import is made answer
// Designate's error and change nothing; files Designate refuses make an
// ERROR import with its message and no zone.
func TestImportBadInput(t *testing.T) {
	c := newCloud(t)
	before := c.snapshot(t)
	for _, tc := range []struct {
		name  string
		token string
		body  any
		ctype string
		code  int
		typ   string
		msg   string
	}{
		{"wrong media type", memberA, importFile, "text/plain", 415, "unsupported_content_type", "Content-type must be text/dns or application/json"},
		{"json without zonefile", memberA, map[string]any{"zone": importFile}, "application/json", 400, "bad_request", `The "zonefile" field is required`},
		{"json not an object", memberA, "[", "application/json", 400, "bad_request", "Invalid JSON body"},
		{"zonefile not a string", memberA, map[string]any{"zonefile": 3}, "application/json", 400, "invalid_object", ""},
		{"reader", readerA, importFile, "text/dns", 403, "forbidden", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: "POST", Path: "/v2/zones/tasks/imports", Token: tc.token, Body: tc.body, Type: tc.ctype}), tc.code, tc.typ, tc.msg)
		})
	}
	c.unchanged(t, before)

	for _, tc := range []struct{ name, file, msg string }{
		{"no origin", "www IN A 192.0.2.1\n", "The $ORIGIN statement is required and must be the first statement in the zonefile."},
		{"malformed", "$ORIGIN example.org.\n@ IN SOA x\n", "Malformed zonefile."},
		{"no SOA", "$ORIGIN example.org.\nwww IN A 192.0.2.1\n", "An SOA record is required."},
		{"blacklisted", strings.ReplaceAll(importFile, "example.org.", "co.uk."), "An undefined error occurred. Blacklisted zone name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Call(t, call{Method: "POST", Path: "/v2/zones/tasks/imports", Token: memberA, Body: tc.file, Type: "text/dns"})
			if r.Code != http.StatusAccepted {
				t.Fatalf("import: %s", r)
			}
			imp := r.JSON(t)
			if m, _ := imp["message"].(string); imp["status"] != "ERROR" || imp["zone_id"] != nil || !strings.HasPrefix(m, tc.msg) {
				t.Errorf("import: %v, want ERROR %q", imp, tc.msg)
			}
		})
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones", memberA, nil); len(list(t, got, "zones")) != 0 {
		t.Errorf("refused imports made zones: %v", got)
	}
	if got := c.Must(t, http.StatusOK, "GET", "/v2/zones/tasks/imports?status=ERROR", memberA, nil); len(list(t, got, "imports")) != 4 {
		t.Errorf("ERROR imports: %v", got)
	}
}
