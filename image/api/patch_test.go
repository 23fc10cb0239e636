package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// PATCH in both of Glance's media types, step by step on one image: each
// answer is the image as it is now stored, with exactly the change made.
func TestPatch(t *testing.T) {
	c := newCloud(t)
	id := c.mkImage(t, memberA, map[string]any{"name": "img", "foo": "bar", "tags": []string{"t1"}})
	const v20 = "application/openstack-images-v2.0-json-patch"
	type ops = []map[string]any
	steps := []struct {
		name, typ string
		body      ops
		want      map[string]any // attributes after the step; nil deletes
	}{
		{"v2.1 add a property", patchV21, ops{{"op": "add", "path": "/hw_disk_bus", "value": "scsi"}}, map[string]any{"hw_disk_bus": "scsi"}},
		{"v2.1 add an existing property replaces it", patchV21, ops{{"op": "add", "path": "/foo", "value": "baz"}}, map[string]any{"foo": "baz"}},
		{"v2.1 replace a property", patchV21, ops{{"op": "replace", "path": "/foo", "value": "qux"}}, map[string]any{"foo": "qux"}},
		{"v2.1 remove a property", patchV21, ops{{"op": "remove", "path": "/foo"}}, map[string]any{"foo": nil}},
		{"v2.1 replace name", patchV21, ops{{"op": "replace", "path": "/name", "value": "renamed"}}, map[string]any{"name": "renamed"}},
		{"v2.1 add name", patchV21, ops{{"op": "add", "path": "/name", "value": "added"}}, map[string]any{"name": "added"}},
		{"v2.1 name null", patchV21, ops{{"op": "replace", "path": "/name", "value": nil}}, map[string]any{"name": nil}},
		{"v2.1 replace tags", patchV21, ops{{"op": "replace", "path": "/tags", "value": []string{"b", "a", "b"}}}, map[string]any{"tags": []any{"b", "a"}}},
		{"v2.1 several attributes", patchV21, ops{
			{"op": "replace", "path": "/min_ram", "value": 1024},
			{"op": "replace", "path": "/min_disk", "value": 10},
			{"op": "replace", "path": "/disk_format", "value": "qcow2"},
			{"op": "add", "path": "/container_format", "value": "bare"},
			{"op": "replace", "path": "/visibility", "value": "community"},
			{"op": "replace", "path": "/os_hidden", "value": true},
			{"op": "replace", "path": "/protected", "value": true},
		}, map[string]any{"min_ram": 1024.0, "min_disk": 10.0, "disk_format": "qcow2", "container_format": "bare",
			"visibility": "community", "os_hidden": true, "protected": true}},
		{"v2.1 escaped pointers", patchV21, ops{
			{"op": "add", "path": "/a~1b", "value": "slash"},
			{"op": "add", "path": "/c~0d", "value": "tilde"},
		}, map[string]any{"a/b": "slash", "c~d": "tilde"}},
		{"v2.1 last write wins", patchV21, ops{
			{"op": "add", "path": "/x", "value": "1"},
			{"op": "replace", "path": "/x", "value": "2"},
			{"op": "remove", "path": "/x"},
			{"op": "add", "path": "/x", "value": "3"},
		}, map[string]any{"x": "3"}},
		{"v2.1 nothing", patchV21, ops{}, map[string]any{}},
		{"v2.1 with a charset", patchV21 + "; charset=UTF-8", ops{{"op": "replace", "path": "/x", "value": "4"}}, map[string]any{"x": "4"}},
		{"v2.0 replace name", v20, ops{{"replace": "/name", "value": "v20"}}, map[string]any{"name": "v20"}},
		{"v2.0 add a property", v20, ops{{"add": "/y", "value": "new"}}, map[string]any{"y": "new"}},
		{"v2.0 replace a property", v20, ops{{"replace": "/y", "value": "newer"}}, map[string]any{"y": "newer"}},
		{"v2.0 remove a property", v20, ops{{"remove": "/y"}}, map[string]any{"y": nil}},
		{"v2.0 replace tags and visibility", v20, ops{{"replace": "/tags", "value": []string{"c"}}, {"replace": "/visibility", "value": "private"}},
			map[string]any{"tags": []any{"c"}, "visibility": "private"}},
		{"v2.0 replace protected", v20, ops{{"replace": "/protected", "value": false}}, map[string]any{"protected": false}},
	}
	want := c.show(t, id)
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := c.Call(t, call{Method: "PATCH", Path: "/v2/images/" + id, Token: memberA, Body: st.body, Type: st.typ})
			if r.Code != http.StatusOK {
				t.Fatalf("%s", r)
			}
			got := r.JSON(t)
			for k, v := range st.want {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if name, ok := st.want["name"]; ok && name == nil {
				want["name"] = nil // a base attribute shows as null
			}
			want["updated_at"] = got["updated_at"]
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("answer\n got %s\nwant %s", js(got), js(want))
			}
			if stored := c.show(t, id); !reflect.DeepEqual(stored, got) {
				t.Fatalf("stored\n%s\nanswered\n%s", js(stored), js(got))
			}
		})
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
