package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite metadefschemas/*.json from the installed Glance")

// mdCloud is a cloud with Glance's default definitions of
// image/testdata/metadefs loaded.
func mdCloud(t *testing.T) *cloud {
	t.Helper()
	c := newCloud(t)
	n, skipped, err := c.Service.Store.LoadMetadefs(context.Background(), os.DirFS("../testdata/metadefs"))
	if err != nil || n != 4 || len(skipped) > 0 {
		t.Fatalf("load: %d %v %v", n, skipped, err)
	}
	return c
}

// mdSnapshot is every namespace with its content as the admin sees it.
func (c *cloud) mdSnapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	body := c.Must(t, http.StatusOK, "GET", "/v2/metadefs/namespaces?limit=1000", adminA, nil)
	for _, ns := range list(t, body, "namespaces") {
		full := c.Must(t, http.StatusOK, "GET", "/v2/metadefs/namespaces/"+str(t, ns, "namespace"), adminA, nil)
		j, _ := json.Marshal(full)
		lines = append(lines, string(j))
	}
	j, _ := json.Marshal(c.Must(t, http.StatusOK, "GET", "/v2/metadefs/resource_types", adminA, nil))
	lines = append(lines, string(j))
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// glanceCLI runs python3-glanceclient's glance command against the
// cloud with token, without Keystone (--os-image-url, --os-auth-token).
type glanceCLI struct {
	t   *testing.T
	bin string
	url string
}

func (g glanceCLI) run(token string, args ...string) (string, error) {
	g.t.Helper()
	cmd := exec.Command(g.bin, append([]string{"--os-image-url", g.url, "--os-auth-token", token, "--os-image-api-version", "2"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + g.t.TempDir()}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (g glanceCLI) must(token string, args ...string) string {
	g.t.Helper()
	out, err := g.run(token, args...)
	if err != nil {
		g.t.Fatalf("glance %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// The client proof: glanceclient's md-* commands (python3-openstackclient
// 6.0 has no metadef commands) against the API, which they drive through
// the schemas it serves.
func TestMetadefGlanceClient(t *testing.T) {
	bin := testenv.LookPath(t, "glance", "python3-glanceclient")
	c := mdCloud(t)
	g := glanceCLI{t: t, bin: bin, url: c.URL}

	out := g.must(memberB, "md-namespace-list")
	for _, ns := range []string{"OS::Compute::CPUPinning", "OS::Compute::Watchdog", "OS::Software::WebServers"} {
		if !strings.Contains(out, ns) {
			t.Errorf("md-namespace-list lacks %s:\n%s", ns, out)
		}
	}
	if strings.Contains(out, "OS::OperatingSystem") { // no visibility in its file: admins only
		t.Errorf("a project lists OS::OperatingSystem:\n%s", out)
	}
	out = g.must(memberB, "md-namespace-list", "--resource-types", "OS::Nova::Server")
	if !strings.Contains(out, "OS::Software::WebServers") || strings.Contains(out, "Watchdog") {
		t.Errorf("md-namespace-list --resource-types:\n%s", out)
	}
	if out := g.must(memberB, "md-resource-type-list"); !strings.Contains(out, "OS::Nova::Flavor") {
		t.Errorf("md-resource-type-list:\n%s", out)
	}
	if out := g.must(memberB, "md-namespace-show", "OS::Compute::Watchdog"); !strings.Contains(out, "watchdog_action") {
		t.Errorf("md-namespace-show:\n%s", out)
	}
	if out := g.must(memberB, "md-object-list", "OS::Software::WebServers"); !strings.Contains(out, "Apache HTTP Server") {
		t.Errorf("md-object-list:\n%s", out)
	}

	// An admin's private namespace with content; invisible to project B.
	g.must(adminA, "md-namespace-create", "gostack::test", "--display-name", "Test", "--visibility", "private")
	g.must(adminA, "md-object-create", "gostack::test", "--name", "obj1", "--schema",
		`{"description":"d","properties":{"speed":{"type":"integer","title":"Speed","minimum":1}},"required":["speed"]}`)
	g.must(adminA, "md-property-create", "gostack::test", "--name", "color", "--title", "Color", "--schema", `{"type":"string","enum":["red","blue"]}`)
	g.must(adminA, "md-tag-create-multiple", "gostack::test", "--names", "one,two,three")
	g.must(adminA, "md-resource-type-associate", "gostack::test", "--name", "OS::Glance::Image", "--prefix", "test_")
	out = g.must(adminA, "md-namespace-show", "gostack::test", "--resource-type", "OS::Glance::Image")
	for _, want := range []string{"test_color", "obj1", "OS::Glance::Image"} {
		if !strings.Contains(out, want) {
			t.Errorf("md-namespace-show --resource-type lacks %s:\n%s", want, out)
		}
	}
	shown := c.Must(t, http.StatusOK, "GET", "/v2/metadefs/namespaces/gostack::test?resource_type=OS::Glance::Image", adminA, nil)
	obj := list(t, shown, "objects")[0].(map[string]any)
	if _, ok := obj["properties"].(map[string]any)["test_speed"]; !ok || obj["required"].([]any)[0] != "test_speed" {
		t.Errorf("object properties not prefixed: %v", obj)
	}
	if out := g.must(adminA, "md-tag-list", "gostack::test"); !strings.Contains(out, "three") {
		t.Errorf("md-tag-list:\n%s", out)
	}
	if out := g.must(adminA, "md-object-show", "gostack::test", "obj1"); !strings.Contains(out, "speed") {
		t.Errorf("md-object-show:\n%s", out)
	}
	if out, err := g.run(memberB, "md-namespace-show", "gostack::test"); err == nil || !strings.Contains(out, "404") {
		t.Errorf("project B shows a private namespace: %v\n%s", err, out)
	}
	if out := g.must(memberB, "md-namespace-list"); strings.Contains(out, "gostack::test") {
		t.Errorf("project B lists a private namespace:\n%s", out)
	}
	// Members may not write (metadef_admin).
	if out, err := g.run(memberA, "md-namespace-create", "gostack::mine"); err == nil || !strings.Contains(out, "403") {
		t.Errorf("a member created a namespace: %v\n%s", err, out)
	}
	// Protected: refused; then deleted once unprotected.
	if out, err := g.run(adminA, "md-namespace-delete", "OS::Compute::Watchdog"); err == nil || !strings.Contains(out, "protected") {
		t.Errorf("deleted a protected namespace: %v\n%s", err, out)
	}
	g.must(adminA, "md-object-delete", "gostack::test", "obj1")
	g.must(adminA, "md-namespace-delete", "gostack::test")
	if out, err := g.run(adminA, "md-namespace-show", "gostack::test"); err == nil {
		t.Errorf("namespace still there:\n%s", out)
	}
}

// The schemas are Glance's own: the installed python3-glance writes the
// same documents (-update rewrites them from it).
func TestMetadefSchemasMatchGlance(t *testing.T) {
	// python3-glance is not among scripts/packages.txt's packages yet:
	// without it this check cannot run, and the served files stay as
	// written.
	if exec.Command(testenv.SystemPython, "-c", "import glance.api.v2.schemas").Run() != nil {
		t.Skip("python3-glance is not installed: the schemas cannot be compared with Glance's")
	}
	dir := t.TempDir()
	cmd := exec.Command("/usr/bin/python3", "metadefschemas/dump.py", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dump.py: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 10 {
		t.Fatalf("dump.py wrote %v", files)
	}
	for _, f := range files {
		want, _ := os.ReadFile(f)
		name := filepath.Join("metadefschemas", filepath.Base(f))
		if *update {
			if err := os.WriteFile(name, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, _ := os.ReadFile(name); string(got) != string(want) {
			t.Errorf("%s differs from Glance's (go test -run TestMetadefSchemasMatchGlance -update)", name)
		}
	}
}

// Bad input on every kind of metadef call: Glance's status and words,
// the error in Glance's body, nothing changed.
func TestMetadefBadInput(t *testing.T) {
	c := mdCloud(t)
	c.Must(t, http.StatusCreated, "POST", "/v2/metadefs/namespaces", adminA, map[string]any{"namespace": "mine", "tags": []any{map[string]any{"name": "t"}}})
	before := c.mdSnapshot(t)
	nsl, ns := "/v2/metadefs/namespaces", "/v2/metadefs/namespaces/"
	long := strings.Repeat("x", 81)
	tests := []struct {
		method, path, token string
		body                any
		code                int
		msg                 string
	}{
		{"POST", nsl, adminA, map[string]any{}, 400, "'namespace' is a required property"},
		{"POST", nsl, adminA, map[string]any{"namespace": long}, 400, "is too long"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "visibility": "shared"}, 400, "is not one of ['public', 'private']"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "protected": "yes"}, 400, "is not of type 'boolean'"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "bogus": 1}, 400, "Additional properties are not allowed ('bogus' was unexpected)"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "properties": map[string]any{"p": map[string]any{"type": "string"}}}, 400, "'title' is a required property"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "properties": map[string]any{"p": map[string]any{"type": "float", "title": "P"}}}, 400, "is not one of"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "tags": []any{map[string]any{"name": "a"}, map[string]any{"name": "A"}}}, 409, "case insensitive"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "created_at": "now"}, 403, "Attribute 'created_at' is read-only."},
		{"POST", nsl, adminA, []any{}, 400, "is not of type 'object'"},
		{"POST", nsl, adminA, `"x"`, 400, "Unexpected body type"},
		{"POST", nsl, adminA, map[string]any{"namespace": "mine"}, 409, "The metadata definition namespace=mine already exists."},
		{"POST", nsl, memberA, map[string]any{"namespace": "n"}, 403, ""},
		{"PUT", ns + "OS::Compute::Watchdog", memberA, map[string]any{"namespace": "x"}, 403, ""},
		{"PUT", ns + "mine", adminA, map[string]any{"namespace": "OS::Compute::Watchdog"}, 409, "duplicate metadata definition namespace"},
		{"PUT", ns + "nope", adminA, map[string]any{"namespace": "x"}, 404, "Metadata definition namespace=nope was not found."},
		{"DELETE", ns + "OS::Compute::Watchdog", adminA, nil, 403, "Metadata definition namespace OS::Compute::Watchdog is protected and cannot be deleted."},
		{"DELETE", ns + "OS::Compute::Watchdog/properties", adminA, nil, 403, "is protected"},
		{"DELETE", ns + "OS::Compute::Watchdog/properties/watchdog_action", adminA, nil, 403, "Metadata definition property watchdog_action is protected and cannot be deleted."},
		{"DELETE", ns + "OS::Compute::Watchdog/resource_types/OS::Nova::Flavor", adminA, nil, 403, "is protected"},
		{"DELETE", ns + "OS::Compute::Watchdog", memberA, nil, 403, ""},
		{"DELETE", ns + "OS::OperatingSystem", memberA, nil, 404, "was not found"},
		{"GET", ns + "mine", memberB, nil, 404, "Metadata definition namespace=mine was not found."},
		{"GET", ns + "mine/tags", memberB, nil, 404, "was not found"},
		{"GET", ns + "mine/tags/t", memberB, nil, 404, "was not found"},
		{"GET", ns + "mine/objects", memberB, nil, 404, "was not found"},
		{"GET", ns + "mine/resource_types", memberB, nil, 404, "was not found"},
		{"GET", ns + "mine/tags/nope", adminA, nil, 404, "The metadata definition tag with name=nope was not found in namespace=mine."},
		{"GET", ns + "mine/objects/nope", adminA, nil, 404, "The metadata definition object with name=nope was not found in namespace=mine."},
		{"GET", ns + "mine/properties/nope", adminA, nil, 404, "The metadata definition property with name=nope was not found in namespace=mine."},
		{"POST", ns + "mine/tags/T", adminA, nil, 409, "A metadata tag with name=T already exists in namespace=mine."},
		{"POST", ns + "mine/tags/" + long, adminA, nil, 400, "is too long"},
		{"POST", ns + "mine/tags", adminA, map[string]any{"tags": []any{map[string]any{"name": "z"}, map[string]any{"name": "z"}}}, 409, "A metadata tag with name=z"},
		{"POST", ns + "mine/tags", adminA, map[string]any{"tags": []any{map[string]any{}}}, 400, "'name' is a required property"},
		{"POST", ns + "mine/tags", adminA, map[string]any{}, 400, "'tags' is a required property"},
		{"POST", ns + "mine/objects", adminA, map[string]any{"description": "no name"}, 400, "'name' is a required property"},
		{"POST", ns + "mine/objects", adminA, map[string]any{"name": "o", "required": []any{"a", "a"}}, 400, "has non-unique elements"},
		{"POST", ns + "mine/objects", adminA, map[string]any{"name": "o", "self": "x"}, 403, "Attribute 'self' is read-only."},
		{"POST", ns + "mine/properties", adminA, map[string]any{"name": "p", "title": "P"}, 400, "'type' is a required property"},
		{"POST", ns + "mine/properties", adminA, map[string]any{"name": "p", "title": "P", "type": "string", "maxLength": -1}, 400, "-1 is less than the minimum of 0"},
		{"POST", ns + "mine/properties", adminA, map[string]any{"name": "p", "title": "P", "type": "string", "enum": []any{1, "b"}}, 400, "Invalid input for field/attribute enum"},
		{"POST", nsl, adminA, map[string]any{"namespace": "n", "objects": []any{map[string]any{"name": "o", "properties": map[string]any{"p": map[string]any{"title": "P", "type": "string", "minimum": 1.5}}}}}, 400, "field/attribute minimum"},
		{"POST", ns + "mine/tags", adminA, map[string]any{"tags": []any{"x"}}, 400, "Invalid input for field/attribute tags"},
		{"POST", ns + "mine/resource_types", adminA, map[string]any{"prefix": "x"}, 400, "'name' is a required property"},
		{"POST", ns + "mine/objects", memberA, map[string]any{"name": "o"}, 403, "add_metadef_object"}, // A's: seen, not writable
		{"POST", ns + "mine/objects", memberB, map[string]any{"name": "o"}, 404, ""},                   // not B's: unseen
		{"DELETE", ns + "mine/resource_types/OS::Nova::Server", adminA, nil, 404, "Failed to find resource type OS::Nova::Server to delete"},
		{"GET", "/v2/metadefs/namespaces?sort_dir=up", adminA, nil, 400, "Invalid sort direction: up"},
		{"GET", "/v2/metadefs/namespaces?sort_key=bogus", adminA, nil, 400, "Invalid sort key: bogus"},
		{"GET", "/v2/metadefs/namespaces?visibility=shared", adminA, nil, 400, "Invalid visibility value: shared"},
		{"GET", "/v2/metadefs/namespaces?limit=-1", adminA, nil, 400, "limit"},
		{"GET", "/v2/metadefs/namespaces?marker=nope", adminA, nil, 404, "Metadata definition namespace=nope was not found."},
		{"GET", "/v2/metadefs/namespaces", "", nil, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			wantError(t, c.Do(t, tt.method, tt.path, tt.token, tt.body), tt.code, tt.msg)
		})
	}
	if after := c.mdSnapshot(t); after != before {
		t.Errorf("metadefs changed")
	}
}
