package api_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store/httpstore"
	"github.com/gostack/gostack/internal/testenv"
)

// remote is a web server holding image data at its paths, counting the
// requests it gets by method.
type remote struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	calls map[string]int
}

func newRemote(t *testing.T) *remote {
	rm := &remote{files: map[string][]byte{}, calls: map[string]int{}}
	rm.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rm.mu.Lock()
		rm.calls[r.Method]++
		data, ok := rm.files[r.URL.Path]
		rm.mu.Unlock()
		if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "disk.img", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(rm.Close)
	return rm
}

// put serves data at path and returns its URL.
func (rm *remote) put(path string, data []byte) string {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.files[path] = data
	return rm.URL + path
}

func (rm *remote) count(method string) int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.calls[method]
}

func (rm *remote) requests() int {
	return rm.count("GET") + rm.count("HEAD") + rm.count("DELETE") + rm.count("PUT")
}

// locationsCloud is a cloud with locations shown (and direct_url), whose
// External store is the guarded client allowing allow (a test server on
// loopback needs 127.0.0.0/8).
func locationsCloud(t *testing.T, show bool, allow ...string) *cloud {
	var prefixes []netip.Prefix
	for _, a := range allow {
		prefixes = append(prefixes, netip.MustParsePrefix(a))
	}
	return newCloudAPI(t, func(a *api.API) { a.ShowMultipleLocations, a.ShowDirectURL = show, show },
		func(s *image.Service) {
			s.External = &httpstore.Store{Client: httpstore.GuardedClient(prefixes, time.Minute)}
			s.Store.Caps.Locations = 3
		})
}

func patchOps(t *testing.T, c *cloud, token, id string, ops ...map[string]any) reply {
	t.Helper()
	return c.Call(t, call{Method: "PATCH", Path: "/v2/images/" + id, Token: token, Body: ops, Type: patchV21})
}

func loc(url string, md map[string]any) map[string]any {
	if md == nil {
		md = map[string]any{}
	}
	return map[string]any{"url": url, "metadata": md}
}

func addLoc(at string, v any) map[string]any {
	return map[string]any{"op": "add", "path": "/locations/" + at, "value": v}
}

func hashes(data []byte) (string, string) {
	m, s := md5.Sum(data), sha512.Sum512(data)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// locURLs are the URLs of an image body's locations.
func locURLs(t *testing.T, img map[string]any) []string {
	t.Helper()
	var out []string
	for _, l := range list(t, img, "locations") {
		out = append(out, str(t, l, "url"))
	}
	return out
}

// A queued image made active by a location, its data served from there,
// more locations added, their metadata replaced, one removed, and the
// image deleted without a request to the remote server but reads.
func TestLocations(t *testing.T) {
	c := locationsCloud(t, true, "127.0.0.0/8")
	rm := newRemote(t)
	data := rawData(3000)
	first, second := rm.put("/a/disk.img", data), rm.put("/b/disk.img", data)
	md5sum, sha := hashes(data)

	id := c.mkImage(t, memberA, map[string]any{"name": "remote", "disk_format": "raw", "container_format": "bare"})
	img := c.Must(t, http.StatusOK, "GET", "/v2/images/"+id, memberA, nil)
	if got := list(t, img, "locations"); len(got) != 0 {
		t.Fatalf("a queued image's locations: %v", got)
	}
	if _, ok := img["direct_url"]; ok {
		t.Fatalf("direct_url without locations: %v", img)
	}

	r := patchOps(t, c, memberA, id, addLoc("-", map[string]any{"url": first, "metadata": map[string]any{"k": "v"},
		"validation_data": map[string]any{"checksum": md5sum, "os_hash_algo": "sha512", "os_hash_value": sha}}))
	if r.Code != http.StatusOK {
		t.Fatalf("add: %s", r)
	}
	img = r.JSON(t)
	if img["status"] != "active" || img["size"] != float64(len(data)) || img["checksum"] != md5sum || img["os_hash_value"] != sha {
		t.Fatalf("after the first location: %v", img)
	}
	if got := list(t, img, "locations"); len(got) != 1 || str(t, got[0], "url") != first || got[0].(map[string]any)["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("locations: %v", got)
	}
	if img["direct_url"] != first || img["virtual_size"] != nil {
		t.Fatalf("direct_url %v, virtual_size %v", img["direct_url"], img["virtual_size"])
	}

	t.Run("data from the location", func(t *testing.T) {
		r := c.Call(t, call{Method: "GET", Path: "/v2/images/" + id + "/file", Token: memberA})
		if r.Code != http.StatusOK || !bytes.Equal(r.Body, data) || r.Header.Get("Content-MD5") != md5sum {
			t.Fatalf("download: %d, %d bytes, md5 %q", r.Code, len(r.Body), r.Header.Get("Content-MD5"))
		}
		r = c.Call(t, call{Method: "GET", Path: "/v2/images/" + id + "/file", Token: memberA, Header: map[string]string{"Range": "bytes=100-199"}})
		if r.Code != http.StatusPartialContent || !bytes.Equal(r.Body, data[100:200]) {
			t.Fatalf("range: %d %q", r.Code, r.Body)
		}
	})

	// A second location in front, then the same one again.
	if r := patchOps(t, c, memberA, id, addLoc("0", loc(second, nil))); r.Code != http.StatusOK {
		t.Fatalf("add at 0: %s", r)
	} else if got := locURLs(t, r.JSON(t)); strings.Join(got, " ") != second+" "+first {
		t.Fatalf("order: %v", got)
	}
	before := c.snapshot(t)
	wantError(t, patchOps(t, c, memberA, id, addLoc("-", loc(second, nil))), http.StatusBadRequest, "already exists")
	c.unchanged(t, before)
	// The same URL with other metadata is another location, as in Glance.
	if r := patchOps(t, c, memberA, id, addLoc("-", loc(second, map[string]any{"x": "y"}))); r.Code != http.StatusOK {
		t.Fatalf("same URL, other metadata: %s", r)
	}

	// Replace: the same URLs with new metadata.
	r = patchOps(t, c, memberA, id, map[string]any{"op": "replace", "path": "/locations", "value": []any{
		loc(first, map[string]any{"tier": "cold"}), loc(second, map[string]any{"tier": "hot"}), loc(second, nil)}})
	if r.Code != http.StatusOK {
		t.Fatalf("replace metadata: %s", r)
	}
	img = r.JSON(t)
	if got := locURLs(t, img); strings.Join(got, " ") != first+" "+second+" "+second || img["direct_url"] != first {
		t.Fatalf("after replace: %v %v", got, img["direct_url"])
	}

	// Remove: admins only (delete_image_location), never the last.
	wantError(t, patchOps(t, c, memberA, id, map[string]any{"op": "remove", "path": "/locations/2"}), http.StatusForbidden, "")
	r = patchOps(t, c, adminA, id, map[string]any{"op": "remove", "path": "/locations/2"}, map[string]any{"op": "remove", "path": "/locations/0"})
	if r.Code != http.StatusOK {
		t.Fatalf("remove: %s", r)
	}
	if got := locURLs(t, r.JSON(t)); len(got) != 1 || got[0] != second {
		t.Fatalf("after remove: %v", got)
	}
	wantError(t, patchOps(t, c, adminA, id, map[string]any{"op": "remove", "path": "/locations/-"}), http.StatusForbidden, "Cannot remove last location in the image.")

	// Delete: the remote data stays, and the server was only read.
	if r := c.Do(t, "DELETE", "/v2/images/"+id, memberA, nil); r.Code != http.StatusNoContent {
		t.Fatalf("delete: %s", r)
	}
	if n := rm.count("DELETE") + rm.count("PUT") + rm.count("POST"); n != 0 {
		t.Fatalf("the remote server got %d writes", n)
	}
	if resp, err := http.Get(second); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("remote data after the delete: %v %v", resp, err)
	}
}

// An uploaded image's own data is a location (file://, as Glance's
// filesystem store shows it); with a remote copy added, removing the own
// one deletes the file and the data comes from the remote copy.
func TestLocationsOwnData(t *testing.T) {
	c := locationsCloud(t, true, "127.0.0.0/8")
	rm := newRemote(t)
	data := rawData(2048)
	id := c.mkImage(t, memberA, map[string]any{"name": "up", "disk_format": "raw", "container_format": "bare"})
	if r := c.upload(t, memberA, id, data); r.Code != http.StatusNoContent {
		t.Fatalf("upload: %s", r)
	}
	own := "file://" + filepath.Join(c.DataDir, "objects", id)
	img := c.Must(t, http.StatusOK, "GET", "/v2/images/"+id, memberA, nil)
	if got := locURLs(t, img); len(got) != 1 || got[0] != own || img["direct_url"] != own {
		t.Fatalf("own data: %v %v", got, img["direct_url"])
	}
	// Another size than the image's is not a copy of it.
	wantError(t, patchOps(t, c, memberA, id, addLoc("-", loc(rm.put("/short", data[:100]), nil))), http.StatusBadRequest, "Invalid location")
	copyURL := rm.put("/copy", data)
	if r := patchOps(t, c, memberA, id, addLoc("-", loc(copyURL, nil))); r.Code != http.StatusOK {
		t.Fatalf("add a copy: %s", r)
	}
	// The own location's metadata may change; it stays the own data.
	if r := patchOps(t, c, memberA, id, map[string]any{"op": "replace", "path": "/locations", "value": []any{
		loc(own, map[string]any{"note": "local"}), loc(copyURL, nil)}}); r.Code != http.StatusOK {
		t.Fatalf("replace the own location's metadata: %s", r)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "objects", id)); err != nil {
		t.Fatalf("own data after a metadata change: %v", err)
	}
	if r := patchOps(t, c, adminA, id, map[string]any{"op": "remove", "path": "/locations/0"}); r.Code != http.StatusOK {
		t.Fatalf("remove the own location: %s", r)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "objects", id)); !os.IsNotExist(err) {
		t.Fatalf("own data still there: %v", err)
	}
	gets := rm.count("GET")
	r := c.Call(t, call{Method: "GET", Path: "/v2/images/" + id + "/file", Token: memberA})
	if r.Code != http.StatusOK || !bytes.Equal(r.Body, data) || rm.count("GET") != gets+1 {
		t.Fatalf("download from the copy: %d, %d bytes", r.Code, len(r.Body))
	}
	// A file:// URL, the own data's included, cannot be added back.
	wantError(t, patchOps(t, c, memberA, id, addLoc("-", loc(own, nil))), http.StatusBadRequest, "Invalid location")
}

// The guard of web-download: loopback and link-local addresses are
// refused without a request leaving, other schemes are not locations.
func TestLocationsGuard(t *testing.T) {
	c := locationsCloud(t, true) // nothing allowed
	rm := newRemote(t)
	data := rawData(512)
	okURL := rm.put("/disk.img", data)
	id := c.mkImage(t, memberA, map[string]any{"name": "g", "disk_format": "raw", "container_format": "bare"})
	for _, u := range []string{
		okURL, // 127.0.0.1: loopback
		strings.Replace(okURL, "127.0.0.1", "localhost", 1),
		"http://[::1]:1/x",
		"http://169.254.169.254/latest/meta-data/", // the metadata service
		"http://[fe80::1]/x",
		"http://0.0.0.0/x",
		"file:///etc/passwd",
		"file://" + c.DataDir + "/objects/" + id,
		"rbd://fsid/pool/image/snap",
		"swift://account:user:key@auth/container/obj",
		"swift+config://ref/container/obj",
		"cinder://volume-id",
		"ftp://example.org/disk.img",
		"http:///no-host",
		"not a url",
		"",
	} {
		t.Run(u, func(t *testing.T) {
			before := c.snapshot(t)
			wantError(t, patchOps(t, c, memberA, id, addLoc("-", loc(u, nil))), http.StatusBadRequest, "Invalid location")
			c.unchanged(t, before)
		})
	}
	if n := rm.requests(); n != 0 {
		t.Fatalf("the loopback server got %d requests through the guard", n)
	}
	// The same server, allowed as web-download's allow list allows it.
	allowed := locationsCloud(t, true, "127.0.0.1/32")
	id = allowed.mkImage(t, memberA, map[string]any{"name": "g", "disk_format": "raw", "container_format": "bare"})
	if r := patchOps(t, allowed, memberA, id, addLoc("-", loc(okURL, nil))); r.Code != http.StatusOK {
		t.Fatalf("allowed: %s", r)
	}
	if rm.count("HEAD") != 1 {
		t.Fatalf("HEAD requests: %d", rm.count("HEAD"))
	}
}

// Every refusal of Glance's location rules: its status and message, and
// nothing changed.
func TestLocationsBadInput(t *testing.T) {
	c := locationsCloud(t, true, "127.0.0.0/8")
	rm := newRemote(t)
	data := rawData(1000)
	good := rm.put("/disk.img", data)
	other := rm.put("/other.img", data)
	empty := rm.put("/empty.img", nil)
	_, sha := hashes(data)
	queued := c.mkImage(t, memberA, map[string]any{"name": "q", "disk_format": "raw", "container_format": "bare"})
	noFormat := c.mkImage(t, memberA, map[string]any{"name": "nf"})
	active := c.mkImage(t, memberA, map[string]any{"name": "a", "disk_format": "raw", "container_format": "bare"})
	if r := patchOps(t, c, memberA, active, addLoc("-", loc(good, nil))); r.Code != http.StatusOK {
		t.Fatalf("setup: %s", r)
	}
	deactivated := c.mkImage(t, memberA, map[string]any{"name": "d", "disk_format": "raw", "container_format": "bare"})
	if r := patchOps(t, c, memberA, deactivated, addLoc("-", loc(good, nil))); r.Code != http.StatusOK {
		t.Fatalf("setup: %s", r)
	}
	c.Must(t, http.StatusNoContent, "POST", "/v2/images/"+deactivated+"/actions/deactivate", memberA, nil)
	private := c.mkImage(t, memberA, map[string]any{"name": "p", "visibility": "private", "disk_format": "raw", "container_format": "bare"})
	val := func(v map[string]any) map[string]any {
		return map[string]any{"url": good, "metadata": map[string]any{}, "validation_data": v}
	}
	type ops = []map[string]any
	tests := []struct {
		name  string
		image string
		token string
		body  ops
		code  int
		msg   string
	}{
		{"add at /locations", queued, memberA, ops{{"op": "add", "path": "/locations", "value": loc(good, nil)}}, 400, "Invalid JSON pointer for this resource: '/locations'"},
		{"replace one", active, memberA, ops{{"op": "replace", "path": "/locations/0", "value": loc(good, nil)}}, 400, "Invalid JSON pointer for this resource: '/locations/0'"},
		{"remove all", active, adminA, ops{{"op": "remove", "path": "/locations"}}, 400, "Invalid JSON pointer for this resource: '/locations'"},
		{"deeper", active, memberA, ops{{"op": "add", "path": "/locations/0/url", "value": good}}, 400, "Invalid JSON pointer"},
		{"value not an object", queued, memberA, ops{addLoc("-", "http://x/")}, 400, "is not of type 'object'"},
		{"no url", queued, memberA, ops{addLoc("-", map[string]any{"metadata": map[string]any{}})}, 400, "'url' is a required property"},
		{"no metadata", queued, memberA, ops{addLoc("-", map[string]any{"url": good})}, 400, "'metadata' is a required property"},
		{"url a number", queued, memberA, ops{addLoc("-", map[string]any{"url": 5, "metadata": map[string]any{}})}, 400, "5 is not of type 'string'"},
		{"url too long", queued, memberA, ops{addLoc("-", loc(good+"?"+strings.Repeat("x", 255), nil))}, 400, "is too long"},
		{"metadata a list", queued, memberA, ops{addLoc("-", map[string]any{"url": good, "metadata": []any{}})}, 400, "[] is not of type 'object'"},
		{"metadata a number", queued, memberA, ops{addLoc("-", loc(good, map[string]any{"n": 1}))}, 400, "The image metadata key n has an invalid type of number."},
		{"metadata nested null", queued, memberA, ops{addLoc("-", loc(good, map[string]any{"l": []any{"a", nil}}))}, 400, "The image metadata key l[1] has an invalid type of null."},
		{"replace not a list", active, memberA, ops{{"op": "replace", "path": "/locations", "value": loc(good, nil)}}, 400, "is not of type 'array'"},
		{"replace null", active, memberA, ops{{"op": "replace", "path": "/locations", "value": nil}}, 400, "is not of type 'array'"},
		{"replace empty", active, memberA, ops{{"op": "replace", "path": "/locations", "value": []any{}}}, 403, "Cannot set locations to empty list."},
		{"replace other URLs", active, memberA, ops{{"op": "replace", "path": "/locations", "value": []any{loc(other, nil)}}}, 400, "Original locations is not empty"},
		{"replace with a duplicate", queued, memberA, ops{{"op": "replace", "path": "/locations", "value": []any{loc(good, nil), loc(good, nil)}}}, 400, "already exists"},
		{"validation extra key", queued, memberA, ops{addLoc("-", val(map[string]any{"os_hash_algo": "sha512", "os_hash_value": sha, "md5": "x"}))}, 400, "Additional properties are not allowed ('md5' was unexpected)"},
		{"validation without hash", queued, memberA, ops{addLoc("-", val(map[string]any{"os_hash_algo": "sha512"}))}, 400, "'os_hash_value' is a required property"},
		{"validation short checksum", queued, memberA, ops{addLoc("-", val(map[string]any{"checksum": "abc", "os_hash_algo": "sha512", "os_hash_value": sha}))}, 400, "'abc' is too short"},
		{"validation checksum not hex", queued, memberA, ops{addLoc("-", val(map[string]any{"checksum": strings.Repeat("z", 32), "os_hash_algo": "sha512", "os_hash_value": sha}))}, 409, "is not a valid hexadecimal value"},
		{"validation other algorithm", queued, memberA, ops{addLoc("-", val(map[string]any{"os_hash_algo": "sha256", "os_hash_value": sha[:64]}))}, 409, "os_hash_algo must be sha512, not sha256"},
		{"validation short hash", queued, memberA, ops{addLoc("-", val(map[string]any{"os_hash_algo": "sha512", "os_hash_value": "abcd"}))}, 409, "is not the correct size for sha512 (should be 64 bytes)"},
		{"validation conflicting", queued, memberA, ops{{"op": "replace", "path": "/locations", "value": []any{
			val(map[string]any{"os_hash_algo": "sha512", "os_hash_value": sha}),
			map[string]any{"url": other, "metadata": map[string]any{}, "validation_data": map[string]any{"os_hash_algo": "sha512", "os_hash_value": strings.Repeat("0", 128)}}}}},
			409, "Conflicting values for os_hash_value"},
		{"validation on an active image", active, memberA, ops{addLoc("-", map[string]any{"url": other, "metadata": map[string]any{},
			"validation_data": map[string]any{"os_hash_algo": "sha512", "os_hash_value": sha}})}, 409, "New value(s) for os_hash_algo, os_hash_value may only be provided when image status is 'queued'"},
		{"bad position", active, memberA, ops{addLoc("x", loc(other, nil))}, 400, "Invalid position for adding a location."},
		{"remove past the end", active, adminA, ops{addLoc("-", loc(other, nil)), {"op": "remove", "path": "/locations/2"}}, 400, "Invalid position for removing a location."},
		{"remove from a queued image", queued, adminA, ops{{"op": "remove", "path": "/locations/0"}}, 409, "It's not allowed to remove locations if image status is queued."},
		{"add to a deactivated image", deactivated, memberA, ops{addLoc("-", loc(other, nil))}, 409, "It's not allowed to add locations if image status is deactivated."},
		{"replace on a deactivated image", deactivated, memberA, ops{{"op": "replace", "path": "/locations", "value": []any{loc(good, nil)}}}, 409, "It's not allowed to replace locations if image status is deactivated."},
		{"no formats", noFormat, memberA, ops{addLoc("-", loc(good, nil))}, 400, "Properties disk_format, container_format must be set prior to saving data."},
		{"missing at the server", queued, memberA, ops{addLoc("-", loc(rm.URL+"/missing", nil))}, 400, "Invalid location"},
		{"empty at the server", queued, memberA, ops{addLoc("-", loc(empty, nil))}, 400, "Invalid location"},
		{"nothing listens", queued, memberA, ops{addLoc("-", loc("http://127.0.0.1:1/disk.img", nil))}, 400, "Invalid location"},
		{"over the cap", active, memberA, ops{addLoc("-", loc(other, nil)), addLoc("-", loc(other, map[string]any{"a": "b"})), addLoc("-", loc(other, map[string]any{"c": "d"}))},
			413, "The limit has been exceeded on the number of allowed image locations. Attempted: 4, Maximum: 3"},
		{"reader may not set", active, readerA, ops{addLoc("-", loc(other, nil))}, 403, ""},
		{"member may not remove", active, memberA, ops{addLoc("-", loc(other, nil)), {"op": "remove", "path": "/locations/0"}}, 403, ""},
		{"another project's image", private, memberB, ops{addLoc("-", loc(good, nil))}, 404, ""},
		{"a bad change after a good one", queued, memberA, ops{addLoc("-", loc(good, nil)), {"op": "replace", "path": "/status", "value": "x"}}, 403, "read-only"},
		{"a refused change after a location", queued, memberA, ops{addLoc("-", loc(good, nil)), {"op": "replace", "path": "/visibility", "value": "public"}}, 403, "publicize_image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.snapshot(t)
			wantError(t, patchOps(t, c, tt.token, tt.image, tt.body...), tt.code, tt.msg)
			c.unchanged(t, before)
		})
	}
}

// With show_multiple_locations off (the default) locations are Glance's
// 403s, after the same schema checks, and bodies show none.
func TestLocationsOff(t *testing.T) {
	c := locationsCloud(t, false, "127.0.0.0/8")
	rm := newRemote(t)
	good := rm.put("/disk.img", rawData(100))
	id := c.mkImage(t, memberA, map[string]any{"name": "off", "disk_format": "raw", "container_format": "bare"})
	if r := c.upload(t, memberA, id, rawData(100)); r.Code != http.StatusNoContent {
		t.Fatalf("upload: %s", r)
	}
	img := c.Must(t, http.StatusOK, "GET", "/v2/images/"+id, adminA, nil)
	for _, k := range []string{"locations", "direct_url"} {
		if _, ok := img[k]; ok {
			t.Fatalf("%s shown with the switch off: %v", k, img)
		}
	}
	before := c.snapshot(t)
	for _, tt := range []struct {
		name, token string
		op          map[string]any
		code        int
		msg         string
	}{
		{"add", memberA, addLoc("-", loc(good, nil)), 403, "It's not allowed to add locations if locations are invisible."},
		{"replace", memberA, map[string]any{"op": "replace", "path": "/locations", "value": []any{loc(good, nil)}}, 403, "It's not allowed to update locations if locations are invisible."},
		{"remove", adminA, map[string]any{"op": "remove", "path": "/locations/0"}, 403, "It's not allowed to remove locations if locations are invisible."},
		{"replace empty", memberA, map[string]any{"op": "replace", "path": "/locations", "value": []any{}}, 403, "Cannot set locations to empty list."},
		{"policy first", memberA, map[string]any{"op": "remove", "path": "/locations/0"}, 403, ""},
		{"schema first", memberA, addLoc("-", map[string]any{"url": good}), 400, "'metadata' is a required property"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, patchOps(t, c, tt.token, id, tt.op), tt.code, tt.msg)
		})
	}
	c.unchanged(t, before)
	if n := rm.requests(); n != 0 {
		t.Fatalf("the switch off, the server got %d requests", n)
	}
}

// get_image_location: the owner's readers see the locations, another
// project seeing the public image does not.
func TestLocationsPolicy(t *testing.T) {
	c := locationsCloud(t, true, "127.0.0.0/8")
	rm := newRemote(t)
	good := rm.put("/disk.img", rawData(100))
	id := c.mkImage(t, adminA, map[string]any{"name": "pub", "visibility": "public", "disk_format": "raw", "container_format": "bare"})
	if r := patchOps(t, c, adminA, id, addLoc("-", loc(good, nil))); r.Code != http.StatusOK {
		t.Fatalf("add: %s", r)
	}
	for _, tt := range []struct {
		token string
		want  int
	}{{adminA, 1}, {readerA, 1}, {memberB, 0}} {
		img := c.Must(t, http.StatusOK, "GET", "/v2/images/"+id, tt.token, nil)
		if got := list(t, img, "locations"); len(got) != tt.want {
			t.Errorf("%s sees %d locations, want %d", tt.token, len(got), tt.want)
		}
		if _, ok := img["direct_url"]; ok != (tt.want > 0) {
			t.Errorf("%s: direct_url %v", tt.token, img["direct_url"])
		}
		listed := c.Must(t, http.StatusOK, "GET", "/v2/images?id="+id, tt.token, nil)
		if got := list(t, list(t, listed, "images")[0], "locations"); len(got) != tt.want {
			t.Errorf("%s lists %d locations, want %d", tt.token, len(got), tt.want)
		}
	}
	// Any project may read the public image's data, through the location.
	if r := c.Call(t, call{Method: "GET", Path: "/v2/images/" + id + "/file", Token: memberB}); r.Code != http.StatusOK || len(r.Body) != 100 {
		t.Fatalf("download by another project: %d", r.Code)
	}
}

// A location whose server went away or whose data shrank: 503, and the
// truncated copy is never passed off as the image.
func TestLocationsRemoteFailure(t *testing.T) {
	c := locationsCloud(t, true, "127.0.0.0/8")
	rm := newRemote(t)
	data := rawData(4096)
	u := rm.put("/disk.img", data)
	id := c.mkImage(t, memberA, map[string]any{"name": "r", "disk_format": "raw", "container_format": "bare"})
	if r := patchOps(t, c, memberA, id, addLoc("-", loc(u, nil))); r.Code != http.StatusOK {
		t.Fatalf("add: %s", r)
	}
	rm.put("/disk.img", data[:1000])
	// The answer is promised whole (Content-Length) and cut short: the
	// client sees a broken transfer, never a short image.
	req, _ := http.NewRequest("GET", c.URL+"/v2/images/"+id+"/file", nil)
	req.Header.Set("X-Auth-Token", memberA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(got) >= len(data) || resp.ContentLength != int64(len(data)) {
		t.Fatalf("shrunk copy: %d of %d bytes (Content-Length %d), err %v", len(got), len(data), resp.ContentLength, err)
	}
	rm.Close()
	wantError(t, c.Call(t, call{Method: "GET", Path: "/v2/images/" + id + "/file", Token: memberA}), http.StatusServiceUnavailable,
		"Remote server where the image is present is unavailable.")
}

// The client proof: glanceclient's location-add, location-update and
// location-delete (python3-openstackclient 6.0 has no location commands;
// gophercloud none either), then image-download through the location.
func TestLocationsGlanceClient(t *testing.T) {
	bin := testenv.LookPath(t, "glance", "python3-glanceclient")
	c := locationsCloud(t, true, "127.0.0.0/8")
	rm := newRemote(t)
	data := rawData(5000)
	a, b := rm.put("/a.img", data), rm.put("/b.img", data)
	md5sum, sha := hashes(data)
	g := glanceCLI{t: t, bin: bin, url: c.URL}
	id := c.mkImage(t, memberA, map[string]any{"name": "cli", "disk_format": "raw", "container_format": "bare"})

	out := g.must(memberA, "location-add", "--url", a, "--metadata", `{"store":"web"}`, "--checksum", md5sum,
		"--hash-algo", "sha512", "--hash-value", sha, id)
	if !strings.Contains(out, "active") || !strings.Contains(out, md5sum) {
		t.Fatalf("location-add:\n%s", out)
	}
	g.must(memberA, "location-add", "--url", b, id)
	g.must(memberA, "location-update", "--url", b, "--metadata", `{"tier":"cold"}`, id)
	img := c.show(t, id)
	if got := locURLs(t, img); strings.Join(got, " ") != a+" "+b {
		t.Fatalf("locations: %v", got)
	}
	if md := list(t, img, "locations")[1].(map[string]any)["metadata"].(map[string]any); md["tier"] != "cold" {
		t.Fatalf("metadata after location-update: %v", md)
	}
	// Removing is admin-only by Glance's default policy.
	if out, err := g.run(memberA, "location-delete", "--url", a, id); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("member location-delete: %v\n%s", err, out)
	}
	g.must(adminA, "location-delete", "--url", a, id)
	if got := locURLs(t, c.show(t, id)); len(got) != 1 || got[0] != b {
		t.Fatalf("after location-delete: %v", got)
	}
	file := filepath.Join(t.TempDir(), "out.img")
	g.must(memberA, "image-download", "--file", file, id)
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("image-download: %d bytes, %v", len(got), err)
	}
	// Refusals reach the client as Glance's.
	if out, err := g.run(memberA, "location-add", "--url", "file:///etc/passwd", id); err == nil || !strings.Contains(out, "Invalid location") {
		t.Fatalf("file:// location-add: %v\n%s", err, out)
	}
}
