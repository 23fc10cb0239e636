package nova_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
)

// requestID is the id the API gave a call (X-OpenStack-Request-Id),
// which names the action it started.
func requestID(t *testing.T, r apitest.Reply, want int) string {
	t.Helper()
	if r.Code != want {
		t.Fatalf("got %s, want %d", r, want)
	}
	id := r.Header.Get("X-OpenStack-Request-Id")
	if !strings.HasPrefix(id, "req-") {
		t.Fatalf("no request id: %v", r.Header)
	}
	return id
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

var perfectTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

// A server's actions and their events as each caller sees them at
// each microversion: events for everyone from 2.51 (traceback only for
// admins), hostId from 2.62 and host for admins, details from 2.84 for
// admins; another project's server does not exist.
func TestInstanceActionsAPI(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	r := e.call(t, "2.1", alice, "POST", "/servers", serverBody(nil))
	create := requestID(t, r, 202)
	id := r.JSON(t)["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.Spawning, compute.Active, compute.PowerRunning)
	stop := requestID(t, e.call(t, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"os-stop": nil}), 202)
	i, err := e.store.Instance(ctx, compute.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}

	list := e.must(t, 200, "2.1", alice, "GET", "/servers/"+id+"/os-instance-actions", nil)["instanceActions"].([]any)
	if len(list) != 2 {
		t.Fatalf("list: %v", list)
	}
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	if first["action"] != "stop" || first["request_id"] != stop || first["user_id"] != "alice" || first["project_id"] != "proj-a" ||
		first["instance_uuid"] != id || first["message"] != nil || !perfectTime.MatchString(first["start_time"].(string)) ||
		second["action"] != "create" || second["request_id"] != create {
		t.Fatalf("list: %v", list)
	}
	if k := keys(first); k != "action instance_uuid message project_id request_id start_time user_id" {
		t.Fatalf("2.1 keys: %s", k)
	}
	first = e.must(t, 200, "2.58", alice, "GET", "/servers/"+id+"/os-instance-actions", nil)["instanceActions"].([]any)[0].(map[string]any)
	if !perfectTime.MatchString(first["updated_at"].(string)) {
		t.Fatalf("2.58: %v", first)
	}

	hostID := func(project, host string) string {
		sum := sha256.Sum224([]byte(project + host))
		return hex.EncodeToString(sum[:])
	}
	path := "/servers/" + id + "/os-instance-actions/" + create
	for _, tt := range []struct {
		v, token string
		keys     string // the build event's keys; "" for no events
	}{
		{"2.1", alice, ""},
		{"2.50", alice, ""},
		{"2.51", alice, "event finish_time result start_time"},
		{"2.62", alice, "event finish_time hostId result start_time"},
		{"2.84", alice, "event finish_time hostId result start_time"},
		{"2.1", admin, "event finish_time result start_time traceback"},
		{"2.62", admin, "event finish_time host hostId result start_time traceback"},
		{"2.84", admin, "details event finish_time host hostId result start_time traceback"},
	} {
		a := e.must(t, 200, tt.v, tt.token, "GET", path, nil)["instanceAction"].(map[string]any)
		if a["action"] != "create" || a["request_id"] != create || a["user_id"] != "alice" {
			t.Fatalf("%s %s: %v", tt.v, tt.token, a)
		}
		evs, ok := a["events"].([]any)
		if tt.keys == "" {
			if ok {
				t.Fatalf("%s %s shows events: %v", tt.v, tt.token, a)
			}
			continue
		}
		if len(evs) != 1 {
			t.Fatalf("%s %s: events %v", tt.v, tt.token, evs)
		}
		ev := evs[0].(map[string]any)
		if k := keys(ev); k != tt.keys {
			t.Fatalf("%s %s: event keys %s, want %s", tt.v, tt.token, k, tt.keys)
		}
		if ev["event"] != "compute__do_build_and_run_instance" || ev["result"] != "Success" ||
			!perfectTime.MatchString(ev["finish_time"].(string)) {
			t.Fatalf("%s %s: event %v", tt.v, tt.token, ev)
		}
		if h, ok := ev["hostId"]; ok && h != hostID("proj-a", i.Host) {
			t.Fatalf("hostId %v", h)
		}
		if h, ok := ev["host"]; ok && h != i.Host {
			t.Fatalf("host %v", h)
		}
		if d, ok := ev["details"]; ok && d != nil {
			t.Fatalf("a success's details: %v", d)
		}
	}
	// The stop's event is running until the host reports.
	ev := e.must(t, 200, "2.84", admin, "GET", "/servers/"+id+"/os-instance-actions/"+stop, nil)["instanceAction"].(map[string]any)["events"].([]any)[0].(map[string]any)
	if ev["event"] != "compute_stop_instance" || ev["result"] != nil || ev["finish_time"] != nil || ev["host"] != i.Host {
		t.Fatalf("stop running: %v", ev)
	}
	e.report(t, id, compute.PoweringOff, compute.Stopped, compute.PowerShutdown)
	ev = e.must(t, 200, "2.84", admin, "GET", "/servers/"+id+"/os-instance-actions/"+stop, nil)["instanceAction"].(map[string]any)["events"].([]any)[0].(map[string]any)
	if ev["result"] != "Success" || ev["finish_time"] == nil {
		t.Fatalf("stop done: %v", ev)
	}

	// Another project's server, an action that is not there.
	for _, p := range []string{"/servers/" + id + "/os-instance-actions", path} {
		wantError(t, e.call(t, "2.1", bob, "GET", p, nil), 404, "itemNotFound", "Instance "+id+" could not be found.")
	}
	wantError(t, e.call(t, "2.1", alice, "GET", "/servers/"+id+"/os-instance-actions/req-nope", nil), 404, "itemNotFound", "Action req-nope not found")
}

// A server that found no host: its create action has the builder's
// failed event, with details and traceback for the admin only.
func TestInstanceActionsNoValidHost(t *testing.T) {
	e := newServerAPI(t)
	r := e.call(t, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"flavorRef": "9"}))
	create := requestID(t, r, 202)
	id := r.JSON(t)["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := "/servers/" + id + "/os-instance-actions/" + create
	a := e.must(t, 200, "2.84", admin, "GET", path, nil)["instanceAction"].(map[string]any)
	ev := a["events"].([]any)[0].(map[string]any)
	host, _ := os.Hostname()
	if a["message"] != "Error" || ev["event"] != "conductor_schedule_and_build_instances" || ev["result"] != "Error" ||
		!strings.HasPrefix(ev["details"].(string), "No valid host was found.") || !strings.Contains(ev["traceback"].(string), "VCPU") ||
		ev["host"] != host {
		t.Fatalf("admin: %v", a)
	}
	ev = e.must(t, 200, "2.84", alice, "GET", path, nil)["instanceAction"].(map[string]any)["events"].([]any)[0].(map[string]any)
	if k := keys(ev); k != "event finish_time hostId result start_time" || ev["result"] != "Error" {
		t.Fatalf("alice: %v", ev)
	}
}

// The list's query from 2.58: pages by request id with a next link,
// limit 0, changes-since and changes-before (2.66), Nova's refusals; a
// deleted server's actions from 2.21.
func TestInstanceActionsPages(t *testing.T) {
	e := newServerAPI(t)
	r := e.call(t, "2.1", alice, "POST", "/servers", serverBody(map[string]any{"flavorRef": "9"}))
	reqs := []string{requestID(t, r, 202)}
	id := r.JSON(t)["server"].(map[string]any)["id"].(string)
	for _, state := range []string{"active", "error", "active"} {
		reqs = append(reqs, requestID(t, e.call(t, "2.1", admin, "POST", "/servers/"+id+"/action",
			map[string]any{"os-resetState": map[string]any{"state": state}}), 202))
	}
	slices.Reverse(reqs) // newest first
	base := "/servers/" + id + "/os-instance-actions"
	page := func(v, query string) ([]string, string) {
		t.Helper()
		body := e.must(t, 200, v, alice, "GET", base+query, nil)
		var ids []string
		for _, a := range body["instanceActions"].([]any) {
			ids = append(ids, a.(map[string]any)["request_id"].(string))
		}
		next := ""
		if l, ok := body["links"].([]any); ok {
			next = l[0].(map[string]any)["href"].(string)
		}
		return ids, next
	}
	got, next := page("2.58", "?limit=2")
	if !slices.Equal(got, reqs[:2]) || !strings.HasSuffix(next, "/v2.1"+base+"?limit=2&marker="+reqs[1]) {
		t.Fatalf("first page: %v %s", got, next)
	}
	u, _ := url.Parse(next)
	if got, next = page("2.58", "?"+u.RawQuery); !slices.Equal(got, reqs[2:]) || next == "" {
		t.Fatalf("second page: %v %s", got, next)
	}
	if got, next = page("2.58", "?limit=2&marker="+reqs[3]); len(got) != 0 || next != "" {
		t.Fatalf("after the last: %v %s", got, next)
	}
	if got, _ = page("2.58", "?limit=0&marker="); len(got) != 0 {
		t.Fatalf("limit 0: %v", got)
	}
	if got, _ = page("2.58", "?limit=0&marker=nope"); len(got) != 0 {
		t.Fatalf("limit 0: %v", got)
	}
	if got, _ = page("2.57", "?limit=1&bogus=1"); len(got) != 4 {
		t.Fatalf("before 2.58 the query is ignored: %v", got)
	}
	if got, _ = page("2.66", "?changes-since=2000-01-01&changes-before=2999-01-01T00:00:00Z"); len(got) != 4 {
		t.Fatalf("changes: %v", got)
	}
	if got, _ = page("2.58", "?changes-since=2999-01-01T00:00:00"); len(got) != 0 {
		t.Fatalf("changes-since the future: %v", got)
	}
	for _, tt := range []struct{ v, query, msg string }{
		{"2.58", "?marker=req-nope", "Marker None could not be found."},
		{"2.58", "?marker=", "Marker None could not be found."},
		{"2.58", "?limit=x", "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'"},
		{"2.58", "?limit=1&limit=2", "Invalid input for query parameters limit. Value: ['1', '2']. ['1', '2'] is too long"},
		{"2.58", "?changes-since=bad", "Invalid input for query parameters changes-since. Value: bad. 'bad' is not a 'date-time'"},
		{"2.58", "?changes-before=2020-01-01", "Additional properties are not allowed ('changes-before' was unexpected)"},
		{"2.66", "?bogus=1&limit=x", "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'"},
		{"2.66", "?bogus=1", "Additional properties are not allowed ('bogus' was unexpected)"},
		{"2.66", "?changes-since=2021-01-01&changes-before=2020-01-01", "The value of changes-since must be less than or equal to changes-before."},
	} {
		r := e.call(t, tt.v, alice, "GET", base+tt.query, nil)
		wantError(t, r, 400, "badRequest", tt.msg)
		if m := r.JSON(t)["badRequest"].(map[string]any)["message"]; m != tt.msg {
			t.Errorf("%s %s: %q, want %q", tt.v, tt.query, m, tt.msg)
		}
	}

	// Deleted (no host had it: at once): its actions from 2.21.
	if r := e.call(t, "2.1", alice, "DELETE", "/servers/"+id, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	wantError(t, e.call(t, "2.20", alice, "GET", base, nil), 404, "itemNotFound")
	if got, _ := page("2.21", ""); len(got) != 4 {
		t.Fatalf("a deleted server's actions: %v", got)
	}
	e.must(t, 200, "2.21", alice, "GET", base+"/"+reqs[0], nil)
	wantError(t, e.call(t, "2.21", bob, "GET", base, nil), 404, "itemNotFound")
}

// os-resetState: admins only by policy, Nova's schema checked before
// the server is looked up, nothing changed or recorded by a refusal.
func TestResetState(t *testing.T) {
	e := newServerAPI(t)
	ctx := context.Background()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", serverBody(nil))["server"].(map[string]any)["id"].(string)
	if err := e.builder.BuildWaiting(ctx); err != nil {
		t.Fatal(err)
	}
	action := "/servers/" + id + "/action"
	missing := "/servers/00000000-0000-4000-8000-000000000000/action"
	for _, tt := range []struct {
		token, path string
		body        any
		status      int
		key, msg    string
	}{
		{alice, action, map[string]any{"os-resetState": map[string]any{"state": "error"}}, 403, "forbidden",
			"Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed."},
		{bob, action, map[string]any{"os-resetState": map[string]any{"state": "error"}}, 404, "itemNotFound",
			"Instance " + id + " could not be found."},
		{admin, action, map[string]any{"os-resetState": map[string]any{"state": "bogus"}}, 400, "badRequest",
			"Invalid input for field/attribute state. Value: bogus. 'bogus' is not one of ['active', 'error']"},
		{admin, action, map[string]any{"os-resetState": map[string]any{"state": "ACTIVE"}}, 400, "badRequest",
			"Invalid input for field/attribute state. Value: ACTIVE. 'ACTIVE' is not one of ['active', 'error']"},
		{admin, action, map[string]any{"os-resetState": map[string]any{"state": 1}}, 400, "badRequest",
			"Invalid input for field/attribute state. Value: 1. 1 is not of type 'string'"},
		{admin, action, map[string]any{"os-resetState": map[string]any{}}, 400, "badRequest",
			"Invalid input for field/attribute os-resetState. Value: {}. 'state' is a required property"},
		{admin, action, map[string]any{"os-resetState": nil}, 400, "badRequest",
			"Invalid input for field/attribute os-resetState. Value: None. None is not of type 'object'"},
		{admin, action, map[string]any{"os-resetState": "active"}, 400, "badRequest",
			"Invalid input for field/attribute os-resetState. Value: active. 'active' is not of type 'object'"},
		{admin, action, `{"os-resetState": {"state": "active", "x": 1}}`, 400, "badRequest",
			"Invalid input for field/attribute os-resetState. Value: {'state': 'active', 'x': 1}. Additional properties are not allowed ('x' was unexpected)"},
		{admin, missing, map[string]any{"os-resetState": map[string]any{"state": "bogus"}}, 400, "badRequest", "is not one of"},
		{admin, missing, map[string]any{"os-resetState": map[string]any{"state": "error"}}, 404, "itemNotFound", "could not be found."},
	} {
		r := e.call(t, "2.1", tt.token, "POST", tt.path, tt.body)
		wantError(t, r, tt.status, tt.key, tt.msg)
		if tt.status == 400 && tt.path == action {
			if m := r.JSON(t)[tt.key].(map[string]any)["message"]; m != tt.msg {
				t.Errorf("%v: %q, want %q", tt.body, m, tt.msg)
			}
		}
	}
	if s := e.show(t, admin, id); s["status"] != "BUILD" || s["OS-EXT-STS:task_state"] != "spawning" {
		t.Fatalf("refusals changed the server: %v", s)
	}
	if l := e.must(t, 200, "2.1", admin, "GET", "/servers/"+id+"/os-instance-actions", nil)["instanceActions"].([]any); len(l) != 1 {
		t.Fatalf("refusals recorded actions: %v", l)
	}

	reset := requestID(t, e.call(t, "2.1", admin, "POST", action, map[string]any{"os-resetState": map[string]any{"state": "error"}}), 202)
	if s := e.show(t, alice, id); s["status"] != "ERROR" || s["OS-EXT-STS:task_state"] != nil || s["OS-EXT-STS:vm_state"] != "error" {
		t.Fatalf("reset to error: %v", s)
	}
	a := e.must(t, 200, "2.84", admin, "GET", "/servers/"+id+"/os-instance-actions/"+reset, nil)["instanceAction"].(map[string]any)
	if a["action"] != "resetState" || a["user_id"] != "admin" || a["project_id"] != "admin" || len(a["events"].([]any)) != 0 {
		t.Fatalf("resetState action: %v", a)
	}
	e.must(t, 202, "2.1", admin, "POST", action, map[string]any{"os-resetState": map[string]any{"state": "active"}})
	if s := e.show(t, alice, id); s["status"] != "ACTIVE" {
		t.Fatalf("reset to active: %v", s)
	}
}

const actionSchemas = `
import json, sys
from nova.api.validation import validators
from nova.api.openstack.compute.schemas import instance_actions as ia, reset_server_state as rs
from nova import exception
schemas = {"reset": rs.reset_state, "query258": ia.list_query_params_v258, "query266": ia.list_query_params_v266}
out = []
for name, text in json.load(sys.stdin):
    try:
        validators._SchemaValidator(schemas[name], is_body=not name.startswith("query")).validate(json.loads(text))
        out.append("")
    except exception.ValidationError as e:
        out.append(e.format_message())
print(json.dumps(out))
`

// Nova's validator and ours refuse the same os-resetState bodies and
// instance action queries, with the same message. A missing server
// makes every request Nova's validation takes a 404: the schema is
// checked first, and nothing is changed.
func TestInstanceActionSchemaDifferential(t *testing.T) {
	testenv.RequirePython(t, "nova.api.validation.validators", "python3-nova")
	script := filepath.Join(t.TempDir(), "schemas.py")
	if err := os.WriteFile(script, []byte(actionSchemas), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newServerAPI(t)
	server := "/servers/00000000-0000-4000-8000-000000000000"
	type call struct{ schema, version, path, body string }
	var calls []call
	for _, v := range []string{`"active"`, `"error"`, `"ACTIVE"`, `"Error"`, `""`, `" active"`, `"deleted"`, `1`, `1.5`, `null`, `true`,
		`[]`, `{}`, `["active"]`, `{"state": "active"}`, `"\u00e9t\u00e9"`} {
		calls = append(calls,
			call{"reset", "2.1", server + "/action", `{"os-resetState": {"state": ` + v + `}}`},
			call{"reset", "2.1", server + "/action", `{"os-resetState": {"state": "active", "x": ` + v + `}}`},
			call{"reset", "2.1", server + "/action", `{"os-resetState": {"state": ` + v + `, "x": 1}}`},
			call{"reset", "2.1", server + "/action", `{"os-resetState": {"x": ` + v + `}}`})
		if v != `{}` && v != `{"state": "active"}` {
			calls = append(calls, call{"reset", "2.1", server + "/action", `{"os-resetState": ` + v + `}`})
		}
	}
	var queries []string
	for _, d := range []string{"2020-01-01", "2020-01-01T10:00:00Z", "2020-01-01T10:00:00.5%2B02:00", "2020-01-01+10:00", "2020-01-01T10",
		"20200101T100000Z", "2020", "2020-01", "bad", "", "2020-13-01", "2020-01-01T25:00", "2020-01-01T10:00:00%2B0200", "now"} {
		queries = append(queries, "changes-since="+d, "changes-before="+d, "changes-since="+d+"&changes-since=2020-01-01")
	}
	queries = append(queries, "limit=a", "limit=", "limit=-1", "limit=01", "limit=0", "limit=1&limit=2", "limit=x&limit=2",
		"marker=a&marker=b", "marker=", "foo=1", "foo=1&limit=x", "bar=1&foo=1", "changes-before=x&foo=1", "limit=1&marker=a&changes-since=2020")
	for _, q := range queries {
		values, _ := url.ParseQuery(q)
		text, _ := json.Marshal(values)
		calls = append(calls, call{"query258", "2.58", server + "/os-instance-actions?" + q, string(text)},
			call{"query266", "2.66", server + "/os-instance-actions?" + q, string(text)})
	}
	pairs := make([][2]string, len(calls))
	for i, c := range calls {
		pairs[i] = [2]string{c.schema, c.body}
	}
	answers := testenv.PythonJSON(t, script, pairs)
	if len(answers) != len(calls) {
		t.Fatalf("%d answers for %d calls", len(answers), len(calls))
	}
	for i, c := range calls {
		var want string
		if err := json.Unmarshal(answers[i], &want); err != nil {
			t.Fatal(err)
		}
		var r apitest.Reply
		if c.schema == "reset" {
			r = e.call(t, c.version, admin, "POST", c.path, c.body)
		} else {
			r = e.call(t, c.version, admin, "GET", c.path, nil)
		}
		switch {
		case want == "" && r.Code != 404:
			t.Errorf("%s at %s with %s: Nova takes it, we answer %s", c.path, c.version, c.body, r)
		case want != "" && (r.Code != 400 || r.JSON(t)["badRequest"].(map[string]any)["message"] != want):
			t.Errorf("%s at %s with %s:\n got %s\nNova %q", c.path, c.version, c.body, r, want)
		}
	}
}
