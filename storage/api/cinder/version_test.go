package cinder_test

import (
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

// Version discovery is public: / answers Cinder's list with 300, /v3/
// with 200, both with the microversion range; a version outside it is
// Cinder's 406, a malformed one a 400, and the negotiated one is
// announced as "volume 3.x".
func TestVersions(t *testing.T) {
	c := newAPI(t)
	for _, x := range []struct {
		path string
		code int
	}{{"/", 300}, {"/v3/", 200}, {"/v3", 200}} {
		r := c.Call(t, apitest.Call{Method: "GET", Path: x.path})
		if r.Code != x.code {
			t.Fatalf("GET %s = %s", x.path, r)
		}
		vs := r.JSON(t)["versions"].([]any)
		v := vs[0].(map[string]any)
		if len(vs) != 1 || v["id"] != "v3.0" || v["version"] != "3.70" || v["min_version"] != "3.0" || v["status"] != "CURRENT" ||
			v["updated"] != "2022-08-31T00:00:00Z" {
			t.Fatalf("GET %s = %s", x.path, r)
		}
		links := v["links"].([]any)
		if self := links[1].(map[string]any); self["rel"] != "self" || self["href"] != c.URL+"/v3/" {
			t.Fatalf("GET %s: links %v", x.path, links)
		}
		if r.Header.Get("OpenStack-API-Version") != "volume 3.0" {
			t.Fatalf("GET %s: version header %q", x.path, r.Header.Get("OpenStack-API-Version"))
		}
	}
	wantError(t, c.call(t, "3.71", admin, "GET", "/", nil), 406, "computeFault", "Version 3.71 is not supported by the API. Minimum is 3.0 and maximum is 3.70.")
	wantError(t, c.call(t, "2.9", admin, "GET", "/", nil), 406, "computeFault")
	wantError(t, c.call(t, "3.x", admin, "GET", "/", nil), 400, "badRequest", "API Version String 3.x is of invalid format. Must be of format MajorNum.MinorNum.")
	r := c.Call(t, apitest.Call{Method: "GET", Path: "/v3/", Header: map[string]string{"OpenStack-API-Version": "compute 2.1"}})
	wantError(t, r, 400, "badRequest")
	r = c.call(t, "latest", admin, "GET", "/", nil)
	if r.Code != 200 || r.Header.Get("OpenStack-API-Version") != "volume 3.70" || r.Header.Get("Vary") != "OpenStack-API-Version" {
		t.Fatalf("latest: %s %v", r, r.Header)
	}
	wantError(t, c.call(t, "", admin, "GET", "/no-such-thing", nil), 404, "itemNotFound", "The resource could not be found.")
	wantError(t, c.call(t, "", admin, "GET", "/"+projA+"/no-such-thing", nil), 404, "itemNotFound")
	wantError(t, c.Call(t, apitest.Call{Method: "GET", Path: "/v2/"}), 404, "itemNotFound")
}
