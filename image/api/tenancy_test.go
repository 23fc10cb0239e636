package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// estate is one image of each kind, most with data: A's private,
// shared-with-B, shared-with-nobody, public (made by the admin) and
// community images, and B's private image.
type estate struct {
	private, shared, unshared, public, community, bPrivate string
}

func newEstate(t *testing.T, c *cloud) estate {
	t.Helper()
	mk := func(token, vis, name string) string {
		return c.mkImage(t, token, map[string]any{"visibility": vis, "name": name, "disk_format": "raw", "container_format": "bare"})
	}
	e := estate{
		private:   mk(memberA, "private", "a-private"),
		shared:    mk(memberA, "shared", "a-shared"),
		unshared:  mk(memberA, "shared", "a-unshared"),
		public:    mk(adminA, "public", "a-public"),
		community: mk(memberA, "community", "a-community"),
		bPrivate:  mk(memberB, "private", "b-private"),
	}
	for _, id := range []string{e.private, e.shared, e.unshared, e.public, e.community} {
		if r := c.upload(t, memberA, id, rawData(100)); r.Code != http.StatusNoContent {
			t.Fatalf("upload: %s", r)
		}
	}
	c.Must(t, http.StatusOK, "POST", "/v2/images/"+e.shared+"/members", memberA, map[string]any{"member": projectB})
	return e
}

// expandProjects fills {A}, {B} and {C} into s.
func expandProjects(s string) string {
	return strings.NewReplacer("{A}", projectA, "{B}", projectB, "{C}", projectC).Replace(s)
}

// op is one request on an image, {id} standing for the image.
type op struct {
	name, method, path string
	body               any
	typ                string
}

var (
	patchName  = []map[string]any{{"op": "replace", "path": "/name", "value": "pwned"}}
	importBody = map[string]any{"method": map[string]any{"name": "glance-direct"}}
)

// imageOps is every call on one image.
var imageOps = []op{
	{"show", "GET", "/v2/images/{id}", nil, ""},
	{"download", "GET", "/v2/images/{id}/file", nil, ""},
	{"patch", "PATCH", "/v2/images/{id}", patchName, patchV21},
	{"delete", "DELETE", "/v2/images/{id}", nil, ""},
	{"upload", "PUT", "/v2/images/{id}/file", "data", "application/octet-stream"},
	{"stage", "PUT", "/v2/images/{id}/stage", "data", "application/octet-stream"},
	{"import", "POST", "/v2/images/{id}/import", importBody, ""},
	{"add tag", "PUT", "/v2/images/{id}/tags/pwned", nil, ""},
	{"delete tag", "DELETE", "/v2/images/{id}/tags/pwned", nil, ""},
	{"deactivate", "POST", "/v2/images/{id}/actions/deactivate", nil, ""},
	{"reactivate", "POST", "/v2/images/{id}/actions/reactivate", nil, ""},
	{"list members", "GET", "/v2/images/{id}/members", nil, ""},
	{"add member", "POST", "/v2/images/{id}/members", map[string]any{"member": "{C}"}, ""},
	{"show member", "GET", "/v2/images/{id}/members/{B}", nil, ""},
	{"accept", "PUT", "/v2/images/{id}/members/{B}", map[string]any{"status": "accepted"}, ""},
	{"remove member", "DELETE", "/v2/images/{id}/members/{B}", nil, ""},
}

const patchV21 = "application/openstack-images-v2.1-json-patch"

// run makes o on image id as token.
func (o op) run(t *testing.T, c *cloud, token, id string) reply {
	t.Helper()
	body := o.body
	if m, ok := body.(map[string]any); ok && m["member"] != nil {
		body = map[string]any{"member": expandProjects(m["member"].(string))}
	}
	return c.Call(t, call{Method: o.method, Path: expandProjects(strings.ReplaceAll(o.path, "{id}", id)), Token: token, Body: body, Type: o.typ})
}

// Images a project may not see are 404 to it whatever it tries, never
// 403 (which would confirm they exist), and nothing changes.
func TestTenancyInvisible(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	tests := []struct {
		who, token, image string
	}{
		{"B on A's private image", memberB, e.private},
		{"B on A's image shared with nobody", memberB, e.unshared},
		{"C on A's image shared with B", memberC, e.shared},
		{"A's reader on B's private image", readerA, e.bPrivate},
		{"A's member on B's private image", memberA, e.bPrivate},
		{"anyone on an unknown image", memberA, "0f1c3c47-3e26-4ac4-9d5e-5d4e7d0f8c11"},
	}
	before := c.snapshot(t)
	for _, tt := range tests {
		for _, o := range imageOps {
			t.Run(tt.who+"/"+o.name, func(t *testing.T) {
				wantError(t, o.run(t, c, tt.token, tt.image), http.StatusNotFound, "")
			})
		}
	}
	c.unchanged(t, before)
}

// A project sees other projects' public and community images and those
// shared with it, but may change none of them (403); it may only accept
// or reject its own membership.
func TestTenancyVisible(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	tests := []struct {
		name, image string
		want        map[string]int // the answers that are not 403
	}{
		{"public", e.public, map[string]int{"show": 200, "download": 200, "list members": 403, "show member": 404, "accept": 403}},
		{"community", e.community, map[string]int{"show": 200, "download": 200, "list members": 403, "show member": 404, "accept": 403}},
		{"shared with B", e.shared, map[string]int{"show": 200, "download": 200, "list members": 200, "show member": 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.snapshot(t)
			for _, o := range imageOps {
				if o.name == "accept" && tt.image == e.shared {
					continue // allowed, and it changes state: see below
				}
				want, ok := tt.want[o.name]
				if !ok {
					want = http.StatusForbidden
				}
				r := o.run(t, c, memberB, tt.image)
				if want >= 400 {
					wantError(t, r, want, "")
				} else if r.Code != want {
					t.Errorf("%s: %s, want %d", o.name, r, want)
				}
			}
			c.unchanged(t, before)
		})
	}

	t.Run("B sees only its own membership", func(t *testing.T) {
		c.Must(t, http.StatusOK, "POST", "/v2/images/"+e.shared+"/members", memberA, map[string]any{"member": projectC})
		if m := c.Must(t, http.StatusOK, "GET", "/v2/images/"+e.shared+"/members", memberA, nil); len(list(t, m, "members")) != 2 {
			t.Fatalf("owner sees %v", m)
		}
		m := c.Must(t, http.StatusOK, "GET", "/v2/images/"+e.shared+"/members", memberB, nil)
		if ms := list(t, m, "members"); len(ms) != 1 || str(t, ms[0], "member_id") != projectB {
			t.Fatalf("B sees %v", ms)
		}
		wantError(t, c.Do(t, "GET", "/v2/images/"+e.shared+"/members/"+projectC, memberB, nil), http.StatusNotFound, "")
		wantError(t, c.Do(t, "PUT", "/v2/images/"+e.shared+"/members/"+projectC, memberB, map[string]any{"status": "accepted"}), http.StatusNotFound, "")
	})

	t.Run("the owner cannot accept for B", func(t *testing.T) {
		before := c.snapshot(t)
		wantError(t, c.Do(t, "PUT", "/v2/images/"+e.shared+"/members/"+projectB, memberA, map[string]any{"status": "accepted"}),
			http.StatusForbidden, "")
		c.unchanged(t, before)
	})

	t.Run("B accepts and rejects", func(t *testing.T) {
		listB := func(q string) []string { return c.listIDs(t, memberB, "/v2/images"+q) }
		if got := listB(""); slices.Contains(got, e.shared) {
			t.Fatal("a pending image is in the default list")
		}
		if got := listB("?member_status=pending"); !slices.Contains(got, e.shared) {
			t.Fatalf("member_status=pending lists %v", got)
		}
		m := c.Must(t, http.StatusOK, "PUT", "/v2/images/"+e.shared+"/members/"+projectB, memberB, map[string]any{"status": "accepted"})
		if m["status"] != "accepted" || m["member_id"] != projectB || m["image_id"] != e.shared {
			t.Fatalf("accepted: %v", m)
		}
		if got := listB(""); !slices.Contains(got, e.shared) {
			t.Fatalf("after accepting, B lists %v", got)
		}
		c.Must(t, http.StatusOK, "PUT", "/v2/images/"+e.shared+"/members/"+projectB, memberB, map[string]any{"status": "rejected"})
		if got := listB(""); slices.Contains(got, e.shared) {
			t.Fatal("a rejected image is in the default list")
		}
		if got := listB("?member_status=rejected"); !slices.Contains(got, e.shared) {
			t.Fatalf("member_status=rejected lists %v", got)
		}
		c.Must(t, http.StatusOK, "GET", "/v2/images/"+e.shared, memberB, nil) // still a member
		wantError(t, c.Do(t, "PUT", "/v2/images/"+e.shared+"/members/"+projectB, memberB, map[string]any{"status": "owned"}),
			http.StatusBadRequest, "")
	})
}

// What each project lists by default and with visibility filters.
func TestTenancyList(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	tests := []struct {
		token, query string
		want         []string
	}{
		{memberB, "", []string{e.public, e.bPrivate}},
		{memberB, "?visibility=community", []string{e.community}},
		{memberB, "?visibility=all", []string{e.public, e.community, e.bPrivate}},
		{memberB, "?visibility=all&member_status=all", []string{e.public, e.community, e.shared, e.bPrivate}},
		{memberB, "?visibility=shared&member_status=pending", []string{e.shared}},
		{memberB, "?visibility=private", []string{e.bPrivate}},
		{memberC, "", []string{e.public}},
		{memberC, "?visibility=all&member_status=all", []string{e.public, e.community}},
		{memberA, "", []string{e.private, e.shared, e.unshared, e.public, e.community}},
		{readerA, "?visibility=private", []string{e.private}},
		{adminA, "?visibility=all", []string{e.private, e.shared, e.unshared, e.public, e.community, e.bPrivate}},
		{adminA, "?owner=" + projectB, []string{e.bPrivate}},
	}
	for _, tt := range tests {
		t.Run(tt.token+tt.query, func(t *testing.T) {
			got := c.listIDs(t, tt.token, "/v2/images"+tt.query)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("listed %v, want %v", got, want)
			}
		})
	}
}

// Readers read; members of the project write; only admins publish or act
// for another project; admins see and change everything.
func TestTenancyRoles(t *testing.T) {
	c := newCloud(t)
	e := newEstate(t, c)
	queued := c.mkImage(t, memberA, map[string]any{"name": "queued", "disk_format": "raw", "container_format": "bare"})

	t.Run("reader", func(t *testing.T) {
		before := c.snapshot(t)
		c.Must(t, http.StatusOK, "GET", "/v2/images", readerA, nil)
		for _, o := range imageOps {
			r := o.run(t, c, readerA, e.shared)
			if slices.Contains([]string{"show", "list members", "show member"}, o.name) {
				if r.Code != http.StatusOK {
					t.Errorf("%s: %s", o.name, r)
				}
				continue
			}
			wantError(t, r, http.StatusForbidden, "You are not authorized")
		}
		wantError(t, c.Do(t, "POST", "/v2/images", readerA, map[string]any{"name": "x"}), http.StatusForbidden, "add_image")
		wantError(t, c.upload(t, readerA, queued, rawData(10)), http.StatusForbidden, "upload_image")
		wantError(t, c.Do(t, "GET", "/v2/images/"+e.private+"/file", readerA, nil), http.StatusForbidden, "download_image")
		c.unchanged(t, before)
	})

	t.Run("member", func(t *testing.T) {
		before := c.snapshot(t)
		tests := []struct {
			name  string
			body  map[string]any   // a create
			patch []map[string]any // or a PATCH of A's private image
			msg   string
		}{
			{name: "create public", body: map[string]any{"visibility": "public"}, msg: "publicize_image"},
			{name: "create for B", body: map[string]any{"owner": projectB}, msg: "You are not permitted to create images owned by '" + projectB + "'"},
			{name: "create public for B", body: map[string]any{"owner": projectB, "visibility": "public"}, msg: "owned by '" + projectB + "'"},
			{name: "make public", patch: []map[string]any{{"op": "replace", "path": "/visibility", "value": "public"}}, msg: "publicize_image"},
			{name: "replace owner", patch: []map[string]any{{"op": "replace", "path": "/owner", "value": projectB}}, msg: "Owner can't be updated by non admin"},
			{name: "add owner", patch: []map[string]any{{"op": "add", "path": "/owner", "value": projectB}}, msg: "Owner can't be updated by non admin"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var r reply
				if tt.patch != nil {
					r = c.Call(t, call{Method: "PATCH", Path: "/v2/images/" + e.private, Token: memberA, Body: tt.patch, Type: patchV21})
				} else {
					r = c.Do(t, "POST", "/v2/images", memberA, tt.body)
				}
				wantError(t, r, http.StatusForbidden, tt.msg)
			})
		}
		c.unchanged(t, before)
		img := c.create(t, memberA, map[string]any{"owner": projectA, "visibility": "community"})
		if img["owner"] != projectA || img["visibility"] != "community" {
			t.Fatalf("created %v", img)
		}
	})

	t.Run("admin", func(t *testing.T) {
		c.Must(t, http.StatusOK, "GET", "/v2/images/"+e.bPrivate, adminA, nil)
		r := c.Call(t, call{Method: "PATCH", Path: "/v2/images/" + e.bPrivate, Token: adminA, Type: patchV21,
			Body: []map[string]any{{"op": "replace", "path": "/name", "value": "renamed"}, {"op": "add", "path": "/note", "value": "admin"}}})
		if r.Code != http.StatusOK {
			t.Fatalf("admin PATCH of B's image: %s", r)
		}
		if img := c.show(t, e.bPrivate); img["name"] != "renamed" || img["note"] != "admin" || img["owner"] != projectB {
			t.Fatalf("after the admin's PATCH: %v", img)
		}
		if r := c.upload(t, adminA, e.bPrivate, rawData(64)); r.Code != http.StatusNoContent {
			t.Fatalf("admin upload to B's image: %s", r)
		}
		if r := c.Do(t, "GET", "/v2/images/"+e.bPrivate+"/file", adminA, nil); r.Code != http.StatusOK || string(r.Body) != string(rawData(64)) {
			t.Fatalf("admin download of B's image: %d %q", r.Code, r.Body)
		}
		for _, body := range []map[string]any{{"owner": projectB}, {"visibility": "public"}} {
			img := c.create(t, adminA, body)
			if body["owner"] != nil && img["owner"] != projectB || body["visibility"] != nil && img["visibility"] != "public" {
				t.Errorf("admin created %v from %v", img, body)
			}
		}
		c.Must(t, http.StatusNoContent, "POST", "/v2/images/"+e.bPrivate+"/actions/deactivate", adminA, nil)
		c.Must(t, http.StatusNoContent, "POST", "/v2/images/"+e.bPrivate+"/actions/reactivate", adminA, nil)
		c.Must(t, http.StatusNoContent, "DELETE", "/v2/images/"+e.bPrivate, adminA, nil)
		wantError(t, c.Do(t, "GET", "/v2/images/"+e.bPrivate, memberB, nil), http.StatusNotFound, "")
	})
}
