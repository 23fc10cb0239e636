package allinone_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
)

// A client that sends headers announcing a body and never the body used
// to hold its connection (and a file and memory) for ever, without
// authenticating; one that sends half its headers was already bounded.
func TestSlowClientsDisconnected(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.HTTP.BodyTimeout = config.Duration(300 * time.Millisecond)
	cfg.HTTP.ReadHeaderTimeout = config.Duration(300 * time.Millisecond)
	cfg.HTTP.MaxConnections = 4
	d := start(t, cfg, cfg.all()...)
	for _, svc := range []string{"admin", "identity", "image", "dns"} {
		t.Run(svc, func(t *testing.T) {
			c := apitest.Dial(t, d.addrs[svc], 20*time.Second)
			fmt.Fprint(c, "POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
			if !apitest.ClosedByServer(c) {
				t.Error("a client that never sent its announced body kept its connection")
			}
			half := apitest.Dial(t, d.addrs[svc], 20*time.Second)
			fmt.Fprint(half, "GET / HTTP/1.1\r\nHost:")
			if !apitest.ClosedByServer(half) {
				t.Error("a client that never finished its headers kept its connection")
			}
		})
	}
	// The cap: four idle connections hold the identity listener; a fifth
	// is served only once one of them is gone.
	var held []net.Conn
	for range 4 {
		held = append(held, apitest.Dial(t, d.addrs["identity"], 20*time.Second))
	}
	time.Sleep(50 * time.Millisecond) // let the server accept them
	fifth := apitest.Dial(t, d.addrs["identity"], 200*time.Millisecond)
	fmt.Fprint(fifth, "GET /v3 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(fifth)
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Fatal("a connection past http.max_connections was served")
	}
	held[0].Close() // the header timeout would free them all soon anyway
	fifth.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("served after a slot freed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v3: %d", resp.StatusCode)
	}
}

// A client hanging up in the middle of an upload is its own doing: the
// access log and the metrics say 499, and nothing is logged as an error.
func TestClientHangUpIsNotAServerError(t *testing.T) {
	cfg := testConfig(t, "")
	d := start(t, cfg, cfg.all()...)
	tok := issueToken(t, d, "admin", adminPassword(t, cfg), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
	var img struct{ ID string }
	req, _ := http.NewRequest("POST", "http://"+d.addrs["image"]+"/v2/images",
		strings.NewReader(`{"name":"half","disk_format":"raw","container_format":"bare"}`))
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&img)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}

	c := apitest.Dial(t, d.addrs["image"], 20*time.Second)
	fmt.Fprintf(c, "PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n", img.ID, tok)
	c.Write(make([]byte, 64<<10))
	time.Sleep(100 * time.Millisecond) // the upload is under way
	c.Close()

	metric := `gostack_http_requests_total{code="499",method="PUT",route="/v2/images/{id}/file",service="image"} 1`
	eventually(t, "a 499 in the metrics", func() bool {
		_, _, body := get(t, "http://"+d.addrs["admin"]+"/metrics")
		return strings.Contains(body, metric)
	})
	_, _, body := get(t, "http://"+d.addrs["admin"]+"/metrics")
	if strings.Contains(body, `code="500"`) {
		t.Errorf("a 500 was counted:\n%s", grepLines(body, `code="500"`))
	}
	if logs := d.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("a client's hang-up was logged as an error:\n%s", grepLines(logs, "level=ERROR"))
	}
	// The image went back to queued: the upload can be tried again.
	code, _, _ := getWithToken(t, "http://"+d.addrs["image"]+"/v2/images/"+img.ID, tok)
	if code != 200 {
		t.Fatalf("show: %d", code)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func adminPassword(t *testing.T, cfg *cloudConfig) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TLS on every HTTP listener: the openstack CLI from the openrc (which
// carries OS_CACERT and https URLs), gophercloud with the CA, and clients
// without the CA refused; a renewed certificate is served without a
// restart.
func TestTLS(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := ca.Issue(t, certFile, keyFile, "127.0.0.1", "localhost")
	cfg := testConfig(t, "")
	cfg.TLS = compose.TLSConfig{CertFile: certFile, KeyFile: keyFile, CAFile: ca.File}
	d := start(t, cfg, cfg.all()...)

	env := openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))
	if !strings.Contains(strings.Join(env, "\n"), "OS_AUTH_URL=https://") ||
		!strings.Contains(strings.Join(env, "\n"), "OS_CACERT="+ca.File) {
		t.Fatalf("openrc: %v", env)
	}
	o := &osc{t: t, bin: bin, env: env}
	var cat []struct {
		Type      string
		Endpoints []struct{ URL string }
	}
	o.json(&cat, "catalog", "list")
	if len(cat) != 6 { // identity, image, dns, network, placement, compute
		t.Fatalf("catalog: %+v", cat)
	}
	for _, c := range cat {
		for _, ep := range c.Endpoints {
			if !strings.HasPrefix(ep.URL, "https://") {
				t.Errorf("%s endpoint %s is not https", c.Type, ep.URL)
			}
		}
	}
	o.must("project", "create", "tls-demo")
	o.must("image", "create", "--disk-format", "raw", "--container-format", "bare", "tls-image")
	o.must("image", "list")
	o.must("zone", "create", "tls.example.org.", "--email", "h@example.org")
	if out, err := o.run([]string{"OS_CACERT="}, "token", "issue"); err == nil {
		t.Errorf("the CLI without the CA got a token:\n%s", out)
	}

	clientTLS, err := httpapi.ClientTLS(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	p, err := openstack.NewClient("https://" + d.addrs["identity"] + "/v3")
	if err != nil {
		t.Fatal(err)
	}
	p.HTTPClient = http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}, Timeout: 30 * time.Second}
	err = openstack.Authenticate(t.Context(), p, gophercloud.AuthOptions{IdentityEndpoint: "https://" + d.addrs["identity"] + "/v3",
		Username: "admin", Password: adminPassword(t, cfg), DomainName: "Default", TenantName: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := openstack.NewImageV2(p, gophercloud.EndpointOpts{Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := images.List(ic, images.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := images.ExtractImages(pages); len(all) != 1 || all[0].Name != "tls-image" {
		t.Fatalf("gophercloud image list: %+v", all)
	}

	// The project's own Go client of the feed verifies the listener
	// against the configured CA.
	feed := &watchhttp.Client{URL: "https://" + d.addrs["admin"] + "/v1/watch",
		HTTP:    &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}},
		Prepare: func(r *http.Request) { r.Header.Set("X-Auth-Token", p.TokenID) }}
	if b, err := feed.Wait(t.Context(), watch.Query{}, time.Second); err != nil || len(b.Changes) == 0 {
		t.Fatalf("watch client over TLS: %v, %d changes", err, len(b.Changes))
	}
	feed.HTTP = &http.Client{}
	if _, err := feed.Wait(t.Context(), watch.Query{}, time.Second); err == nil {
		t.Fatal("a watch client without the CA got through")
	}

	for _, svc := range []string{"admin", "identity", "image", "dns"} {
		if resp, err := http.Get("https://" + d.addrs[svc] + "/"); err == nil {
			resp.Body.Close()
			t.Errorf("%s: a client without the CA got %d", svc, resp.StatusCode)
		}
		if resp, err := http.Get("http://" + d.addrs[svc] + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("%s answered plain HTTP with %d", svc, resp.StatusCode)
			}
		}
	}

	served := func() []byte {
		c, err := tls.Dial("tcp", d.addrs["admin"], clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	if string(served()) != string(first.Raw) {
		t.Fatal("not the configured certificate")
	}
	second := ca.Issue(t, certFile, keyFile, "127.0.0.1", "localhost")
	eventually(t, "the renewed certificate served", func() bool { return string(served()) == string(second.Raw) })
	o.must("token", "issue")
}
