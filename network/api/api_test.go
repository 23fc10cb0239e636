package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/network"
	"github.com/gostack/gostack/network/api"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	admin   = "token-admin"
	memberA = "token-member-a"
	memberB = "token-member-b"
	service = "token-service"
	// service2 is another service user.
	service2 = "token-service-2"
)

func newAPI(t *testing.T) *apitest.Client {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), network.Migrations()); err != nil {
		t.Fatal(err)
	}
	enf, err := api.NewEnforcer()
	if err != nil {
		t.Fatal(err)
	}
	caller := middlewaretest.Caller
	tokens := middlewaretest.Tokens{
		admin:    caller("admin", "ops", "admin", "member", "reader"),
		memberA:  caller("alice", "proj-a", "member", "reader"),
		memberB:  caller("bob", "proj-b", "member", "reader"),
		service:  caller("network-agent", "service", "service"),
		service2: caller("network-agent-2", "service", "service"),
	}
	h := (&api.API{Store: network.NewStore(db, watch.New(db)), Policy: enf}).Handler()
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Neutron, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(h)))
	t.Cleanup(srv.Close)
	return &apitest.Client{URL: srv.URL, NoRedirect: true}
}

func neutronError(t *testing.T, r apitest.Reply, code int, typ string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("got %s, want %d %s", r, code, typ)
	}
	e, ok := r.JSON(t)["NeutronError"].(map[string]any)
	if !ok || e["type"] != typ || e["message"] == "" {
		t.Fatalf("got %s, want a NeutronError of type %s", r, typ)
	}
}

func TestPolicyAndErrors(t *testing.T) {
	c := newAPI(t)
	// Discovery is public; the rest needs a token.
	if r := c.Do(t, "GET", "/", "", nil); r.Code != 200 || !strings.Contains(string(r.Body), `"id":"v2.0"`) {
		t.Fatalf("versions: %s", r)
	}
	neutronError(t, c.Do(t, "GET", "/v2.0/networks", "", nil), 401, "HTTPUnauthorized")

	// Provider attributes and sharing are the admin's.
	neutronError(t, c.Do(t, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "x", "shared": true}}),
		403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "POST", "/v2.0/networks", memberA,
		map[string]any{"network": map[string]any{"name": "x", "provider:network_type": "vlan", "provider:segmentation_id": 5}}),
		403, "PolicyNotAuthorized")
	neutronError(t, c.Do(t, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "x", "colour": "red"}}),
		400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": 5}}), 400, "HTTPBadRequest")
	// Creating for another project is the admin's too (a 400, as
	// neutron_lib's _validate_privileges answers).
	neutronError(t, c.Do(t, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "x", "project_id": "proj-b"}}),
		400, "HTTPBadRequest")

	n := c.Must(t, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": "a-net"}})["network"].(map[string]any)
	if _, shown := n["provider:network_type"]; shown || n["tenant_id"] != "proj-a" || n["status"] != "ACTIVE" {
		t.Fatalf("a member's view of its network: %v", n)
	}
	id := n["id"].(string)
	if seen := c.Must(t, 200, "GET", "/v2.0/networks/"+id, admin, nil)["network"].(map[string]any); seen["provider:network_type"] != "vxlan" ||
		seen["provider:segmentation_id"] != float64(1) {
		t.Fatalf("the admin's view: %v", seen)
	}
	// Another project: not found, not a 403, as Neutron hides it.
	neutronError(t, c.Do(t, "GET", "/v2.0/networks/"+id, memberB, nil), 404, "NetworkNotFound")
	neutronError(t, c.Do(t, "PUT", "/v2.0/networks/"+id, memberB, map[string]any{"network": map[string]any{"name": "mine"}}), 404, "NetworkNotFound")
	neutronError(t, c.Do(t, "DELETE", "/v2.0/networks/"+id, memberB, nil), 404, "NetworkNotFound")
	neutronError(t, c.Do(t, "POST", "/v2.0/ports", memberB, map[string]any{"port": map[string]any{"network_id": id}}), 404, "NetworkNotFound")
	// The owner may not bind a port to a host, nor choose its MAC on
	// someone else's network; it may on its own.
	sub := c.Must(t, 201, "POST", "/v2.0/subnets", memberA, map[string]any{"subnet": map[string]any{"network_id": id, "cidr": "10.0.0.0/24", "ip_version": 4}})
	if s := sub["subnet"].(map[string]any); s["gateway_ip"] != "10.0.0.1" {
		t.Fatalf("subnet: %v", s)
	}
	neutronError(t, c.Do(t, "POST", "/v2.0/ports", memberA, map[string]any{"port": map[string]any{"network_id": id, "binding:host_id": "h1"}}),
		403, "PolicyNotAuthorized")
	p := c.Must(t, 201, "POST", "/v2.0/ports", memberA, map[string]any{"port": map[string]any{"network_id": id, "mac_address": "fa:16:3e:00:00:01"}})
	if port := p["port"].(map[string]any); port["mac_address"] != "fa:16:3e:00:00:01" {
		t.Fatalf("port: %v", port)
	} else if _, shown := port["binding:host_id"]; shown {
		t.Fatalf("a member sees the binding: %v", port)
	}
	neutronError(t, c.Do(t, "DELETE", "/v2.0/networks/"+id, memberA, nil), 409, "NetworkInUse")
	neutronError(t, c.Do(t, "GET", "/v2.0/networks?colour=red", memberA, nil), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "GET", "/v2.0/networks?sort_key=name&sort_dir=up", memberA, nil), 400, "HTTPBadRequest")
	neutronError(t, c.Do(t, "GET", "/v2.0/extensions/nope", memberA, nil), 404, "HTTPNotFound")
	if ext := c.Must(t, 200, "GET", "/v2.0/extensions/provider", memberA, nil)["extension"].(map[string]any); ext["alias"] != "provider" {
		t.Fatalf("extension: %v", ext)
	}
}

// Pages by limit and marker with Neutron's links, fields, and filters.
func TestListPages(t *testing.T) {
	c := newAPI(t)
	for i := range 5 {
		c.Must(t, 201, "POST", "/v2.0/networks", memberA, map[string]any{"network": map[string]any{"name": fmt.Sprintf("n%d", i)}})
	}
	c.Must(t, 201, "POST", "/v2.0/networks", memberB, map[string]any{"network": map[string]any{"name": "b"}})
	page := func(query string) ([]string, map[string]string) {
		t.Helper()
		body := c.Must(t, 200, "GET", "/v2.0/networks?"+query, memberA, nil)
		var names []string
		for _, n := range body["networks"].([]any) {
			names = append(names, fmt.Sprint(n.(map[string]any)["name"]))
		}
		links := map[string]string{}
		if ls, ok := body["networks_links"].([]any); ok {
			for _, l := range ls {
				l := l.(map[string]any)
				links[l["rel"].(string)] = l["href"].(string)
			}
		}
		return names, links
	}
	names, links := page("sort_key=name&sort_dir=asc&limit=2")
	if fmt.Sprint(names) != "[n0 n1]" || links["next"] == "" || links["previous"] != "" {
		t.Fatalf("first page: %v %v", names, links)
	}
	next := links["next"][strings.Index(links["next"], "?")+1:]
	names, links = page(next)
	if fmt.Sprint(names) != "[n2 n3]" || links["next"] == "" || links["previous"] == "" {
		t.Fatalf("second page: %v %v", names, links)
	}
	prev := links["previous"][strings.Index(links["previous"], "?")+1:]
	if names, _ = page(prev); fmt.Sprint(names) != "[n0 n1]" {
		t.Fatalf("back: %v", names)
	}
	if names, _ = page("name=n1&name=n3&sort_key=name"); fmt.Sprint(names) != "[n1 n3]" {
		t.Fatalf("filter alternatives: %v", names)
	}
	body := c.Must(t, 200, "GET", "/v2.0/networks?fields=name&fields=id&name=n4", memberA, nil)
	if n := body["networks"].([]any)[0].(map[string]any); len(n) != 2 || n["name"] != "n4" {
		t.Fatalf("fields: %v", n)
	}
}
