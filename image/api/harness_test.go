package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gostack/gostack/internal/apitest"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/image/api"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The projects of every test cloud, with Keystone-shaped ids.
var (
	projectA = strings.Repeat("a", 32)
	projectB = strings.Repeat("b", 32)
	projectC = strings.Repeat("c", 32)
)

// The tokens the fake validator knows. Members also hold reader, as
// Keystone's implied roles (member implies reader) put both in a token.
const (
	adminA  = "token-admin-a"  // admin, member, reader on A
	memberA = "token-member-a" // member, reader on A
	readerA = "token-reader-a" // reader on A
	memberB = "token-member-b" // member, reader on B
	memberC = "token-member-c" // member, reader on C
)

// callers is the fake identity of these tests.
func callers() middlewaretest.Tokens {
	caller := middlewaretest.Caller
	return middlewaretest.Tokens{
		adminA:  caller("admin", projectA, "admin", "member", "reader"),
		memberA: caller("alice", projectA, "member", "reader"),
		readerA: caller("carol", projectA, "reader"),
		memberB: caller("bob", projectB, "member", "reader"),
		memberC: caller("chuck", projectC, "member", "reader"),
	}
}

// cloud is the image API on an httptest server: records in SQLite, data
// and staged data in filesystem stores, Glance's default policies, the
// fake identity in front.
type cloud struct {
	apitest.Client
	Service    *image.Service
	DataDir    string // the Filesystem store of image data
	StagingDir string // the Filesystem store of staged data
}

// newCloud starts a cloud; opts adjust the service before it serves.
func newCloud(t *testing.T, opts ...func(*image.Service)) *cloud {
	t.Helper()
	return newCloudAPI(t, nil, opts...)
}

// newCloudAPI is newCloud with the API's settings adjusted by set.
func newCloudAPI(t *testing.T, set func(*api.API), opts ...func(*image.Service)) *cloud {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "image.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), image.Migrations()); err != nil {
		t.Fatal(err)
	}
	c := &cloud{DataDir: filepath.Join(dir, "data"), StagingDir: filepath.Join(dir, "staging")}
	c.Service = &image.Service{
		Store:   image.NewStore(db, watch.New(db)),
		Data:    &store.Filesystem{Dir: c.DataDir},
		Staging: &store.Filesystem{Dir: c.StagingDir},
	}
	for _, o := range opts {
		o(c.Service)
	}
	t.Cleanup(c.Service.Wait) // after the server closes, before the database does
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		t.Fatal(err)
	}
	a := &api.API{Service: c.Service, Policy: enf}
	if set != nil {
		set(a)
	}
	h := a.Handler()
	mw := &middleware.Middleware{Validator: callers(), Style: httpapi.Glance, Optional: true}
	srv := httptest.NewServer(mw.Wrap(h))
	t.Cleanup(srv.Close)
	c.Client = apitest.Client{URL: srv.URL, Header: map[string]string{"Accept": "application/json"}}
	return c
}

// client is a gophercloud image v2 client with token.
func (c *cloud) client(token string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{TokenID: token},
		Endpoint:       c.URL + "/",
		ResourceBase:   c.URL + "/v2/",
	}
}

// ---- requests ----

// call and reply are the requests of these tests (internal/apitest);
// cloud's embedded apitest.Client sends them (Call, Do, Must).
type (
	call  = apitest.Call
	reply = apitest.Reply
)

// ---- images ----

// create makes an image as token and returns it.
func (c *cloud) create(t *testing.T, token string, body map[string]any) map[string]any {
	t.Helper()
	return c.Must(t, http.StatusCreated, "POST", "/v2/images", token, body)
}

// mkImage creates an image as token and returns its id.
func (c *cloud) mkImage(t *testing.T, token string, body map[string]any) string {
	t.Helper()
	return str(t, c.create(t, token, body), "id")
}

// show reads an image as the admin.
func (c *cloud) show(t *testing.T, id string) map[string]any {
	t.Helper()
	return c.Must(t, http.StatusOK, "GET", "/v2/images/"+id, adminA, nil)
}

// upload PUTs data as the image's file with token.
func (c *cloud) upload(t *testing.T, token, id string, data []byte) reply {
	t.Helper()
	return c.Call(t, call{Method: "PUT", Path: "/v2/images/" + id + "/file", Token: token, Body: data, Type: "application/octet-stream"})
}

// waitStatus polls the image until it has status want, failing the test
// after a generous bound.
func (c *cloud) waitStatus(t *testing.T, id, want string) map[string]any {
	t.Helper()
	var img map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		img = c.show(t, id)
		if img["status"] == want {
			return img
		}
	}
	t.Fatalf("image %s is still %v, want %s", id, img["status"], want)
	return nil
}

// ids returns the ids of the images of a list body, in order.
func ids(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, img := range list(t, body, "images") {
		out = append(out, str(t, img, "id"))
	}
	return out
}

// listIDs lists path (a /v2/images query) as token and returns the ids of
// the first page.
func (c *cloud) listIDs(t *testing.T, token, path string) []string {
	t.Helper()
	return ids(t, c.Must(t, http.StatusOK, "GET", path, token, nil))
}

// ---- JSON ----

func str(t *testing.T, v any, key string) string {
	t.Helper()
	m, _ := v.(map[string]any)
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("%s: not a string in %v", key, v)
	}
	return s
}

func list(t *testing.T, v any, key string) []any {
	t.Helper()
	m, _ := v.(map[string]any)
	l, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s: not an array in %v", key, v)
	}
	return l
}

// wantError checks a Glance error answer as webob renders it for a
// client accepting JSON: exactly {"message","code","title"}, code being
// the status line, and a message containing msg.
func wantError(t *testing.T, r reply, code int, msg string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status = %s, want %d", r, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("not a JSON error body: %s", r.Body)
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"code", "message", "title"}) {
		t.Errorf("error body keys = %v, want code, message, title: %s", keys, r.Body)
	}
	if want := fmt.Sprintf("%d %s", code, http.StatusText(code)); body["code"] != want || body["title"] != http.StatusText(code) {
		t.Errorf("code/title = %v/%v, want %q/%q", body["code"], body["title"], want, http.StatusText(code))
	}
	if m, _ := body["message"].(string); !strings.Contains(m, msg) {
		t.Errorf("message = %q, want it to contain %q", m, msg)
	}
}

// ---- state ----

// snapshot is everything a call could change, as the admin sees it:
// every image (hidden ones too) with its members, and the files of the
// data and staging stores. A rejected call must leave it as it was.
func (c *cloud) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, q := range []string{"", "&os_hidden=true"} {
		body := c.Must(t, http.StatusOK, "GET", "/v2/images?visibility=all&member_status=all&limit=1000"+q, adminA, nil)
		for _, img := range list(t, body, "images") {
			j, _ := json.Marshal(img)
			lines = append(lines, string(j))
			if img.(map[string]any)["visibility"] == "shared" {
				m := c.Must(t, http.StatusOK, "GET", "/v2/images/"+str(t, img, "id")+"/members", adminA, nil)
				j, _ := json.Marshal(m["members"])
				lines = append(lines, "members "+string(j))
			}
		}
	}
	for _, dir := range []string{c.DataDir, c.StagingDir} {
		for _, f := range files(t, dir) {
			lines = append(lines, "file "+f)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// unchanged fails the test when the state moved from before.
func (c *cloud) unchanged(t *testing.T, before string) {
	t.Helper()
	if after := c.snapshot(t); after != before {
		t.Errorf("state changed:\n%s", apitest.LineDiff(before, after))
	}
}

// files lists the regular files under dir ("objects/<id> <size>"), none
// when dir does not exist.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out = append(out, fmt.Sprintf("%s %d", filepath.ToSlash(rel), fi.Size()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// noData fails the test when any store holds a file, finished or
// temporary.
func (c *cloud) noData(t *testing.T) {
	t.Helper()
	for _, dir := range []string{c.DataDir, c.StagingDir} {
		if f := files(t, dir); len(f) > 0 {
			t.Errorf("files left in %s: %v", dir, f)
		}
	}
}

// ---- disk images ----

// qemuImg makes images with qemu-img, skipping the test (failing it in
// CI) when qemu-img is absent.
type qemuImg struct {
	t   testing.TB
	bin string
	dir string
}

func newQemu(t testing.TB) *qemuImg {
	t.Helper()
	return &qemuImg{t: t, bin: testenv.LookPath(t, "qemu-img", "qemu-utils"), dir: t.TempDir()}
}

// create runs qemu-img create -q -f format [args] name size in the
// image directory and returns the file's bytes.
func (q *qemuImg) create(format, name, size string, args ...string) []byte {
	q.t.Helper()
	argv := append(append([]string{"create", "-q", "-f", format}, args...), name, size)
	cmd := exec.Command(q.bin, argv...)
	cmd.Dir = q.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		q.t.Fatalf("qemu-img %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	b, err := os.ReadFile(filepath.Join(q.dir, name))
	if err != nil {
		q.t.Fatal(err)
	}
	return b
}

// rawData is n bytes no format inspector mistakes for a disk image.
func rawData(n int) []byte {
	return bytes.Repeat([]byte("gostack image data. "), n/20+1)[:n]
}

func itoa(n int) string { return strconv.Itoa(n) }
