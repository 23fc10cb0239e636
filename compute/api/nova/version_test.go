package nova_test

import (
	"testing"

	"github.com/gostack/gostack/internal/apitest"
)

// Version discovery is public and says the microversion range; a
// version outside it is refused with Nova's 406, and the negotiated one
// is announced in both of Nova's headers.
func TestVersions(t *testing.T) {
	c := newAPI(t)
	r := c.Call(t, apitest.Call{Method: "GET", Path: "/"})
	if r.Code != 200 {
		t.Fatalf("GET / = %s", r)
	}
	vs := r.JSON(t)["versions"].([]any)
	if len(vs) != 1 || vs[0].(map[string]any)["id"] != "v2.1" || vs[0].(map[string]any)["version"] != "2.93" {
		t.Fatalf("GET / = %s", r)
	}
	for _, p := range []string{"/v2.1", "/v2.1/"} {
		r := c.Call(t, apitest.Call{Method: "GET", Path: p})
		if r.Code != 200 {
			t.Fatalf("GET %s = %s", p, r)
		}
		v := r.JSON(t)["version"].(map[string]any)
		if v["min_version"] != "2.1" || v["version"] != "2.93" || v["status"] != "CURRENT" {
			t.Fatalf("GET %s = %s", p, r)
		}
		self := v["links"].([]any)[0].(map[string]any)["href"].(string)
		if self != c.URL+"/v2.1/" {
			t.Fatalf("self link %q", self)
		}
	}
	wantError(t, c.call(t, "2.94", admin, "GET", "/", nil), 406, "computeFault", "Version 2.94 is not supported by the API. Minimum is 2.1 and maximum is 2.93.")
	wantError(t, c.call(t, "2.x", admin, "GET", "/", nil), 400, "badRequest")
	r = c.call(t, "latest", admin, "GET", "/", nil)
	if r.Code != 200 || r.Header.Get("OpenStack-API-Version") != "compute 2.93" || r.Header.Get("X-OpenStack-Nova-API-Version") != "2.93" {
		t.Fatalf("latest: %s %v", r, r.Header)
	}
	wantError(t, c.call(t, "", "", "GET", "/os-keypairs", nil), 401, "unauthorized")
	wantError(t, c.call(t, "", admin, "GET", "/no-such-thing", nil), 404, "itemNotFound")
}
