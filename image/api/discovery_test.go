package api_test

import (
	"net/http"
	"testing"
)

// Version discovery needs no token; the root is 300 Multiple Choices, as
// Glance's, with the current version first and absolute links.
func TestVersions(t *testing.T) {
	c := newCloud(t)
	for _, tt := range []struct {
		path string
		code int
	}{{"/", http.StatusMultipleChoices}, {"/versions", http.StatusOK}, {"/v2/", http.StatusOK}} {
		t.Run(tt.path, func(t *testing.T) {
			r := c.Do(t, "GET", tt.path, "", nil)
			if r.Code != tt.code {
				t.Fatalf("%s", r)
			}
			vs := list(t, r.JSON(t), "versions")
			if len(vs) < 2 {
				t.Fatalf("versions %v", vs)
			}
			seen := map[string]bool{}
			for i, v := range vs {
				id, status := str(t, v, "id"), str(t, v, "status")
				if want := map[bool]string{true: "CURRENT", false: "SUPPORTED"}[i == 0]; status != want {
					t.Errorf("%s is %s, want %s", id, status, want)
				}
				links := list(t, v, "links")
				if len(links) != 1 || str(t, links[0], "rel") != "self" || str(t, links[0], "href") != c.URL+"/v2/" {
					t.Errorf("%s links %v", id, links)
				}
				seen[id] = true
			}
			if !seen["v2.0"] || !seen["v2.1"] || str(t, vs[0], "id") != "v2.17" {
				t.Errorf("versions %v", vs)
			}
		})
	}
}

// The four schemas, by name, with the shapes clients read; they need a
// token, as Glance's do.
func TestSchemas(t *testing.T) {
	c := newCloud(t)
	image := c.Must(t, http.StatusOK, "GET", "/v2/schemas/image", readerA, nil)
	if image["name"] != "image" || image["additionalProperties"].(map[string]any)["type"] != "string" {
		t.Errorf("image schema %v", image)
	}
	props := image["properties"].(map[string]any)
	for _, k := range []string{"id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
		"os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format", "created_at", "updated_at",
		"tags", "min_ram", "min_disk", "self", "file", "schema"} {
		if _, ok := props[k]; !ok {
			t.Errorf("image schema lacks %s", k)
		}
	}
	enum := props["disk_format"].(map[string]any)["enum"].([]any)
	if enum[0] != nil || len(enum) != 12 {
		t.Errorf("disk_format enum %v", enum)
	}
	for _, tt := range []struct{ path, name, item string }{
		{"/v2/schemas/images", "images", "image"},
		{"/v2/schemas/member", "member", ""},
		{"/v2/schemas/members", "members", "member"},
	} {
		s := c.Must(t, http.StatusOK, "GET", tt.path, readerA, nil)
		if s["name"] != tt.name {
			t.Errorf("%s: name %v", tt.path, s["name"])
		}
		p := s["properties"].(map[string]any)
		if tt.item != "" {
			if items := p[tt.name].(map[string]any)["items"].(map[string]any); items["name"] != tt.item {
				t.Errorf("%s: items %v", tt.path, items["name"])
			}
		} else if _, ok := p["member_id"]; !ok {
			t.Errorf("%s: properties %v", tt.path, p)
		}
	}
	wantError(t, c.Do(t, "GET", "/v2/schemas/image", "", nil), http.StatusUnauthorized, "")
}
