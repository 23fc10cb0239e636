package cinder_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage"
)

// qosDump is the store's QoS specs and types as JSON, for "nothing
// changed" checks.
func (c *client) qosDump(t *testing.T) string {
	t.Helper()
	qs, _, err := c.store.QoSSpecsList(context.Background(), storage.QoSSpecsFilter{SortKeys: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(qs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n" + c.typesDump(t)
}

// qosUnchanged runs fn and fails the test if the QoS specs or the types
// changed.
func (c *client) qosUnchanged(t *testing.T, fn func()) {
	t.Helper()
	before := c.qosDump(t)
	fn()
	if d := apitest.LineDiff(before, c.qosDump(t)); d != "" {
		t.Fatalf("a refusal changed the QoS specs or types:\n%s", d)
	}
}

func (c *client) newQoS(t *testing.T, specs map[string]any) map[string]any {
	t.Helper()
	return c.must(t, 200, "3.0", admin, "POST", "/qos-specs", map[string]any{"qos_specs": specs})["qos_specs"].(map[string]any)
}

// QoS specs through the API as Cinder's qos_specs_manage answers: create
// (200, the detail view), show, list with sort, limit, marker and the
// next link, update (the body answered back), delete_keys,
// associations, associate, disassociate, disassociate_all, and delete
// refused while associated unless forced; the type shows its
// qos_specs_id to admins.
func TestQoSSpecsAPI(t *testing.T) {
	c := newAPI(t)
	created := c.must(t, 200, "3.0", admin, "POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{
		"name": "  q1 ", "consumer": "front-end", "total_iops_sec": "100", "read_bytes_sec": nil}})
	q := created["qos_specs"].(map[string]any)
	id := q["id"].(string)
	if !sameJSON(t, q, map[string]any{"id": id, "name": "q1", "consumer": "front-end",
		"specs": map[string]any{"total_iops_sec": "100", "read_bytes_sec": nil}}) {
		t.Fatalf("created %v", q)
	}
	if links := created["links"].([]any); links[0].(map[string]any)["href"] != c.URL+"/v3/qos-specs/"+id {
		t.Fatalf("links %v", links)
	}
	if shown := c.must(t, 200, "3.0", admin, "GET", "/qos-specs/"+id, nil)["qos_specs"]; !sameJSON(t, shown, q) {
		t.Fatalf("shown %v, want %v", shown, q)
	}
	q2 := c.newQoS(t, map[string]any{"name": "q2"})
	if q2["consumer"] != "back-end" || !sameJSON(t, q2["specs"], map[string]any{}) {
		t.Fatalf("default consumer: %v", q2)
	}
	q3 := c.newQoS(t, map[string]any{"name": "q3", "consumer": "both"})

	list := c.must(t, 200, "3.0", admin, "GET", "/qos-specs", nil)
	if items := list["qos_specs"].([]any); len(items) != 3 || list["qos_specs_links"] != nil {
		t.Fatalf("list %v", list)
	}
	page := c.must(t, 200, "3.0", admin, "GET", "/qos-specs?sort=value:asc&limit=2", nil)
	items := page["qos_specs"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["name"] != "q1" || items[1].(map[string]any)["name"] != "q2" {
		t.Fatalf("page %v", page)
	}
	next, _ := url.Parse(page["qos_specs_links"].([]any)[0].(map[string]any)["href"].(string))
	if next.Query().Get("marker") != q2["id"] {
		t.Fatalf("next link %v", next)
	}
	rest := c.must(t, 200, "3.0", admin, "GET", "/qos-specs?"+next.RawQuery, nil)["qos_specs"].([]any)
	if len(rest) != 1 || rest[0].(map[string]any)["id"] != q3["id"] {
		t.Fatalf("second page %v", rest)
	}
	// Cinder filters on its table's columns: name is none of them.
	if l := c.must(t, 200, "3.0", admin, "GET", "/qos-specs?name=q1", nil)["qos_specs"].([]any); len(l) != 0 {
		t.Fatalf("name filter: %v", l)
	}
	if l := c.must(t, 200, "3.0", admin, "GET", "/qos-specs?id="+id, nil)["qos_specs"].([]any); len(l) != 1 {
		t.Fatalf("id filter: %v", l)
	}

	set := map[string]any{"qos_specs": map[string]any{"consumer": "both", "total_iops_sec": "200", "write_iops_sec": nil}}
	if got := c.must(t, 200, "3.0", admin, "PUT", "/qos-specs/"+id, set); !sameJSON(t, got, set) {
		t.Fatalf("update answered %v", got)
	}
	c.must(t, 202, "3.0", admin, "PUT", "/qos-specs/"+id+"/delete_keys", map[string]any{"keys": []string{"read_bytes_sec"}})
	if shown := c.must(t, 200, "3.0", admin, "GET", "/qos-specs/"+id, nil)["qos_specs"]; !sameJSON(t, shown, map[string]any{
		"id": id, "name": "q1", "consumer": "both", "specs": map[string]any{"total_iops_sec": "200", "write_iops_sec": nil}}) {
		t.Fatalf("after set and unset: %v", shown)
	}

	vt := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "gold"}})["volume_type"].(map[string]any)
	typeID := vt["id"].(string)
	c.must(t, 202, "3.0", admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typeID, nil)
	if got := c.must(t, 200, "3.0", admin, "GET", "/types/"+typeID, nil)["volume_type"].(map[string]any); got["qos_specs_id"] != id {
		t.Fatalf("type after associate: %v", got)
	}
	as := c.must(t, 200, "3.0", admin, "GET", "/qos-specs/"+id+"/associations", nil)
	if !sameJSON(t, as, map[string]any{"qos_associations": []any{map[string]any{"association_type": "volume_type", "name": "gold", "id": typeID}}}) {
		t.Fatalf("associations %v", as)
	}
	c.qosUnchanged(t, func() {
		wantError(t, c.call(t, "3.0", admin, "DELETE", "/qos-specs/"+id, nil), 400, "badRequest", "Qos specs still in use.")
		wantError(t, c.call(t, "3.0", admin, "DELETE", "/qos-specs/"+id+"?force=maybe", nil), 400, "badRequest",
			"Value 'maybe' for 'force' is not a boolean.")
		wantError(t, c.call(t, "3.0", admin, "GET", "/qos-specs/"+q2["id"].(string)+"/associate?vol_type_id="+typeID, nil),
			400, "badRequest", "Invalid volume type: Type "+typeID+" is already associated with another qos specs: "+id)
	})
	c.must(t, 202, "3.0", admin, "GET", "/qos-specs/"+id+"/disassociate?vol_type_id="+typeID, nil)
	if got := c.must(t, 200, "3.0", admin, "GET", "/types/"+typeID, nil)["volume_type"].(map[string]any); got["qos_specs_id"] != nil {
		t.Fatalf("type after disassociate: %v", got)
	}
	c.must(t, 202, "3.0", admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typeID, nil)
	c.must(t, 202, "3.0", admin, "GET", "/qos-specs/"+id+"/disassociate_all", nil)
	if as := c.must(t, 200, "3.0", admin, "GET", "/qos-specs/"+id+"/associations", nil)["qos_associations"].([]any); len(as) != 0 {
		t.Fatalf("after disassociate_all: %v", as)
	}
	c.must(t, 202, "3.0", admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typeID, nil)
	c.must(t, 202, "3.0", admin, "DELETE", "/qos-specs/"+id+"?force=true", nil)
	wantError(t, c.call(t, "3.0", admin, "GET", "/qos-specs/"+id, nil), 404, "itemNotFound", "No such QoS spec "+id+".")
	if got := c.must(t, 200, "3.0", admin, "GET", "/types/"+typeID, nil)["volume_type"].(map[string]any); got["qos_specs_id"] != nil {
		t.Fatalf("type after a forced delete: %v", got)
	}
	c.must(t, 202, "3.0", admin, "DELETE", "/qos-specs/"+q2["id"].(string), nil)
}

// Bad input is refused with Cinder's status and message, and changes
// nothing.
func TestQoSSpecsRefusals(t *testing.T) {
	c := newAPI(t)
	q := c.newQoS(t, map[string]any{"name": "q1", "k": "v"})
	id := q["id"].(string)
	typeID := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "gold"}})["volume_type"].(map[string]any)["id"].(string)
	const missing = "00000000-0000-0000-0000-000000000000"
	for _, x := range []struct {
		method, path string
		body         any
		status       int
		key, msg     string
	}{
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{"name": "q1"}}, 409, "conflictingRequest", "QoS Specs q1 already exists."},
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{}}, 400, "badRequest", "'name' is a required property"},
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{"name": "  "}}, 400, "badRequest", "The 'name' can not be empty."},
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{"name": "q2", "iops": 100}}, 400, "badRequest",
			`Invalid input received: Value for key "iops" is not a string or unicode`},
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{"name": "q2", "consumer": "frontend"}}, 400, "badRequest",
			"Invalid qos specs: Valid consumer of QoS specs are: QoSConsumerValues("},
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{"name": "q2", "": "x"}}, 400, "badRequest",
			`Invalid input received: Key "" has 0 characters, less than 1.`},
		{"POST", "/qos-specs", map[string]any{"qos_specs": map[string]any{"name": "q2"}, "x": 1}, 400, "badRequest", "Additional properties are not allowed"},
		{"PUT", "/qos-specs/" + id, map[string]any{"qos_specs": map[string]any{"bad key!": "x"}}, 400, "badRequest", "does not match any of the regexes"},
		{"PUT", "/qos-specs/" + id, map[string]any{"qos_specs": map[string]any{"k": 1}}, 400, "badRequest", "is not of type 'string', 'null'"},
		{"PUT", "/qos-specs/" + id, map[string]any{"qos_specs": map[string]any{"consumer": "x"}}, 400, "badRequest", "Invalid qos specs: Valid consumer"},
		{"PUT", "/qos-specs/" + missing, map[string]any{"qos_specs": map[string]any{"k": "x"}}, 404, "itemNotFound", "No such QoS spec " + missing + "."},
		{"PUT", "/qos-specs/" + id + "/delete_keys", map[string]any{"keys": []string{"k", "nope"}}, 404, "itemNotFound",
			"QoS spec " + id + " has no spec with key nope."},
		{"PUT", "/qos-specs/" + id + "/delete_keys", map[string]any{"keys": []string{"k", "k"}}, 400, "badRequest", "has non-unique elements"},
		{"PUT", "/qos-specs/" + id + "/delete_keys", map[string]any{"keys": "k"}, 400, "badRequest", "is not of type 'array'"},
		{"GET", "/qos-specs/" + missing, nil, 404, "itemNotFound", "No such QoS spec " + missing + "."},
		{"GET", "/qos-specs/" + missing + "/associations", nil, 404, "itemNotFound", "No such QoS spec " + missing + "."},
		{"GET", "/qos-specs/" + id + "/associate", nil, 400, "badRequest", "Volume Type id must not be None."},
		{"GET", "/qos-specs/" + id + "/associate?vol_type_id=" + missing, nil, 404, "itemNotFound", "Volume type " + missing + " could not be found."},
		{"GET", "/qos-specs/" + missing + "/associate?vol_type_id=" + typeID, nil, 404, "itemNotFound", "No such QoS spec " + missing + "."},
		{"GET", "/qos-specs/" + id + "/disassociate?vol_type_id=", nil, 400, "badRequest", "Volume Type id must not be None."},
		{"GET", "/qos-specs/" + missing + "/disassociate_all", nil, 404, "itemNotFound", "No such QoS spec " + missing + "."},
		{"DELETE", "/qos-specs/" + missing, nil, 404, "itemNotFound", "No such QoS spec " + missing + "."},
		{"GET", "/qos-specs?sort=name", nil, 400, "badRequest", "Invalid input received: Invalid sort key"},
		{"GET", "/qos-specs?limit=x", nil, 400, "badRequest", "limit param must be an integer"},
		{"GET", "/qos-specs?marker=" + missing, nil, 404, "itemNotFound", "No such QoS spec " + missing + "."},
	} {
		t.Run(x.method+" "+x.path, func(t *testing.T) {
			c.qosUnchanged(t, func() { wantError(t, c.call(t, "3.0", admin, x.method, x.path, x.body), x.status, x.key, x.msg) })
		})
	}
}

// QoS specs are admins' only (Cinder's rule:admin_api): members and
// readers are refused with Cinder's 403 before anything is read, and
// members do not see a type's qos_specs_id.
func TestQoSSpecsPolicy(t *testing.T) {
	c := newAPI(t)
	id := c.newQoS(t, map[string]any{"name": "q1", "k": "v"})["id"].(string)
	typeID := c.must(t, 200, "3.0", admin, "POST", "/types", map[string]any{"volume_type": map[string]any{"name": "gold"}})["volume_type"].(map[string]any)["id"].(string)
	c.must(t, 202, "3.0", admin, "GET", "/qos-specs/"+id+"/associate?vol_type_id="+typeID, nil)
	for _, x := range []struct {
		method, path, rule string
		body               any
	}{
		{"GET", "/qos-specs", "get_all", nil},
		{"POST", "/qos-specs", "create", map[string]any{"qos_specs": map[string]any{"name": "q2"}}},
		{"GET", "/qos-specs/" + id, "get", nil},
		{"PUT", "/qos-specs/" + id, "update", map[string]any{"qos_specs": map[string]any{"k": "w"}}},
		{"DELETE", "/qos-specs/" + id + "?force=true", "delete", nil},
		{"PUT", "/qos-specs/" + id + "/delete_keys", "delete", map[string]any{"keys": []string{"k"}}},
		{"GET", "/qos-specs/" + id + "/associations", "get_all", nil},
		{"GET", "/qos-specs/" + id + "/associate?vol_type_id=" + typeID, "update", nil},
		{"GET", "/qos-specs/" + id + "/disassociate?vol_type_id=" + typeID, "update", nil},
		{"GET", "/qos-specs/" + id + "/disassociate_all", "update", nil},
	} {
		for _, token := range []string{alice, reader, bob} {
			c.qosUnchanged(t, func() {
				wantError(t, c.call(t, "3.0", token, x.method, x.path, x.body), 403, "forbidden",
					"Policy doesn't allow volume_extension:qos_specs_manage:"+x.rule+" to be performed.")
			})
		}
	}
	if got := c.must(t, 200, "3.0", alice, "GET", "/types/"+typeID, nil)["volume_type"].(map[string]any); got["qos_specs_id"] != nil {
		t.Fatalf("a member sees qos_specs_id: %v", got)
	}
}

// oscFails runs the openstack CLI as osc does and returns its standard
// error, failing the test if the command succeeds.
func (c *client) oscFails(t *testing.T, token string, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	project := map[string]string{alice: projA, bob: projB, admin: projAdmin}[token]
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OS_AUTH_TYPE=admin_token", "OS_TOKEN="+token, "OS_ENDPOINT="+c.URL+"/v3/"+project,
		"OS_VOLUME_API_VERSION=3.60", "OS_CLOUD=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("openstack %s succeeded: %s", strings.Join(args, " "), out)
	}
	return string(out)
}

// python3-openstackclient's volume qos commands against the API:
// create, set, unset, show, list, associate, disassociate, delete
// (refused while associated, then with --force); a member is refused.
func TestOpenStackClientQoS(t *testing.T) {
	c := newAPI(t)
	var created map[string]any
	c.osc(t, admin, &created, "volume", "qos", "create", "--consumer", "front-end", "--property", "total_iops_sec=100", "q1")
	id, _ := created["id"].(string)
	if created["name"] != "q1" || created["consumer"] != "front-end" || !strings.Contains(jsonText(t, created["properties"]), "total_iops_sec") {
		t.Fatalf("created %v", created)
	}
	c.osc(t, admin, nil, "volume", "qos", "set", "--property", "read_iops_sec=50", "--property", "total_iops_sec=200", "q1")
	c.osc(t, admin, nil, "volume", "qos", "unset", "--property", "read_iops_sec", "q1")
	if q, _ := c.store.QoSSpecs(context.Background(), id); len(q.Specs) != 1 || *q.Specs["total_iops_sec"] != "200" {
		t.Fatalf("after set and unset: %+v", q)
	}
	var vt map[string]any
	c.osc(t, admin, &vt, "volume", "type", "create", "gold")
	c.osc(t, admin, nil, "volume", "qos", "associate", "q1", "gold")
	var shown map[string]any
	c.osc(t, admin, &shown, "volume", "qos", "show", "q1")
	if shown["id"] != id || !strings.Contains(jsonText(t, shown["associations"]), "gold") {
		t.Fatalf("shown %v", shown)
	}
	var list []map[string]any
	c.osc(t, admin, &list, "volume", "qos", "list")
	if len(list) != 1 || list[0]["ID"] != id || !strings.Contains(jsonText(t, list[0]["Associations"]), "gold") {
		t.Fatalf("list %v", list)
	}
	if out := c.oscFails(t, admin, "volume", "qos", "delete", "q1"); !strings.Contains(out, "Failed to delete") {
		t.Fatalf("delete while associated: %s", out)
	}
	c.osc(t, admin, nil, "volume", "qos", "disassociate", "--volume-type", "gold", "q1")
	if as, _ := c.store.QoSAssociations(context.Background(), id); len(as) != 0 {
		t.Fatalf("after disassociate: %v", as)
	}
	c.osc(t, admin, nil, "volume", "qos", "associate", "q1", "gold")
	if out := c.oscFails(t, alice, "volume", "qos", "list"); !strings.Contains(out, "403") {
		t.Fatalf("a member's list: %s", out)
	}
	c.osc(t, admin, nil, "volume", "qos", "delete", "--force", "q1")
	if _, err := c.store.QoSSpecs(context.Background(), id); err == nil {
		t.Fatal("the forced delete left the specs")
	}
	if got, _ := c.store.VolumeType(context.Background(), storage.Viewer{Admin: true}, vt["id"].(string)); got.QoSSpecsID != "" {
		t.Fatalf("the type after a forced delete: %+v", got)
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
