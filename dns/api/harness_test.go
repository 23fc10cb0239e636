package api_test

import (
	"context"
	"encoding/json"
	"github.com/gostack/gostack/internal/apitest"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/dns/api"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/identity/policy"
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
// Keystone's implied roles put both in a token.
const (
	adminA  = "token-admin-a"  // admin, member, reader on A
	memberA = "token-member-a" // member, reader on A
	readerA = "token-reader-a" // reader on A
	memberB = "token-member-b" // member, reader on B
	readerB = "token-reader-b" // reader on B
	memberC = "token-member-c" // member, reader on C
	nobodyA = "token-nobody-a" // no role on A
)

// callers is the fake identity of these tests.
func callers() middlewaretest.Tokens {
	caller := middlewaretest.Caller
	return middlewaretest.Tokens{
		adminA:  caller("admin", projectA, "admin", "member", "reader"),
		memberA: caller("alice", projectA, "member", "reader"),
		readerA: caller("carol", projectA, "reader"),
		memberB: caller("bob", projectB, "member", "reader"),
		readerB: caller("dave", projectB, "reader"),
		memberC: caller("erin", projectC, "member", "reader"),
		nobodyA: caller("nemo", projectA),
	}
}

// reservedName is the operator's reserved zone name in every test cloud.
const reservedName = "ns1.cloud.example."

// cloud is the DNS API on an httptest server: the store in SQLite, the
// default pool served by ns1.example.net., Designate's default policies
// (Policy, which a test may Load overrides into), reservedName reserved,
// the fake identity and request ids in front.
type cloud struct {
	apitest.Client
	Store  *dns.Store
	Policy *policy.Enforcer
}

func newCloud(t *testing.T) *cloud {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "dns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), dns.Migrations()); err != nil {
		t.Fatal(err)
	}
	s := dns.NewStore(db, watch.New(db))
	if _, err := s.EnsureDefaultPool(ctx, []string{"ns1.example.net."}); err != nil {
		t.Fatal(err)
	}
	enf := policy.New()
	if err := enf.Register(api.Defaults()...); err != nil {
		t.Fatal(err)
	}
	h := (&api.API{Store: s, Policy: enf, Reserved: dns.ReservedNames{reservedName}, PinnedPool: dns.DefaultPoolID}).Handler()
	mw := &middleware.Middleware{Validator: callers(), Style: httpapi.Designate, Optional: true}
	srv := httptest.NewServer(httpapi.RequestID(mw.Wrap(h)))
	t.Cleanup(srv.Close)
	return &cloud{Client: apitest.Client{URL: srv.URL, NoRedirect: true}, Store: s, Policy: enf}
}

// client is a gophercloud DNS v2 client with token.
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

// ---- zones and recordsets ----

// mkZone creates a zone as token and returns its id.
func (c *cloud) mkZone(t *testing.T, token, name string) string {
	t.Helper()
	z := c.Must(t, http.StatusAccepted, "POST", "/v2/zones", token,
		map[string]any{"name": name, "email": "hostmaster@" + strings.TrimSuffix(name, "."), "ttl": 600})
	return str(t, z, "id")
}

// mkRecordSet creates an A recordset as token and returns its id.
func (c *cloud) mkRecordSet(t *testing.T, token, zoneID, name string, records ...string) string {
	t.Helper()
	rs := c.Must(t, http.StatusAccepted, "POST", "/v2/zones/"+zoneID+"/recordsets", token,
		map[string]any{"name": name, "type": "A", "records": records})
	return str(t, rs, "id")
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

// ids returns the ids of a collection body's items, in order.
func ids(t *testing.T, body map[string]any, key string) []string {
	t.Helper()
	var out []string
	for _, it := range list(t, body, key) {
		out = append(out, str(t, it, "id"))
	}
	return out
}

// wantError checks a Designate error answer as FaultWrapperMiddleware
// renders it: exactly {"code","type","message","request_id"}, code the
// status, type typ (when not ""), and a message containing each of msgs.
func wantError(t *testing.T, r reply, code int, typ string, msgs ...string) {
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
	if !slices.Equal(keys, []string{"code", "message", "request_id", "type"}) {
		t.Errorf("error body keys = %v, want code, message, request_id, type: %s", keys, r.Body)
	}
	if body["code"] != float64(code) {
		t.Errorf("code = %v, want %d", body["code"], code)
	}
	if id, _ := body["request_id"].(string); !strings.HasPrefix(id, "req-") || id != r.Header.Get("X-OpenStack-Request-Id") {
		t.Errorf("request_id = %v, header %q", body["request_id"], r.Header.Get("X-OpenStack-Request-Id"))
	}
	if typ != "" && body["type"] != typ {
		t.Errorf("type = %v, want %q: %s", body["type"], typ, r.Body)
	}
	m, _ := body["message"].(string)
	for _, msg := range msgs {
		if !strings.Contains(m, msg) {
			t.Errorf("message = %q, want it to contain %q", m, msg)
		}
	}
}

// ---- state ----

// snapshot is everything a call could change, as the admin sees it:
// every zone (with its shares) and recordset of every project, TSIG keys,
// quotas, zone transfers, imports and exports, TLDs, blacklists and
// pools. A rejected call must leave it as it was.
func (c *cloud) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	all := map[string]string{"X-Auth-All-Projects": "true"}
	for _, path := range []string{"/v2/zones?limit=max", "/v2/recordsets?limit=max", "/v2/tsigkeys?limit=max",
		"/v2/zones/tasks/transfer_requests?limit=max", "/v2/zones/tasks/transfer_accepts?limit=max",
		"/v2/zones/tasks/imports?limit=max", "/v2/zones/tasks/exports?limit=max", "/v2/tlds?limit=max", "/v2/blacklists?limit=max",
		"/v2/pools?limit=max"} {
		r := c.Call(t, call{Method: "GET", Path: path, Token: adminA, Header: all})
		if r.Code != http.StatusOK {
			t.Fatalf("snapshot %s: %s", path, r)
		}
		body := r.JSON(t)
		key := path[strings.LastIndex(path[:strings.Index(path, "?")], "/")+1 : strings.Index(path, "?")]
		for _, it := range list(t, body, key) {
			j, _ := json.Marshal(it)
			lines = append(lines, string(j))
			if key != "zones" {
				continue
			}
			r := c.Call(t, call{Method: "GET", Path: "/v2/zones/" + str(t, it, "id") + "/shares?limit=max", Token: adminA, Header: all})
			if r.Code != http.StatusOK {
				t.Fatalf("snapshot shares: %s", r)
			}
			for _, sh := range list(t, r.JSON(t), "shared_zones") {
				j, _ := json.Marshal(sh)
				lines = append(lines, "share "+string(j))
			}
		}
	}
	for _, p := range []string{projectA, projectB, projectC} {
		r := c.Call(t, call{Method: "GET", Path: "/v2/quotas/" + p, Token: adminA, Header: all})
		lines = append(lines, "quota "+p+" "+string(r.Body))
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
