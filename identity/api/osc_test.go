package api_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// openstack runs the real openstack CLI (python3-openstackclient) as the
// bootstrap admin, scoped to the admin project, against c.
func (c *cloud) openstack(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(),
		"OS_AUTH_URL=" + c.URL + "/v3", "OS_IDENTITY_API_VERSION=3",
		"OS_USERNAME=admin", "OS_PASSWORD=" + adminPassword, "OS_PROJECT_NAME=admin",
		"OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("openstack %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func (c *cloud) openstackJSON(t *testing.T, bin string, v any, args ...string) {
	t.Helper()
	out := c.openstack(t, bin, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestOpenStackCLIIdentity is the client proof of a user's extra
// properties, project tags and the region hierarchy: the openstack CLI
// sets them and reads them back.
func TestOpenStackCLIIdentity(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	c := newCloud(t)

	t.Run("user email", func(t *testing.T) {
		var u map[string]any
		c.openstackJSON(t, bin, &u, "user", "create", "u1", "--email", "u1@example.org", "--description", "first", "--password", "u1-pw")
		if u["email"] != "u1@example.org" || u["description"] != "first" {
			t.Fatalf("user create: %v", u)
		}
		c.openstack(t, bin, "user", "set", "u1", "--email", "u1@example.net")
		var shown map[string]any
		c.openstackJSON(t, bin, &shown, "user", "show", "u1")
		if shown["email"] != "u1@example.net" || shown["description"] != "first" || shown["id"] != u["id"] {
			t.Fatalf("user show: %v", shown)
		}
		var us []map[string]any
		c.openstackJSON(t, bin, &us, "user", "list", "--long")
		i := slices.IndexFunc(us, func(x map[string]any) bool { return x["Name"] == "u1" })
		if i < 0 || us[i]["Email"] != "u1@example.net" {
			t.Fatalf("user list --long: %v", us)
		}
	})

	t.Run("project tags", func(t *testing.T) {
		c.openstack(t, bin, "project", "create", "p1", "--tag", "one")
		c.openstack(t, bin, "project", "set", "p1", "--tag", "two", "--tag", "three")
		var p map[string]any
		c.openstackJSON(t, bin, &p, "project", "show", "p1")
		tags, _ := p["tags"].([]any)
		if got := fmtTags(tags); !slices.Equal(got, []string{"one", "three", "two"}) {
			t.Fatalf("project show tags = %v (%v)", got, p)
		}
		var ps []map[string]any
		c.openstackJSON(t, bin, &ps, "project", "list", "--tags", "two")
		if len(ps) != 1 || ps[0]["Name"] != "p1" {
			t.Fatalf("project list --tags two: %v", ps)
		}
		c.openstack(t, bin, "project", "set", "p1", "--remove-tag", "one")
		c.openstackJSON(t, bin, &p, "project", "show", "p1")
		tags, _ = p["tags"].([]any)
		if got := fmtTags(tags); !slices.Equal(got, []string{"three", "two"}) {
			t.Fatalf("project show tags after --remove-tag = %v", got)
		}
	})

	// The CLI sets tags with PATCH; keystoneclient's tag calls use the
	// sub-resources (PUT and DELETE of one tag, HEAD to check one).
	t.Run("project tags through keystoneclient", func(t *testing.T) {
		var p map[string]any
		c.openstackJSON(t, bin, &p, "project", "create", "p2")
		cmd := exec.Command("/usr/bin/python3", "testdata/keystoneclient_tags.py")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "OS_AUTH_URL=" + c.URL + "/v3",
			"OS_PASSWORD=" + adminPassword, "PROJECT=" + p["id"].(string)}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("keystoneclient_tags.py: %v\n%s%s", err, out, stderr.String())
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		want := `{"after_add":["alpha","with space"],"after_delete":["y"],"after_delete_all":[],"check_alpha":true,"check_missing":false,"delete_all_status":204,"update":["x","y"]}`
		if b, _ := json.Marshal(got); string(b) != want {
			t.Fatalf("keystoneclient saw %s\nwant %s", b, want)
		}
	})

	t.Run("region hierarchy", func(t *testing.T) {
		c.openstack(t, bin, "region", "create", "east", "--description", "East")
		var r map[string]any
		c.openstackJSON(t, bin, &r, "region", "create", "east-1", "--parent-region", "east")
		if r["parent_region"] != "east" {
			t.Fatalf("region create: %v", r)
		}
		c.openstack(t, bin, "region", "create", "west")
		var rs []map[string]any
		c.openstackJSON(t, bin, &rs, "region", "list", "--parent-region", "east")
		if len(rs) != 1 || rs[0]["Region"] != "east-1" {
			t.Fatalf("region list --parent-region east: %v", rs)
		}
	})
}

func fmtTags(tags []any) []string {
	var out []string
	for _, x := range tags {
		s, _ := x.(string)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
