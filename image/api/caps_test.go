package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gostack/gostack/image"
)

// capCase is one write against Glance's per-image caps: the image it
// works on (made first, with members added), the call, and either the
// success status with the count after it, or Glance's 413 with nothing
// changed.
type capCase struct {
	name    string
	image   map[string]any // nil: the call makes the image
	members int            // members the image has before the call
	method  string
	path    string // after /v2/images/{id}, or "" for POST /v2/images
	typ     string // Content-Type; default JSON
	body    any
	code    int
	msg     string // error message; {id} is the image id
	what    string // on success: "properties", "tags" or "members"
	want    int    // how many of what there are after the call
}

// extra are n extra properties prop-000, prop-001...
func extra(base map[string]any, n int) map[string]any {
	m := map[string]any{"name": "caps", "visibility": "shared"}
	for k, v := range base {
		m[k] = v
	}
	for i := range n {
		m[fmt.Sprintf("prop-%03d", i)] = "v"
	}
	return m
}

// tagList is n tags tag-000, tag-001...
func tagList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tag-%03d", i)
	}
	return out
}

// addOps adds properties new-0, new-1... in the v2.1 media type.
func addOps(n int) []map[string]any {
	ops := make([]map[string]any, n)
	for i := range ops {
		ops[i] = map[string]any{"op": "add", "path": fmt.Sprintf("/new-%d", i), "value": "v"}
	}
	return ops
}

// count is how many properties (prop-* and new-*), tags or members the
// image has.
func (c *cloud) count(t *testing.T, id, what string) int {
	t.Helper()
	switch what {
	case "tags":
		return len(list(t, c.show(t, id), "tags"))
	case "members":
		return len(list(t, c.Must(t, http.StatusOK, "GET", "/v2/images/"+id+"/members", adminA, nil), "members"))
	}
	n := 0
	for k := range c.show(t, id) {
		if strings.HasPrefix(k, "prop-") || strings.HasPrefix(k, "new-") {
			n++
		}
	}
	return n
}

func (c *cloud) runCaps(t *testing.T, tests []capCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ""
			path := "/v2/images"
			if tt.image != nil {
				id = c.mkImage(t, memberA, tt.image)
				for i := range tt.members {
					c.Must(t, http.StatusOK, "POST", "/v2/images/"+id+"/members", memberA, map[string]any{"member": fmt.Sprintf("project-%03d", i)})
				}
				path += "/" + id + tt.path
			}
			before := c.snapshot(t)
			r := c.Call(t, call{Method: tt.method, Path: path, Token: memberA, Body: tt.body, Type: tt.typ})
			if tt.code == http.StatusRequestEntityTooLarge {
				wantError(t, r, tt.code, strings.ReplaceAll(tt.msg, "{id}", id))
				c.unchanged(t, before)
				return
			}
			if r.Code != tt.code {
				t.Fatalf("%s", r)
			}
			if id == "" {
				id = str(t, r.JSON(t), "id")
			}
			if got := c.count(t, id, tt.what); got != tt.want {
				t.Fatalf("%d %s after the call, want %d", got, tt.what, tt.want)
			}
		})
	}
}

const (
	propsOver   = "The limit has been exceeded on the number of allowed image properties. Attempted: %d, Maximum: %d"
	tagsOver    = "The limit has been exceeded on the number of allowed image tags. Attempted: %d, Maximum: %d"
	membersOver = "The limit has been exceeded on the number of allowed image members for this image. Attempted: %d, Maximum: %d"
	// image_tags.py and image_members.py wrap the message, colon included.
	tagWrap    = "Image tag limit exceeded for image {id}: " + tagsOver + ":"
	memberWrap = "Image member limit exceeded for image {id}: " + membersOver + ":"
)

// Glance's default caps, 128 properties, tags and members per image, on
// every write that adds one: create, PATCH in both media types, PUT of
// a tag, POST of a member. At the cap the write passes; one over is a
// 413 with Glance's message and nothing changed.
func TestCaps(t *testing.T) {
	c := newCloud(t)
	const v20 = "application/openstack-images-v2.0-json-patch"
	tooLarge := http.StatusRequestEntityTooLarge
	withTags := func(n int) map[string]any { return extra(map[string]any{"tags": tagList(n)}, 0) }
	c.runCaps(t, []capCase{
		{name: "create: 128 properties", method: "POST", body: extra(nil, 128), code: 201, what: "properties", want: 128},
		{name: "create: 129 properties", method: "POST", body: extra(nil, 129), code: tooLarge, msg: fmt.Sprintf(propsOver, 129, 128)},
		{name: "create: 128 tags", method: "POST", body: withTags(128), code: 201, what: "tags", want: 128},
		{name: "create: 129 tags", method: "POST", body: withTags(129), code: tooLarge, msg: fmt.Sprintf(tagsOver, 129, 128)},
		{name: "create: a repeated tag counts once", method: "POST", body: extra(map[string]any{"tags": append(tagList(128), "tag-000")}, 0),
			code: 201, what: "tags", want: 128},
		{name: "create: tags before properties", method: "POST", body: extra(map[string]any{"tags": tagList(130)}, 131),
			code: tooLarge, msg: fmt.Sprintf(tagsOver, 130, 128)},

		{name: "patch: the 128th property", image: extra(nil, 127), method: "PATCH", typ: patchV21, body: addOps(1),
			code: 200, what: "properties", want: 128},
		{name: "patch: the 129th property", image: extra(nil, 128), method: "PATCH", typ: patchV21, body: addOps(1),
			code: tooLarge, msg: fmt.Sprintf(propsOver, 129, 128)},
		{name: "patch: two over in one request", image: extra(nil, 127), method: "PATCH", typ: patchV21, body: addOps(2),
			code: tooLarge, msg: fmt.Sprintf(propsOver, 129, 128)},
		{name: "patch v2.0: the 129th property", image: extra(nil, 128), method: "PATCH", typ: v20, body: []map[string]any{{"add": "/new-0", "value": "v"}},
			code: tooLarge, msg: fmt.Sprintf(propsOver, 129, 128)},
		{name: "patch: a new value at the cap", image: extra(nil, 128), method: "PATCH", typ: patchV21,
			body: []map[string]any{{"op": "replace", "path": "/prop-000", "value": "w"}}, code: 200, what: "properties", want: 128},
		{name: "patch: one out and one in at the cap", image: extra(nil, 128), method: "PATCH", typ: patchV21,
			body: append([]map[string]any{{"op": "remove", "path": "/prop-000"}}, addOps(1)...), code: 200, what: "properties", want: 128},
		{name: "patch: replace tags with 128", image: withTags(1), method: "PATCH", typ: patchV21,
			body: []map[string]any{{"op": "replace", "path": "/tags", "value": tagList(128)}}, code: 200, what: "tags", want: 128},
		{name: "patch: replace tags with 129", image: withTags(1), method: "PATCH", typ: patchV21,
			body: []map[string]any{{"op": "replace", "path": "/tags", "value": tagList(129)}}, code: tooLarge, msg: fmt.Sprintf(tagsOver, 129, 128)},
		{name: "patch v2.0: replace tags with 129", image: withTags(1), method: "PATCH", typ: v20,
			body: []map[string]any{{"replace": "/tags", "value": tagList(129)}}, code: tooLarge, msg: fmt.Sprintf(tagsOver, 129, 128)},

		{name: "tag: the 128th", image: withTags(127), method: "PUT", path: "/tags/new", code: 204, what: "tags", want: 128},
		{name: "tag: the 129th", image: withTags(128), method: "PUT", path: "/tags/new", code: tooLarge, msg: fmt.Sprintf(tagWrap, 129, 128)},
		{name: "tag: one it has, at the cap", image: withTags(128), method: "PUT", path: "/tags/tag-000", code: 204, what: "tags", want: 128},
	})
}

// Caps other than the defaults, set on the store the API serves: lower
// ones, none at all (0) and unlimited (negative).
func TestCapsConfigured(t *testing.T) {
	tooLarge := http.StatusRequestEntityTooLarge
	member := map[string]any{"member": projectB}
	t.Run("lower", func(t *testing.T) {
		c := newCloud(t, func(s *image.Service) { s.Store.Caps = image.Caps{Properties: 2, Tags: 1, Members: 1} })
		c.runCaps(t, []capCase{
			{name: "create: 2 properties", method: "POST", body: extra(nil, 2), code: 201, what: "properties", want: 2},
			{name: "create: 3 properties", method: "POST", body: extra(nil, 3), code: tooLarge, msg: fmt.Sprintf(propsOver, 3, 2)},
			{name: "create: 2 tags", method: "POST", body: extra(map[string]any{"tags": tagList(2)}, 0), code: tooLarge, msg: fmt.Sprintf(tagsOver, 2, 1)},
			{name: "patch: the 3rd property", image: extra(nil, 2), method: "PATCH", typ: patchV21, body: addOps(1),
				code: tooLarge, msg: fmt.Sprintf(propsOver, 3, 2)},
			{name: "tag: the 1st", image: extra(nil, 0), method: "PUT", path: "/tags/new", code: 204, what: "tags", want: 1},
			{name: "tag: the 2nd", image: extra(map[string]any{"tags": tagList(1)}, 0), method: "PUT", path: "/tags/new",
				code: tooLarge, msg: fmt.Sprintf(tagWrap, 2, 1)},
			{name: "member: the 1st", image: extra(nil, 0), method: "POST", path: "/members", body: member, code: 200, what: "members", want: 1},
			{name: "member: the 2nd", image: extra(nil, 0), members: 1, method: "POST", path: "/members", body: member,
				code: tooLarge, msg: fmt.Sprintf(memberWrap, 2, 1)},
		})
	})
	t.Run("none", func(t *testing.T) {
		c := newCloud(t, func(s *image.Service) { s.Store.Caps = image.Caps{} })
		c.runCaps(t, []capCase{
			{name: "create: no properties", method: "POST", body: extra(nil, 0), code: 201, what: "properties", want: 0},
			{name: "create: a property", method: "POST", body: extra(nil, 1), code: tooLarge, msg: fmt.Sprintf(propsOver, 1, 0)},
			{name: "tag", image: extra(nil, 0), method: "PUT", path: "/tags/new", code: tooLarge, msg: fmt.Sprintf(tagWrap, 1, 0)},
			{name: "member", image: extra(nil, 0), method: "POST", path: "/members", body: member, code: tooLarge, msg: fmt.Sprintf(memberWrap, 1, 0)},
		})
	})
	t.Run("unlimited", func(t *testing.T) {
		c := newCloud(t, func(s *image.Service) { s.Store.Caps = image.Caps{Properties: -1, Tags: -1, Members: -1} })
		c.runCaps(t, []capCase{
			{name: "create: 300 properties", method: "POST", body: extra(nil, 300), code: 201, what: "properties", want: 300},
			{name: "create: 300 tags", method: "POST", body: extra(map[string]any{"tags": tagList(300)}, 0), code: 201, what: "tags", want: 300},
			{name: "member: the 130th", image: extra(nil, 0), members: 129, method: "POST", path: "/members", body: member,
				code: 200, what: "members", want: 130},
		})
	})
}
