package cinder_test

import (
	"reflect"
	"strings"
	"testing"
)

// os-set_image_metadata, os-show_image_metadata and
// os-unset_image_metadata: keys merged and shown in the volume's
// volume_image_metadata, a key removed; bad bodies, a missing key,
// another project's volume and a volume in maintenance refused with
// Cinder's errors, nothing changed.
func TestVolumeImageMetadata(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	c.agentDone(t, id)
	act := func(token string, body map[string]any) map[string]any {
		t.Helper()
		return c.must(t, 200, "3.0", token, "POST", "/volumes/"+id+"/action", body)
	}
	// None yet: Cinder's GlanceMetadataNotFound for a show and an unset.
	for _, body := range []map[string]any{{"os-show_image_metadata": nil}, {"os-unset_image_metadata": map[string]any{"key": "k"}}} {
		wantError(t, c.call(t, "3.0", alice, "POST", "/volumes/"+id+"/action", body), 404, "itemNotFound",
			"Glance metadata for volume/snapshot "+id+" cannot be found.")
	}
	got := act(alice, map[string]any{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"hw_disk_bus": "scsi", "a b/c:d.e-f_g": "x"}}})
	want := map[string]any{"metadata": map[string]any{"hw_disk_bus": "scsi", "a b/c:d.e-f_g": "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("set: %v, want %v", got, want)
	}
	got = act(alice, map[string]any{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"hw_disk_bus": "virtio", "hw_scsi_model": ""}}})
	want = map[string]any{"metadata": map[string]any{"hw_disk_bus": "virtio", "a b/c:d.e-f_g": "x", "hw_scsi_model": ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("second set: %v, want %v", got, want)
	}
	if got := act(alice, map[string]any{"os-show_image_metadata": nil}); !reflect.DeepEqual(got, want) {
		t.Fatalf("show: %v, want %v", got, want)
	}
	if r := c.call(t, "3.0", alice, "POST", "/volumes/"+id+"/action", map[string]any{"os-unset_image_metadata": map[string]any{"key": "a b/c:d.e-f_g"}}); r.Code != 200 || len(r.Body) != 0 {
		t.Fatalf("unset: %s", r)
	}
	vol := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	if md := vol["volume_image_metadata"]; !reflect.DeepEqual(md, map[string]any{"hw_disk_bus": "virtio", "hw_scsi_model": ""}) {
		t.Fatalf("volume_image_metadata after the unset: %v", md)
	}

	path := "/volumes/" + id + "/action"
	c.unchanged(t, func() {
		notFound := "Volume " + id + " could not be found."
		for _, body := range []map[string]any{
			{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"a": "b"}}},
			{"os-unset_image_metadata": map[string]any{"key": "hw_disk_bus"}},
			{"os-show_image_metadata": nil},
		} {
			wantError(t, c.call(t, "3.0", bob, "POST", path, body), 404, "itemNotFound", notFound)
		}
		for _, tc := range []struct {
			body map[string]any
			msg  string
		}{
			{map[string]any{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"bad!key": "v"}}}, "'bad!key' does not match any of the regexes"},
			{map[string]any{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"k": strings.Repeat("v", 256)}}}, "is too long"},
			{map[string]any{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"k": 1}}}, "is not of type 'string'"},
			{map[string]any{"os-set_image_metadata": map[string]any{}}, "'metadata' is a required property"},
			{map[string]any{"os-unset_image_metadata": map[string]any{"key": ""}}, "is too short"},
			{map[string]any{"os-unset_image_metadata": map[string]any{"key": "k", "x": 1}}, "Additional properties are not allowed"},
		} {
			wantError(t, c.call(t, "3.0", alice, "POST", path, tc.body), 400, "badRequest", tc.msg)
		}
		wantError(t, c.call(t, "3.0", alice, "POST", path, map[string]any{"os-unset_image_metadata": map[string]any{"key": "nope"}}),
			404, "itemNotFound", "Glance metadata for volume/snapshot "+id+" cannot be found.")
	})
	c.must(t, 202, "3.0", admin, "POST", path, map[string]any{"os-reset_status": map[string]any{"status": "maintenance"}})
	c.unchanged(t, func() {
		wantError(t, c.call(t, "3.0", alice, "POST", path, map[string]any{"os-set_image_metadata": map[string]any{"metadata": map[string]any{"a": "b"}}}),
			400, "badRequest", "Invalid volume: Updating volume metadata is not allowed for volumes in maintenance status.")
		wantError(t, c.call(t, "3.0", alice, "POST", path, map[string]any{"os-unset_image_metadata": map[string]any{"key": "hw_disk_bus"}}),
			400, "badRequest", "Invalid volume: Deleting volume metadata is not allowed for volumes in maintenance status.")
	})
}
