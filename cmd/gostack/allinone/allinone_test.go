package allinone_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/cmd/gostack/allinone"
	computearea "github.com/gostack/gostack/compute/area"
	dnsarea "github.com/gostack/gostack/dns/area"
	identityarea "github.com/gostack/gostack/identity/area"
	imagearea "github.com/gostack/gostack/image/area"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	networkarea "github.com/gostack/gostack/network/area"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// notes is a tiny area used to prove the plug-in point: its migration is
// applied, its handler is served on its own port with the standard
// middleware, and its writes reach the admin port's watch feed.
type notes struct{}

func (notes) Name() string { return "dns" }

func (notes) Migrations() []sqlstore.Migrations {
	return []sqlstore.Migrations{{Area: "notes", FS: os.DirFS("testdata/area")}}
}

func (notes) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	rt := httpapi.NewRouter(httpapi.Designate)
	rt.HandleFunc("PUT /notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Body string `json:"body"`
		}
		if err := httpapi.DecodeJSON(w, r, &in, httpapi.Strict()); err != nil {
			httpapi.WriteError(w, r, httpapi.Designate, err)
			return
		}
		id := r.PathValue("id")
		err := env.DB.Tx(r.Context(), func(tx *sqlstore.Tx) error {
			if _, err := tx.Exec(r.Context(), "INSERT INTO notes (id, body) VALUES (?, ?)", id, in.Body); err != nil {
				return err
			}
			data, _ := json.Marshal(in)
			_, err := env.Watch.Append(r.Context(), tx, watch.Change{Area: "dns", Kind: "note", ID: id, Op: watch.Create, Data: data})
			return err
		})
		if err != nil {
			httpapi.WriteError(w, r, httpapi.Designate, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	return rt, nil
}

type daemon struct {
	addrs    map[string]string
	cancel   context.CancelFunc
	done     chan error
	logs     *apitest.Buffer
	stopOnce sync.Once
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// cloudConfig is the all-in-one configuration as tests edit it: the
// daemon's own keys, and each area's section, shared with the areas.
type cloudConfig struct {
	compose.Config
	Identity *identityarea.Config
	Image    *imagearea.Config
	DNS      *dnsarea.Config
	Network  *networkarea.Config
	Place    *computearea.PlacementConfig
	Compute  *computearea.ComputeConfig

	id  *identityarea.Area
	img *imagearea.Area
	dns *dnsarea.Area
	net *networkarea.Area
	pl  *computearea.Placement
	cmp *computearea.Compute
	md  *computearea.Metadata
}

// newConfig is the all-in-one daemon's defaults.
func newConfig() *cloudConfig {
	areas := allinone.Areas()
	c := &cloudConfig{Config: compose.Defaults(areas...)}
	c.id, _ = compose.Find[*identityarea.Area](areas)
	c.img, _ = compose.Find[*imagearea.Area](areas)
	c.dns, _ = compose.Find[*dnsarea.Area](areas)
	c.net, _ = compose.Find[*networkarea.Area](areas)
	c.pl, _ = compose.Find[*computearea.Placement](areas)
	c.cmp, _ = compose.Find[*computearea.Compute](areas)
	c.md, _ = compose.Find[*computearea.Metadata](areas)
	c.Identity, c.Image, c.DNS, c.Network, c.Place, c.Compute = &c.id.Config, &c.img.Config, &c.dns.Config, &c.net.Config, &c.pl.Config, &c.cmp.Config
	// The host agent starts Open vSwitch, which outlives the daemon:
	// only the tests that plumb ports turn it on, and stop the switch.
	c.Network.Agent.Enabled = false
	// The compute agent runs guests: only the tests that boot them turn
	// it on.
	c.Compute.Agent.Enabled = false
	return c
}

// all are every area of the all-in-one daemon, configured by c.
func (c *cloudConfig) all() []compose.Area {
	return []compose.Area{c.id, c.img, c.dns, c.md, c.net, c.pl, c.cmp}
}

// Validate checks c as the all-in-one daemon does.
func (c *cloudConfig) Validate() error { return compose.Validate(&c.Config, c.all()) }

func start(t *testing.T, cfg *cloudConfig, areas ...compose.Area) *daemon {
	t.Helper()
	ls := map[string]net.Listener{"admin": listenLocal(t)}
	for _, a := range areas {
		ls[a.Name()] = listenLocal(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{cancel: cancel, done: make(chan error, 1), logs: &apitest.Buffer{}}
	ready := make(chan map[string]string, 1)
	dm := &compose.Daemon{Config: cfg.Config, Areas: areas, Listeners: ls, LogOutput: d.logs,
		Ready: func(a map[string]string) { ready <- a }}
	go func() { d.done <- dm.Run(ctx) }()
	select {
	case d.addrs = <-ready:
	case err := <-d.done:
		cancel()
		t.Fatalf("daemon did not start: %v", err)
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *daemon) stop(t *testing.T) {
	d.stopOnce.Do(func() {
		d.cancel()
		if err := <-d.done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func testConfig(t *testing.T, dsn string) *cloudConfig {
	cfg := newConfig()
	cfg.DataDir = t.TempDir()
	cfg.Database = dsn
	cfg.DNS.Listen = "127.0.0.1:0"
	return cfg
}

func TestDaemon(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dsn := e.DSN
			if e.Name == "sqlite" {
				dsn = "" // the embedded default under data_dir
			}
			testDaemon(t, testConfig(t, dsn))
		})
	}
}

func testDaemon(t *testing.T, cfg *cloudConfig) {
	d := start(t, cfg, notes{})
	admin := "http://" + d.addrs["admin"]
	area := "http://" + d.addrs["dns"]

	if code, h, body := get(t, admin+"/healthcheck"); code != 200 || body != "OK" || !strings.HasPrefix(h.Get("X-Openstack-Request-Id"), "req-") {
		t.Fatalf("admin /healthcheck: %d %q %v", code, body, h)
	}
	if code, _, body := get(t, area+"/healthcheck"); code != 200 || body != "OK" {
		t.Fatalf("area /healthcheck: %d %q", code, body)
	}
	// The area's API, through the standard middleware and its error style.
	req, _ := http.NewRequest(http.MethodPut, area+"/notes/n1", strings.NewReader(`{"body":"hello"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT note: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPut, area+"/notes/n1", strings.NewReader(`{"body":"again"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), `"code":409`) {
		t.Fatalf("duplicate note: %d %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequest(http.MethodPut, area+"/notes/n2", strings.NewReader(`{"bodyy":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "bodyy") {
		t.Fatalf("unknown field: %d %s", resp.StatusCode, body)
	}
	// The write reached the feed, by area and in the full feed.
	code, h, feed := get(t, admin+"/v1/watch/dns?since=0&timeout=5")
	if code != 200 || !strings.Contains(feed, `"id":"n1"`) || h.Get("X-Gostack-Revision") != "1" {
		t.Fatalf("feed: %d %s %v", code, feed, h)
	}
	if code, _, body := get(t, admin+"/v1/watch/compute?since=0&timeout=0"); code != 200 || !strings.Contains(body, `"changes":[]`) {
		t.Fatalf("other area's feed: %d %s", code, body)
	}
	if code, _, body := get(t, admin+"/v1/watch?since=x"); code != 400 || !strings.Contains(body, "since") {
		t.Fatalf("bad since: %d %s", code, body)
	}
	// Metrics by route pattern, the store and the feed.
	_, _, metrics := get(t, admin+"/metrics")
	for _, want := range []string{
		`gostack_http_requests_total{code="201",method="PUT",route="/notes/{id}",service="dns"} 1`,
		`gostack_db_query_duration_seconds_count{verb="INSERT"}`,
		`gostack_watch_head_revision 1`,
		`gostack_watch_delivery_seconds_count{area="dns"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// openrc is the identity area's: a daemon without it writes none.
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "openrc")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("openrc without the identity area: %v", err)
	}
	// A second daemon on the same data dir is refused.
	err = (&compose.Daemon{Config: cfg.Config, Listeners: map[string]net.Listener{"admin": listenLocal(t)}, LogOutput: io.Discard}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second daemon on the same data dir: %v", err)
	}

	// Stop; restart on the same data: state survives.
	d.stop(t)
	d2 := start(t, cfg, notes{})
	code, _, root := get(t, "http://"+d2.addrs["admin"]+"/")
	if code != 200 || !strings.Contains(root, `"revision":1`) {
		t.Fatalf("after restart: %d %s", code, root)
	}
}

// A long poll in flight does not hold shutdown up.
func TestShutdownEndsLongPolls(t *testing.T) {
	d := start(t, testConfig(t, ""))
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + d.addrs["admin"] + "/v1/watch?since=0&timeout=120")
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	time.Sleep(200 * time.Millisecond) // let the poll start waiting
	d.stop(t)
	select {
	case code := <-got:
		if code != 200 {
			t.Fatalf("long poll ended with %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("long poll still open 30s after shutdown")
	}
}

// A busy port fails the start, and nothing is left half-started: the
// data dir lock is released and the store closed.
func TestBusyPort(t *testing.T) {
	busy := listenLocal(t)
	defer busy.Close()
	cfg := testConfig(t, "")
	cfg.Ports["admin"] = busy.Addr().(*net.TCPAddr).Port
	err := (&compose.Daemon{Config: cfg.Config, LogOutput: io.Discard}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen admin") {
		t.Fatalf("busy port: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "openrc")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("openrc written by a daemon that did not start: %v", err)
	}
	start(t, cfg) // the lock was released: a daemon with a free port starts
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*cloudConfig)
		key  string
	}{
		{"empty data dir", func(c *cloudConfig) { c.DataDir = "" }, "data_dir"},
		{"bad bind", func(c *cloudConfig) { c.Bind = "localhost" }, "bind"},
		{"bad database", func(c *cloudConfig) { c.Database = "mysql://x" }, "database"},
		{"port out of range", func(c *cloudConfig) { c.Ports["image"] = 70000 }, "ports.image"},
		{"duplicate port", func(c *cloudConfig) { c.Ports["dns"] = c.Ports["identity"] }, "ports.dns"},
		{"log format", func(c *cloudConfig) { c.Log.Format = "xml" }, "log.format"},
		{"log level", func(c *cloudConfig) { c.Log.Level = "loud" }, "log.level"},
		{"compact interval", func(c *cloudConfig) { c.Watch.CompactInterval = 0 }, "watch.compact_interval"},
		{"dns listen without port", func(c *cloudConfig) { c.DNS.Listen = "127.0.0.1" }, "dns.listen"},
		{"dns listen hostname", func(c *cloudConfig) { c.DNS.Listen = "localhost:53" }, "dns.listen"},
		{"no nameservers", func(c *cloudConfig) { c.DNS.Nameservers = nil }, "dns.nameservers"},
		{"nameserver without dot", func(c *cloudConfig) { c.DNS.Nameservers = []string{"ns1.example.org"} }, "dns.nameservers"},
		{"tsig secret not base64", func(c *cloudConfig) {
			c.DNS.TSIGKeys = map[string]dnsarea.Key{"k": {Secret: "not base64!"}}
		}, "dns.tsig_keys.k.secret"},
		{"tsig algorithm", func(c *cloudConfig) {
			c.DNS.TSIGKeys = map[string]dnsarea.Key{"k": {Algorithm: "hmac-md5", Secret: "c2VjcmV0"}}
		}, "dns.tsig_keys.k.algorithm"},
		{"notify target", func(c *cloudConfig) { c.DNS.AlsoNotify = []dnsarea.Target{{Addr: "ns2.example.org"}} }, "dns.also_notify"},
		{"notify key name", func(c *cloudConfig) { c.DNS.AlsoNotify = []dnsarea.Target{{Addr: "192.0.2.1", Key: "no..key"}} }, "dns.also_notify"},
		{"transfer cidr", func(c *cloudConfig) { c.DNS.AllowTransfer = []dnsarea.Transfer{{CIDR: "192.0.2.1"}} }, "dns.allow_transfer"},
		{"transfer key name", func(c *cloudConfig) { c.DNS.AllowTransfer = []dnsarea.Transfer{{Key: "no..key"}} }, "dns.allow_transfer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newConfig()
			tt.edit(cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.key+":") {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.key)
			}
		})
	}
	cfg := newConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

// The identity area on shared keys: tokens are issued and validated.
func TestIdentitySharedKeys(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.SharedKeys = true
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.id)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},"scope":{"system":{"all":true}}}}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post("http://"+d.addrs["identity"]+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok := resp.Header.Get("X-Subject-Token")
	if resp.StatusCode != 201 || tok == "" {
		t.Fatalf("issue: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", "http://"+d.addrs["identity"]+"/v3/auth/tokens", nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("X-Subject-Token", tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("validate: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "fernet-keys")); !os.IsNotExist(err) {
		t.Fatal("shared keys also wrote a key directory")
	}
}

// An operator's policy file overrides Keystone's defaults.
func TestIdentityPolicyFile(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	cfg.Identity.PolicyFile = filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(cfg.Identity.PolicyFile, []byte(`"identity:list_projects": "!"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := start(t, cfg, cfg.id)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},"scope":{"system":{"all":true}}}}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post("http://"+d.addrs["identity"]+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", "http://"+d.addrs["identity"]+"/v3/projects", nil)
	req.Header.Set("X-Auth-Token", resp.Header.Get("X-Subject-Token"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("list projects against a policy of \"!\": %d", resp.StatusCode)
	}
}

// issueToken gets a token from the daemon's identity API.
func issueToken(t *testing.T, d *daemon, user, password, scope string) string {
	t.Helper()
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":{"id":"default"},"password":%q}}},"scope":%s}}`, user, password, scope)
	resp, err := http.Post("http://"+d.addrs["identity"]+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("token for %s: %d", user, resp.StatusCode)
	}
	return resp.Header.Get("X-Subject-Token")
}

func status(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// With identity running, the watch feed (every change of every project)
// needs the admin or service role; probes stay open.
func TestWatchNeedsToken(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.id)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	admin := issueToken(t, d, "admin", strings.TrimSpace(string(pw)), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
	idURL := "http://" + d.addrs["identity"] + "/v3"
	if c := status(t, "POST", idURL+"/users", admin, `{"user":{"name":"mo","password":"mo-pw"}}`); c != 201 {
		t.Fatalf("create user: %d", c)
	}
	if c := status(t, "POST", idURL+"/projects", admin, `{"project":{"name":"mop"}}`); c != 201 {
		t.Fatalf("create project: %d", c)
	}
	// mo gets member on mop via the CLI-free grant path: list ids first.
	var ids struct {
		Users    []struct{ ID string } `json:"users"`
		Projects []struct{ ID string } `json:"projects"`
		Roles    []struct{ ID string } `json:"roles"`
	}
	for _, q := range []string{"/users?name=mo", "/projects?name=mop", "/roles?name=member"} {
		req, _ := http.NewRequest("GET", idURL+q, nil)
		req.Header.Set("X-Auth-Token", admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&ids)
		resp.Body.Close()
	}
	grant := fmt.Sprintf("%s/projects/%s/users/%s/roles/%s", idURL, ids.Projects[0].ID, ids.Users[0].ID, ids.Roles[0].ID)
	if c := status(t, "PUT", grant, admin, ""); c != 204 {
		t.Fatalf("grant: %d", c)
	}
	member := issueToken(t, d, "mo", "mo-pw", `{"project":{"name":"mop","domain":{"id":"default"}}}`)
	feed := "http://" + d.addrs["admin"] + "/v1/watch?since=0&timeout=0"
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"garbage", 401}, {member, 403}, {admin, 200}} {
		if got := status(t, "GET", feed, c.token, ""); got != c.want {
			t.Errorf("feed with token %.10q: %d, want %d", c.token, got, c.want)
		}
	}
	if got := status(t, "GET", "http://"+d.addrs["admin"]+"/healthcheck", "", ""); got != 200 {
		t.Fatalf("healthcheck: %d", got)
	}
}

// The identity area writes openrc, private, pointing at its listener;
// the admin password survives a restart and stays out of the logs.
func TestIdentityOpenRC(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	d := start(t, cfg, cfg.id)
	rc := filepath.Join(cfg.DataDir, "openrc")
	fi, err := os.Stat(rc)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("openrc: %v %v", fi, err)
	}
	b, _ := os.ReadFile(rc)
	if !strings.Contains(string(b), "export OS_AUTH_URL='http://"+d.addrs["identity"]+"/v3'") || !strings.Contains(string(b), "OS_PASSWORD='") {
		t.Fatalf("openrc:\n%s", b)
	}
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	if strings.Contains(d.logs.String(), strings.TrimSpace(string(pw))) {
		t.Fatal("admin password in logs")
	}
	d.stop(t)
	start(t, cfg, cfg.id)
	pw2, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	if string(pw) != string(pw2) {
		t.Fatal("admin password changed across restart")
	}
}

// identity.list_limit reaches the API: Keystone's truncated lists.
func TestIdentityListLimit(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	cfg.Identity.ListLimit = 2
	d := start(t, cfg, cfg.id)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	admin := issueToken(t, d, "admin", strings.TrimSpace(string(pw)), `{"system":{"all":true}}`)
	req, _ := http.NewRequest("GET", "http://"+d.addrs["identity"]+"/v3/roles", nil)
	req.Header.Set("X-Auth-Token", admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Roles     []struct{ Name string }
		Truncated bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Roles) != 2 || !body.Truncated {
		t.Fatalf("roles with list_limit 2 (bootstrap makes 3): %d %+v %v", resp.StatusCode, body, err)
	}
}
