package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Members: duplicates, non-shared images, the member limit, removal.
func TestMembers(t *testing.T) {
	c := newCloud(t)
	shared := c.mkImage(t, memberA, map[string]any{"name": "s", "visibility": "shared"})
	private := c.mkImage(t, memberA, map[string]any{"name": "p", "visibility": "private"})
	path := "/v2/images/" + shared + "/members"

	m := c.Must(t, http.StatusOK, "POST", path, memberA, map[string]any{"member": projectB})
	if m["status"] != "pending" || m["member_id"] != projectB || m["image_id"] != shared || m["schema"] != "/v2/schemas/member" {
		t.Fatalf("member %v", m)
	}
	before := c.snapshot(t)
	wantError(t, c.Do(t, "POST", path, memberA, map[string]any{"member": projectB}), http.StatusConflict, "already exists")
	for _, body := range []any{map[string]any{}, map[string]any{"member": ""}, map[string]any{"member": 5}, `{"member":`} {
		wantError(t, c.Do(t, "POST", path, memberA, body), http.StatusBadRequest, "")
	}
	// Only shared images have members (image_members.py _check_visibility_and_ownership).
	wantError(t, c.Do(t, "POST", "/v2/images/"+private+"/members", memberA, map[string]any{"member": projectB}), http.StatusForbidden, "only shared images have members")
	wantError(t, c.Do(t, "GET", "/v2/images/"+private+"/members", memberA, nil), http.StatusForbidden, "Only shared images have members.")
	wantError(t, c.Do(t, "GET", "/v2/images/"+private+"/members/"+projectB, memberA, nil), http.StatusNotFound, "")
	wantError(t, c.Do(t, "DELETE", "/v2/images/"+private+"/members/"+projectB, memberA, nil), http.StatusForbidden, "Only shared images have members.")
	wantError(t, c.Do(t, "PUT", "/v2/images/"+private+"/members/"+projectB, adminA, map[string]any{"status": "accepted"}), http.StatusForbidden, "Only shared images have members.")
	wantError(t, c.Do(t, "DELETE", path+"/"+projectC, memberA, nil), http.StatusNotFound, "")
	c.unchanged(t, before)

	t.Run("limit", func(t *testing.T) {
		for i := 1; i < 128; i++ {
			c.Must(t, http.StatusOK, "POST", path, memberA, map[string]any{"member": "project-" + itoa(i)})
		}
		before := c.snapshot(t)
		wantError(t, c.Do(t, "POST", path, memberA, map[string]any{"member": "project-128"}), http.StatusRequestEntityTooLarge,
			strings.ReplaceAll(fmt.Sprintf(memberWrap, 129, 128), "{id}", shared))
		c.unchanged(t, before)
		if ms := list(t, c.Must(t, http.StatusOK, "GET", path, memberA, nil), "members"); len(ms) != 128 {
			t.Fatalf("%d members", len(ms))
		}
	})

	c.Must(t, http.StatusNoContent, "DELETE", path+"/"+projectB, memberA, nil)
	wantError(t, c.Do(t, "GET", "/v2/images/"+shared, memberB, nil), http.StatusNotFound, "")
	wantError(t, c.Do(t, "DELETE", path+"/"+projectB, memberA, nil), http.StatusNotFound, "")
}
