package nova_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

func aggBody(fields map[string]any) map[string]any { return map[string]any{"aggregate": fields} }

// computeHosts reports a nova-compute service on each host.
func (c *client) computeHosts(t *testing.T, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		if _, err := c.store.ReportService(context.Background(), compute.NovaCompute, h, 66); err != nil {
			t.Fatal(err)
		}
	}
}

var novaTimeFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

// Aggregates through every route: Nova's status codes and fields (uuid
// from 2.41, create without hosts and metadata, naive times).
func TestAggregates(t *testing.T) {
	c := newAPI(t)
	c.computeHosts(t, "h1", "h2")
	// 2.1: no uuid; create shows no hosts or metadata.
	ag := c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg1", "availability_zone": "az1"}))["aggregate"].(map[string]any)
	if ag["id"] != float64(1) || ag["name"] != "agg1" || ag["availability_zone"] != "az1" || ag["deleted"] != false ||
		ag["deleted_at"] != nil || ag["updated_at"] != nil || !novaTimeFormat.MatchString(ag["created_at"].(string)) {
		t.Fatalf("created: %v", ag)
	}
	for _, f := range []string{"uuid", "hosts", "metadata"} {
		if _, ok := ag[f]; ok {
			t.Fatalf("create at 2.1 shows %s: %v", f, ag)
		}
	}
	// 2.41: uuid; a null zone is none.
	ag = c.must(t, 200, "2.41", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "plain", "availability_zone": nil}))["aggregate"].(map[string]any)
	if ag["uuid"] == nil || ag["availability_zone"] != nil {
		t.Fatalf("created at 2.41: %v", ag)
	}
	show := c.must(t, 200, "2.41", admin, "GET", "/os-aggregates/1", nil)["aggregate"].(map[string]any)
	if show["uuid"] == nil || fmt.Sprint(show["hosts"]) != "[]" || fmt.Sprint(show["metadata"]) != "map[availability_zone:az1]" {
		t.Fatalf("show: %v", show)
	}
	list := c.must(t, 200, "2.1", admin, "GET", "/os-aggregates", nil)["aggregates"].([]any)
	if len(list) != 2 || list[1].(map[string]any)["name"] != "plain" || list[0].(map[string]any)["metadata"] == nil {
		t.Fatalf("list: %v", list)
	}

	// Update: the name's spaces are stripped; a new zone.
	ag = c.must(t, 200, "2.1", admin, "PUT", "/os-aggregates/2", aggBody(map[string]any{"name": "  second  "}))["aggregate"].(map[string]any)
	if ag["name"] != "second" || !novaTimeFormat.MatchString(ag["updated_at"].(string)) || ag["hosts"] == nil {
		t.Fatalf("renamed: %v", ag)
	}
	ag = c.must(t, 200, "2.1", admin, "PUT", "/os-aggregates/2", aggBody(map[string]any{"availability_zone": "az2"}))["aggregate"].(map[string]any)
	if ag["availability_zone"] != "az2" {
		t.Fatalf("new zone: %v", ag)
	}

	// Actions.
	action := func(id, name string, args map[string]any) map[string]any {
		return c.must(t, 200, "2.1", admin, "POST", "/os-aggregates/"+id+"/action", map[string]any{name: args})["aggregate"].(map[string]any)
	}
	if ag = action("1", "add_host", map[string]any{"host": "h1"}); fmt.Sprint(ag["hosts"]) != "[h1]" {
		t.Fatalf("add_host: %v", ag)
	}
	ag = action("1", "set_metadata", map[string]any{"metadata": map[string]any{"ssd": "true", "gpu": "1"}})
	ag = action("1", "set_metadata", map[string]any{"metadata": map[string]any{"gpu": nil}})
	if fmt.Sprint(ag["metadata"]) != "map[availability_zone:az1 ssd:true]" {
		t.Fatalf("set_metadata: %v", ag)
	}
	if ag = action("1", "remove_host", map[string]any{"host": "h1"}); fmt.Sprint(ag["hosts"]) != "[]" {
		t.Fatalf("remove_host: %v", ag)
	}

	// Delete: 200 without a body.
	if r := c.call(t, "2.1", admin, "DELETE", "/os-aggregates/2", nil); r.Code != 200 || len(r.Body) != 0 {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, c.call(t, "2.1", admin, "GET", "/os-aggregates/2", nil), 404, "itemNotFound", "Aggregate 2 could not be found.")
	// The images action (2.81) is not there.
	wantError(t, c.call(t, "2.81", admin, "POST", "/os-aggregates/1/images", map[string]any{"cache": []any{}}), 404, "itemNotFound")
}

// Only admins, with Nova's rule names; the body is checked first, as
// Nova's schema validation runs before the policy check.
func TestAggregatePolicy(t *testing.T) {
	c := newAPI(t)
	c.computeHosts(t, "h1")
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg1"}))
	for _, tc := range []struct {
		method, path string
		body         any
		rule         string
	}{
		{"GET", "/os-aggregates", nil, "index"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": "x"}), "create"},
		{"GET", "/os-aggregates/1", nil, "show"},
		{"PUT", "/os-aggregates/1", aggBody(map[string]any{"name": "x"}), "update"},
		{"DELETE", "/os-aggregates/1", nil, "delete"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "h1"}}, "add_host"},
		{"POST", "/os-aggregates/1/action", map[string]any{"remove_host": map[string]any{"host": "h1"}}, "remove_host"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{}}}, "set_metadata"},
		{"GET", "/os-aggregates/x", nil, "show"}, // the policy before the id
	} {
		for _, token := range []string{alice, reader} {
			wantError(t, c.call(t, "2.1", token, tc.method, tc.path, tc.body), 403, "forbidden",
				"Policy doesn't allow os_compute_api:os-aggregates:"+tc.rule+" to be performed.")
		}
	}
	wantError(t, c.call(t, "2.1", alice, "POST", "/os-aggregates", aggBody(map[string]any{"name": " x"})), 400, "badRequest",
		"An invalid 'name' value was provided.")
	wantError(t, c.call(t, "2.1", "", "GET", "/os-aggregates", nil), 401, "unauthorized")
	if r := c.must(t, 200, "2.1", admin, "GET", "/os-aggregates/1", nil)["aggregate"].(map[string]any); r["name"] != "agg1" || len(r["hosts"].([]any)) != 0 {
		t.Fatalf("after the refusals: %v", r)
	}
}

// Bad input is refused with Nova's messages (checked against Nova's own
// validator) and changes nothing.
func TestAggregateRefusals(t *testing.T) {
	c := newAPI(t)
	c.computeHosts(t, "h1", "h2")
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg1", "availability_zone": "az1"}))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg2", "availability_zone": "az2"}))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg3", "availability_zone": "az1"}))
	for _, id := range []string{"1", "3"} {
		c.must(t, 200, "2.1", admin, "POST", "/os-aggregates/"+id+"/action", map[string]any{"add_host": map[string]any{"host": "h1"}})
	}
	before := c.call(t, "2.41", admin, "GET", "/os-aggregates", nil).Body
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		key, msg     string
	}{
		// create
		{"POST", "/os-aggregates", map[string]any{}, 400, "badRequest", "'aggregate' is a required property"},
		{"POST", "/os-aggregates", aggBody(map[string]any{}), 400, "badRequest",
			"Invalid input for field/attribute aggregate. Value: {}. 'name' is a required property"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": ""}), 400, "badRequest", "Invalid input for field/attribute name. Value: . '' is too short"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": long}), 400, "badRequest", "is too long"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": 1}), 400, "badRequest", "Invalid input for field/attribute name. Value: 1. 1 is not of type 'string'"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": " x"}), 400, "badRequest",
			"An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": "x", "availability_zone": "a:b"}), 400, "badRequest",
			"Invalid input for field/attribute availability_zone. Value: a:b. 'a:b' is not valid under any of the given schemas"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": "x", "availability_zone": ""}), 400, "badRequest",
			"Invalid input for field/attribute availability_zone. Value: . '' is not valid under any of the given schemas"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": "x", "availability_zone": 1}), 400, "badRequest",
			"Invalid input for field/attribute availability_zone. Value: 1. 1 is not valid under any of the given schemas"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": "x", "foo": 1}), 400, "badRequest",
			"Invalid input for field/attribute aggregate. Value: {'foo': 1, 'name': 'x'}. Additional properties are not allowed ('foo' was unexpected)"},
		{"POST", "/os-aggregates", map[string]any{"aggregate": []any{}}, 400, "badRequest",
			"Invalid input for field/attribute aggregate. Value: []. [] is not of type 'object'"},
		{"POST", "/os-aggregates", aggBody(map[string]any{"name": "agg1"}), 409, "conflictingRequest", "Aggregate agg1 already exists."},
		// update
		{"PUT", "/os-aggregates/2", aggBody(map[string]any{}), 400, "badRequest",
			"Invalid input for field/attribute aggregate. Value: {}. {} is not valid under any of the given schemas"},
		{"PUT", "/os-aggregates/2", aggBody(map[string]any{"name": "   "}), 400, "badRequest",
			"An invalid 'name' value was provided. The name must be: printable characters with at least one non space character"},
		{"PUT", "/os-aggregates/2", aggBody(map[string]any{"availability_zone": nil}), 400, "badRequest",
			"Cannot update aggregate 2. Reason: Aggregate agg2 does not support empty named availability zone."},
		{"PUT", "/os-aggregates/2", aggBody(map[string]any{"name": "agg1"}), 409, "conflictingRequest", "Aggregate agg1 already exists."},
		{"PUT", "/os-aggregates/x", aggBody(map[string]any{"name": "y"}), 400, "badRequest", "Invalid input received: id must be an integer"},
		{"PUT", "/os-aggregates/9", aggBody(map[string]any{"name": "y"}), 404, "itemNotFound", "Aggregate 9 could not be found."},
		// show, delete
		{"GET", "/os-aggregates/x", nil, 400, "badRequest", "Invalid input received: id must be an integer"},
		{"DELETE", "/os-aggregates/1", nil, 400, "badRequest", "Cannot remove host from aggregate 1. Reason: Host aggregate is not empty."},
		{"DELETE", "/os-aggregates/9", nil, 404, "itemNotFound", "Aggregate 9 could not be found."},
		// actions
		{"POST", "/os-aggregates/1/action", map[string]any{"nope": map[string]any{}}, 400, "badRequest", "There is no such action: nope"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "h2"}, "x": 1}, 400, "badRequest", "Malformed request body"},
		{"POST", "/os-aggregates/1/action", []any{"add_host"}, 404, "itemNotFound", "The resource could not be found."},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{}}, 400, "badRequest",
			"Invalid input for field/attribute add_host. Value: {}. 'host' is a required property"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "a/b"}}, 400, "badRequest",
			"Invalid input for field/attribute host. Value: a/b. 'a/b' does not match '^[a-zA-Z0-9-._]*$'"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": ""}}, 400, "badRequest",
			"Invalid input for field/attribute host. Value: . '' is too short"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "h2", "x": 1}}, 400, "badRequest",
			"Invalid input for field/attribute add_host. Value: {'host': 'h2', 'x': 1}. Additional properties are not allowed ('x' was unexpected)"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": "h2"}, 400, "badRequest",
			"'h2' is not of type 'object'"},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "h9"}}, 404, "itemNotFound", "Compute host h9 could not be found."},
		{"POST", "/os-aggregates/1/action", map[string]any{"add_host": map[string]any{"host": "h1"}}, 409, "conflictingRequest", "Aggregate 1 already has host h1."},
		{"POST", "/os-aggregates/2/action", map[string]any{"add_host": map[string]any{"host": "h1"}}, 409, "conflictingRequest",
			"Cannot add host to aggregate 2. Reason: One or more hosts already in availability zone(s) ['az1']."},
		{"POST", "/os-aggregates/9/action", map[string]any{"add_host": map[string]any{"host": "h1"}}, 404, "itemNotFound", "Aggregate 9 could not be found."},
		{"POST", "/os-aggregates/x/action", map[string]any{"add_host": map[string]any{"host": "h1"}}, 400, "badRequest", "Invalid input received: id must be an integer"},
		{"POST", "/os-aggregates/2/action", map[string]any{"remove_host": map[string]any{"host": "h1"}}, 404, "itemNotFound", "Cannot remove host h1 in aggregate 2"},
		{"POST", "/os-aggregates/9/action", map[string]any{"remove_host": map[string]any{"host": "h1"}}, 404, "itemNotFound", "Cannot remove host h1 in aggregate 9"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{}}, 400, "badRequest",
			"Invalid input for field/attribute set_metadata. Value: {}. 'metadata' is a required property"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": []any{}}}, 400, "badRequest",
			"Invalid input for field/attribute metadata. Value: []. [] is not of type 'object'"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"k": 1}}}, 400, "badRequest",
			"Invalid input for field/attribute k. Value: 1. 1 is not of type 'string', 'null'"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"k": true}}}, 400, "badRequest",
			"Invalid input for field/attribute k. Value: True. True is not of type 'string', 'null'"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"a/b": "1"}}}, 400, "badRequest",
			"Invalid input for field/attribute metadata. Value: {'a/b': '1'}. 'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"k": long}}}, 400, "badRequest",
			"Invalid input for field/attribute k. Value: " + long + ". '" + long + "' is too long"},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"availability_zone": nil}}}, 400, "badRequest",
			"Cannot update metadata of aggregate 1. Reason: Aggregate agg1 does not support empty named availability zone."},
		{"POST", "/os-aggregates/1/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"availability_zone": "az2"}}}, 400, "badRequest",
			"Cannot update metadata of aggregate 1. Reason: One or more hosts already in availability zone(s) ['az1']."},
	} {
		t.Run(tc.method+" "+tc.path+" "+fmt.Sprint(tc.body), func(t *testing.T) {
			wantError(t, c.call(t, "2.41", admin, tc.method, tc.path, tc.body), tc.status, tc.key, tc.msg)
		})
	}
	r := c.Call(t, apitest.Call{Method: "POST", Path: "/v2.1/os-aggregates/1/action", Token: admin, Body: "{not json"})
	wantError(t, r, 400, "badRequest", "Malformed request body")
	if after := c.call(t, "2.41", admin, "GET", "/os-aggregates", nil).Body; string(after) != string(before) {
		t.Fatalf("the refusals changed the aggregates:\n%s", apitest.LineDiff(string(before), string(after)))
	}
}

// An aggregate's zone does not change while its hosts have instances
// (Nova's check_no_instances_in_az); the same zone, or another change,
// is fine.
func TestAggregateZoneWithInstances(t *testing.T) {
	c := newAPI(t)
	c.computeHosts(t, "h1")
	c.instanceOn(t, "vm", "h1", c.node(t, "h1"))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "agg1", "availability_zone": "az1"}))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "plain"}))
	for _, id := range []string{"1", "2"} {
		c.must(t, 200, "2.1", admin, "POST", "/os-aggregates/"+id+"/action", map[string]any{"add_host": map[string]any{"host": "h1"}})
	}
	before := c.call(t, "2.41", admin, "GET", "/os-aggregates", nil).Body
	wantError(t, c.call(t, "2.1", admin, "PUT", "/os-aggregates/1", aggBody(map[string]any{"availability_zone": "az2"})), 400, "badRequest",
		"Cannot update aggregate 1. Reason: One or more hosts contain instances in this zone.")
	wantError(t, c.call(t, "2.1", admin, "POST", "/os-aggregates/1/action",
		map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"availability_zone": "az2"}}}), 400, "badRequest",
		"Cannot update metadata of aggregate 1. Reason: One or more hosts contain instances in this zone.")
	wantError(t, c.call(t, "2.1", admin, "PUT", "/os-aggregates/2", aggBody(map[string]any{"availability_zone": "az1"})), 400, "badRequest",
		"Cannot update aggregate 2. Reason: One or more hosts contain instances in this zone.")
	if after := c.call(t, "2.41", admin, "GET", "/os-aggregates", nil).Body; string(after) != string(before) {
		t.Fatalf("the refusals changed the aggregates:\n%s", apitest.LineDiff(string(before), string(after)))
	}
	c.must(t, 200, "2.1", admin, "PUT", "/os-aggregates/1", aggBody(map[string]any{"name": "renamed", "availability_zone": "az1"}))
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates/2/action", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"ssd": "1"}}})
}

// adminSchemas validates [schema, JSON text] pairs with Nova's own
// validator: "" when Nova takes the body, else its message. A query
// schema's text is the parameters as lists.
const adminSchemas = `
import json, sys
from nova.api.validation import validators
from nova.api.openstack.compute.schemas import aggregates as ag, services as sv, hypervisors as hv
from nova import exception
schemas = {"create": ag.create, "update": ag.update, "add_host": ag.add_host, "remove_host": ag.remove_host,
           "set_metadata": ag.set_metadata, "svc": sv.service_update, "svc211": sv.service_update_v211,
           "svc253": sv.service_update_v2_53, "query_svc275": sv.index_query_schema_275,
           "query_hv253": hv.list_query_schema_v253, "query_hvshow253": hv.show_query_schema_v253}
out = []
for name, text in json.load(sys.stdin):
    try:
        validators._SchemaValidator(schemas[name], is_body=not name.startswith("query")).validate(json.loads(text))
        out.append("")
    except exception.ValidationError as e:
        out.append(e.format_message())
print(json.dumps(out))
`

// Nova's validator and ours refuse the same aggregate and service
// bodies, and the same service and hypervisor queries, with the same
// message. The bodies keep their keys sorted, and no top-level key
// holds a non-object: body.go's refusals differ from Nova's there (see
// the report of this change).
func TestAdminSchemaDifferential(t *testing.T) {
	testenv.RequirePython(t, "nova.api.validation.validators", "python3-nova")
	script := filepath.Join(t.TempDir(), "schemas.py")
	if err := os.WriteFile(script, []byte(adminSchemas), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newAPI(t)
	c.computeHosts(t, "h1")
	c.must(t, 200, "2.1", admin, "POST", "/os-aggregates", aggBody(map[string]any{"name": "base"}))
	svcs, _ := c.store.Services(context.Background(), "", "")
	type call struct{ schema, version, method, path, body string }
	var calls []call
	values := []string{`"x"`, `""`, `" x"`, `"x "`, `"a\u00a0"`, `"\u00a0"`, `"\u00e9t\u00e9"`, `1`, `1.5`, `null`, `true`, `false`,
		`[]`, `{}`, `"` + strings.Repeat("x", 256) + `"`, `"a:b"`, `"\tx"`, `"x\n"`, `"\n"`, `"  y  "`, `"   "`, `"a\ud83d\ude00"`,
		`"a\u0001"`, `"h/1"`, `"h_1.b-c"`, `"True"`, `"yes"`, `"maybe"`, `"enabled"`, `"disabled"`, `[1, {"k": null}]`}
	for _, v := range values {
		calls = append(calls,
			call{"create", "2.1", "POST", "/os-aggregates", `{"aggregate": {"name": ` + v + `}}`},
			call{"create", "2.1", "POST", "/os-aggregates", `{"aggregate": {"availability_zone": ` + v + `, "name": "ok"}}`},
			call{"create", "2.1", "POST", "/os-aggregates", `{"aggregate": {"extra": ` + v + `, "name": "ok"}}`},
			call{"update", "2.1", "PUT", "/os-aggregates/1", `{"aggregate": {"name": ` + v + `}}`},
			call{"update", "2.1", "PUT", "/os-aggregates/1", `{"aggregate": {"availability_zone": ` + v + `}}`},
			call{"set_metadata", "2.1", "POST", "/os-aggregates/1/action", `{"set_metadata": {"metadata": ` + v + `}}`},
			call{"set_metadata", "2.1", "POST", "/os-aggregates/1/action", `{"set_metadata": {"metadata": {"k": ` + v + `}}}`},
			call{"set_metadata", "2.1", "POST", "/os-aggregates/1/action", `{"set_metadata": {"metadata": {"a/b": ` + v + `, "k": ` + v + `}}}`},
			call{"svc253", "2.53", "PUT", "/os-services/" + svcs[0].UUID, `{"status": ` + v + `}`},
			call{"svc253", "2.53", "PUT", "/os-services/" + svcs[0].UUID, `{"disabled_reason": ` + v + `, "status": "disabled"}`},
			call{"svc253", "2.53", "PUT", "/os-services/" + svcs[0].UUID, `{"forced_down": ` + v + `}`},
			call{"svc", "2.1", "PUT", "/os-services/disable", `{"binary": ` + v + `, "host": "h1"}`},
			call{"svc211", "2.11", "PUT", "/os-services/disable-log-reason", `{"binary": "nova-compute", "disabled_reason": ` + v + `, "host": "h1"}`},
			call{"svc211", "2.11", "PUT", "/os-services/force-down", `{"binary": "nova-compute", "forced_down": ` + v + `, "host": "h1"}`},
			call{"svc", "2.1", "PUT", "/os-services/disable", `{"binary": "nova-compute", "forced_down": ` + v + `, "host": "h1"}`})
		if !strings.HasSuffix(v, `\n"`) { // Python's $ lets "x\n" through fqdn; we refuse it (a 400 for Nova's 404)
			calls = append(calls,
				call{"add_host", "2.1", "POST", "/os-aggregates/1/action", `{"add_host": {"host": ` + v + `}}`},
				call{"remove_host", "2.1", "POST", "/os-aggregates/1/action", `{"remove_host": {"host": ` + v + `}}`},
				call{"svc211", "2.11", "PUT", "/os-services/enable", `{"binary": "nova-compute", "host": ` + v + `}`})
		}
		if strings.HasPrefix(v, `"`) {
			calls = append(calls, call{"set_metadata", "2.1", "POST", "/os-aggregates/1/action", `{"set_metadata": {"metadata": {` + v + `: "v"}}}`})
		}
	}
	for _, body := range []string{`{}`, `{"aggregate": {}}`, `{"aggregate": {"foo": 1}}`, `{"aggregate": {"foo": 1, "name": " x"}}`} {
		calls = append(calls, call{"create", "2.1", "POST", "/os-aggregates", body}, call{"update", "2.1", "PUT", "/os-aggregates/1", body})
	}
	for _, body := range []string{`{"add_host": {}}`, `{"add_host": {"host": "h1", "x": 1}}`, `{"add_host": {"x": 1}}`} {
		calls = append(calls, call{"add_host", "2.1", "POST", "/os-aggregates/1/action", body})
	}
	for _, body := range []string{`{"set_metadata": {}}`, `{"set_metadata": {"metadata": {}, "x": 1}}`,
		`{"set_metadata": {"metadata": {"a/b": "1", "c d": null, "e/f": null}}}`, `{"set_metadata": {"metadata": {"": "1"}}}`} {
		calls = append(calls, call{"set_metadata", "2.1", "POST", "/os-aggregates/1/action", body})
	}
	for _, body := range []string{`{}`, `{"host": "h1"}`, `{"binary": "b"}`, `{"binary": "b", "host": "h1", "x": 1}`, `{"x": 1}`, `{"disabled_reason": "r", "host": "h/1"}`} {
		calls = append(calls, call{"svc211", "2.11", "PUT", "/os-services/disable", body}, call{"svc253", "2.53", "PUT", "/os-services/" + svcs[0].UUID, body})
	}
	for _, q := range []string{"host=h1", "host=h1&host=x", "binary=b", "foo=1", "foo=1&bar=2&host=h1"} {
		values, _ := url.ParseQuery(q)
		text, _ := json.Marshal(values)
		calls = append(calls, call{"query_svc275", "2.75", "GET", "/os-services?" + q, string(text)})
	}
	for _, q := range []string{"limit=a", "limit=", "limit=-1", "limit=01", "limit=1&limit=2", "limit=x&limit=2", "marker=a&marker=b",
		"hypervisor_hostname_pattern=", "hypervisor_hostname_pattern=a/b", "hypervisor_hostname_pattern=a&hypervisor_hostname_pattern=b",
		"hypervisor_hostname_pattern=" + strings.Repeat("h", 256), "with_servers=maybe", "with_servers=", "with_servers=1&with_servers=0",
		"foo=1", "foo=1&limit=x", "bar=1&foo=1"} {
		values, _ := url.ParseQuery(q)
		text, _ := json.Marshal(values)
		calls = append(calls, call{"query_hv253", "2.53", "GET", "/os-hypervisors?" + q, string(text)})
		if !strings.Contains(q, "pattern") && !strings.Contains(q, "limit") && !strings.Contains(q, "marker") {
			calls = append(calls, call{"query_hvshow253", "2.53", "GET", "/os-hypervisors/" + uuid.NewString() + "?" + q, string(text)})
		}
	}

	pairs := make([][2]string, len(calls))
	for i, c := range calls {
		pairs[i] = [2]string{c.schema, c.body}
	}
	answers := testenv.PythonJSON(t, script, pairs)
	if len(answers) != len(calls) {
		t.Fatalf("%d answers for %d calls", len(answers), len(calls))
	}
	for i, call := range calls {
		var want string
		if err := json.Unmarshal(answers[i], &want); err != nil {
			t.Fatal(err)
		}
		var body any = call.body
		if call.method == "GET" {
			body = nil
		}
		r := c.call(t, call.version, admin, call.method, call.path, body)
		got := ""
		switch {
		case r.Code == 400:
			got = r.JSON(t)["badRequest"].(map[string]any)["message"].(string)
		case r.Code >= 500:
			t.Fatalf("%s %s %s: %s", call.method, call.path, call.body, r)
		}
		if want == "" { // Nova takes it: a later refusal may follow, but none of the schema's
			if strings.HasPrefix(got, "Invalid input for") || strings.Contains(got, "is a required property") ||
				strings.Contains(got, "Additional properties") || strings.HasPrefix(got, "An invalid 'name'") {
				t.Errorf("%s %s at %s with %s: Nova takes it, we answer %d %q", call.method, call.path, call.version, call.body, r.Code, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s %s at %s with %s:\n got %d %q\nNova %q", call.method, call.path, call.version, call.body, r.Code, got, want)
		}
	}
}
