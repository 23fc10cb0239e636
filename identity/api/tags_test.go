package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// TestProjectTags: the tag sub-resources of a project, with Keystone
// 22's replies (as its API answers them: 201 with its Location, 204s,
// the tags with a "self" link that is the API's base).
func TestProjectTags(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { testProjectTags(t, newCloudOn(t, e.DSN)) })
	}
}

func testProjectTags(t *testing.T, c *cloud) {
	admin := c.adminToken(t)
	p := str(t, c.Must(t, http.StatusCreated, "POST", "/v3/projects", admin,
		map[string]any{"project": map[string]any{"name": "p", "tags": []string{"a", "b"}}}), "project.id")
	tags := func(t *testing.T) []string {
		t.Helper()
		b := c.Must(t, http.StatusOK, "GET", "/v3/projects/"+p+"/tags", admin, nil)
		if self := at(b, "links.self"); self != c.URL+"/v3" {
			t.Errorf("links.self = %v", self)
		}
		var out []string
		for _, x := range list(t, b, "tags") {
			out = append(out, x.(string))
		}
		shown := list(t, c.Must(t, http.StatusOK, "GET", "/v3/projects/"+p, admin, nil), "project.tags")
		if len(shown) != len(out) {
			t.Errorf("the project shows %v, its tags are %v", shown, out)
		}
		return out
	}
	if got := tags(t); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("tags = %v", got)
	}
	r := c.Call(t, call{Method: "PUT", Path: "/v3/projects/" + p + "/tags/c", Token: admin})
	if r.Code != http.StatusCreated || len(r.Body) != 0 || r.Header.Get("Location") != c.URL+"/v3/"+p+"/tags/c" {
		t.Fatalf("PUT tag = %s, Location %q", r, r.Header.Get("Location"))
	}
	// Keystone strips the tag it stores, and finds it by the stripped name.
	c.Must(t, http.StatusCreated, "PUT", "/v3/projects/"+p+"/tags/%20d%20", admin, nil)
	if r := c.Do(t, "GET", "/v3/projects/"+p+"/tags/d", admin, nil); r.Code != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("check tag = %s", r)
	}
	if got := tags(t); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("tags = %v", got)
	}
	c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+p+"/tags/a", admin, nil)
	b := c.Must(t, http.StatusOK, "PUT", "/v3/projects/"+p+"/tags", admin, map[string]any{"tags": []string{"x", " y"}})
	if got := list(t, b, "tags"); len(got) != 2 || got[1] != "y" {
		t.Fatalf("PUT tags = %v", b)
	}
	if got := tags(t); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("tags = %v", got)
	}
	// The list filters see tags set one by one.
	if ids := ids(t, c.Must(t, http.StatusOK, "GET", "/v3/projects?tags=x,y", admin, nil), "projects", "id"); !slices.Equal(ids, []string{p}) {
		t.Errorf("?tags=x,y = %v", ids)
	}
	c.Must(t, http.StatusNoContent, "DELETE", "/v3/projects/"+p+"/tags", admin, nil)
	if got := tags(t); len(got) != 0 {
		t.Fatalf("tags after DELETE = %v", got)
	}

	// Up to 80 tags; the 81st is refused.
	many := make([]string, 80)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	c.Must(t, http.StatusOK, "PUT", "/v3/projects/"+p+"/tags", admin, map[string]any{"tags": many})
	wantError(t, c.Do(t, "PUT", "/v3/projects/"+p+"/tags/one-more", admin, nil), http.StatusBadRequest, "80")
	c.Must(t, http.StatusOK, "PUT", "/v3/projects/"+p+"/tags", admin, map[string]any{"tags": []string{"kept"}})

	// Concurrent additions each read the tags the others wrote: none is lost.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := c.Do(t, "PUT", fmt.Sprintf("/v3/projects/%s/tags/c%d", p, i), admin, nil); r.Code != http.StatusCreated {
				t.Errorf("concurrent PUT tag c%d = %s", i, r)
			}
		}()
	}
	wg.Wait()
	if got := tags(t); len(got) != 17 {
		t.Fatalf("after 16 concurrent additions to [kept]: %d tags %v", len(got), got)
	}
	c.Must(t, http.StatusOK, "PUT", "/v3/projects/"+p+"/tags", admin, map[string]any{"tags": []string{"kept"}})

	before := c.snapshot(t, admin)
	long := strings.Repeat("x", 256)
	bad := []struct {
		name, method, path, body string
		want                     int
		msg                      string
	}{
		{"tag with a comma", "PUT", "/v3/projects/" + p + "/tags/a,b", "", 400, "'project.tags'"},
		{"tag with a slash", "PUT", "/v3/projects/" + p + "/tags/a%2Fb", "", 400, "'project.tags'"},
		{"tag too long", "PUT", "/v3/projects/" + p + "/tags/" + long, "", 400, "'project.tags'"},
		{"tag already there", "PUT", "/v3/projects/" + p + "/tags/kept", "", 400, "repeats"},
		{"tag only white space", "PUT", "/v3/projects/" + p + "/tags/%20", "", 400, "'project.tags'"},
		{"tag on an unknown project", "PUT", "/v3/projects/nope/tags/a", "", 404, "Could not find project: nope."},
		{"check a missing tag", "GET", "/v3/projects/" + p + "/tags/zz", "", 404, "Could not find project tag: zz."},
		{"delete a missing tag", "DELETE", "/v3/projects/" + p + "/tags/zz", "", 404, "Could not find project tag: zz."},
		{"tags of an unknown project", "GET", "/v3/projects/nope/tags", "", 404, "Could not find project: nope."},
		{"tags not a list", "PUT", "/v3/projects/" + p + "/tags", `{"tags":"x"}`, 400, "'tags'"},
		{"tags missing", "PUT", "/v3/projects/" + p + "/tags", `{"x":1}`, 400, "'tags'"},
		{"tags null", "PUT", "/v3/projects/" + p + "/tags", `{"tags":null}`, 400, "'tags'"},
		{"tags a list of numbers", "PUT", "/v3/projects/" + p + "/tags", `{"tags":[1]}`, 400, "'tags'"},
		{"tags repeated", "PUT", "/v3/projects/" + p + "/tags", `{"tags":["x","x"]}`, 400, "repeats"},
		{"tags too many", "PUT", "/v3/projects/" + p + "/tags", `{"tags":["` + strings.Join(append(many, "x"), `","`) + `"]}`, 400, "80"},
		{"tags with a slash", "PUT", "/v3/projects/" + p + "/tags", `{"tags":["a/b"]}`, 400, "'project.tags'"},
		{"tags an array body", "PUT", "/v3/projects/" + p + "/tags", `["x"]`, 400, ""},
		{"tags malformed", "PUT", "/v3/projects/" + p + "/tags", `{"tags":[`, 400, "not valid JSON"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, c.Call(t, call{Method: tt.method, Path: tt.path, Token: admin, Body: tt.body}), tt.want, tt.msg)
			if after := c.snapshot(t, admin); after != before {
				t.Errorf("a rejected call changed the state:\n%s", apitest.LineDiff(before, after))
				before = after
			}
		})
	}
}
