package api_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Creating an image: Glance's defaults, the Location and import methods
// headers, and a client-chosen id.
func TestCreate(t *testing.T) {
	c := newCloud(t)
	r := c.Do(t, "POST", "/v2/images", memberA, map[string]any{})
	if r.Code != http.StatusCreated {
		t.Fatal(r)
	}
	img := r.JSON(t)
	id := str(t, img, "id")
	if got := r.Header.Get("Location"); got != c.URL+"/v2/images/"+id {
		t.Errorf("Location = %q", got)
	}
	if got := r.Header.Get("OpenStack-image-import-methods"); got != "glance-direct" {
		t.Errorf("OpenStack-image-import-methods = %q", got)
	}
	want := map[string]any{"id": id, "name": nil, "status": "queued", "visibility": "shared", "protected": false,
		"os_hidden": false, "owner": projectA, "checksum": nil, "os_hash_algo": nil, "os_hash_value": nil, "size": nil,
		"virtual_size": nil, "container_format": nil, "disk_format": nil, "min_ram": 0.0, "min_disk": 0.0, "tags": []any{},
		"self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image",
		"created_at": img["created_at"], "updated_at": img["created_at"]}
	if js(img) != js(want) {
		t.Errorf("created\n got %s\nwant %s", js(img), js(want))
	}
	if js(c.show(t, id)) != js(img) {
		t.Errorf("stored %s", js(c.show(t, id)))
	}
	const chosen = "7C0B4C52-2A9B-4D61-8E53-3F6A2B1C9D0E"
	if got := c.create(t, memberA, map[string]any{"id": chosen}); got["id"] != strings.ToLower(chosen) {
		t.Errorf("chosen id: %v", got["id"])
	}
}

// Tags have their own calls; protected images cannot be deleted.
func TestTagsAndProtection(t *testing.T) {
	c := newCloud(t)
	id := c.mkImage(t, memberA, map[string]any{"name": "img", "tags": []string{"t1"}, "protected": true})
	tags := func() []any { return c.show(t, id)["tags"].([]any) }
	c.Must(t, http.StatusNoContent, "PUT", "/v2/images/"+id+"/tags/t2", memberA, nil)
	c.Must(t, http.StatusNoContent, "PUT", "/v2/images/"+id+"/tags/t2", memberA, nil) // already there
	if got := tags(); !reflect.DeepEqual(got, []any{"t1", "t2"}) {
		t.Fatalf("tags %v", got)
	}
	c.Must(t, http.StatusNoContent, "DELETE", "/v2/images/"+id+"/tags/t1", memberA, nil)
	wantError(t, c.Do(t, "DELETE", "/v2/images/"+id+"/tags/t1", memberA, nil), http.StatusNotFound, "Tag t1 not found")
	if got := tags(); !reflect.DeepEqual(got, []any{"t2"}) {
		t.Fatalf("tags %v", got)
	}

	wantError(t, c.Do(t, "DELETE", "/v2/images/"+id, memberA, nil), http.StatusForbidden, "is protected and cannot be deleted")
	wantError(t, c.Do(t, "DELETE", "/v2/images/"+id, adminA, nil), http.StatusForbidden, "protected")
	c.show(t, id)
	r := c.Call(t, call{Method: "PATCH", Path: "/v2/images/" + id, Token: memberA, Type: patchV21,
		Body: []map[string]any{{"op": "replace", "path": "/protected", "value": false}}})
	if r.Code != http.StatusOK {
		t.Fatal(r)
	}
	c.Must(t, http.StatusNoContent, "DELETE", "/v2/images/"+id, memberA, nil)
	wantError(t, c.Do(t, "GET", "/v2/images/"+id, adminA, nil), http.StatusNotFound, "")
}
