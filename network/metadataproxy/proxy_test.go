package metadataproxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/gostack/gostack/network/metadataproxy"
	"github.com/gostack/gostack/network/nsutil"
)

const secret = "shared"

// api records what the proxy forwards and answers with it.
type api struct {
	mu  sync.Mutex
	got []http.Header
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.got = append(a.got, r.Header.Clone())
	a.mu.Unlock()
	if r.Header.Get("X-Instance-ID-Signature") != metadataproxy.Sign(secret, r.Header.Get("X-Instance-ID")) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"uuid": %q, "path": %q}`, r.Header.Get("X-Instance-ID"), r.URL.RequestURI())
}

func (a *api) last() http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[len(a.got)-1]
}

func instances(ip netip.Addr) (string, string, bool) {
	if ip == netip.MustParseAddr("127.0.0.1") || ip == netip.MustParseAddr("10.9.0.5") {
		return "inst-1", "proj-a", true
	}
	return "", "", false
}

func TestForward(t *testing.T) {
	a := &api{}
	upstream := httptest.NewServer(a)
	defer upstream.Close()
	p := httptest.NewServer(&metadataproxy.Proxy{URL: upstream.URL, Secret: secret, Instance: instances})
	defer p.Close()

	req, _ := http.NewRequest("GET", p.URL+"/openstack/latest/meta_data.json?x=1", nil)
	// A guest naming another instance is not believed.
	req.Header.Set("X-Instance-ID", "inst-2")
	req.Header.Set("X-Tenant-ID", "proj-b")
	req.Header.Set("X-Instance-ID-Signature", metadataproxy.Sign("guess", "inst-2"))
	req.Header.Set("X-Forwarded-For", "10.0.0.99")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"uuid": "inst-1", "path": "/openstack/latest/meta_data.json?x=1"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("forwarded: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	h := a.last()
	for k, want := range map[string]string{"X-Instance-Id": "inst-1", "X-Tenant-Id": "proj-a", "X-Forwarded-For": "127.0.0.1",
		"X-Instance-Id-Signature": metadataproxy.Sign(secret, "inst-1")} {
		if got := h.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %q", k, got, want)
		}
	}

	// A guest's "/../" stays under the API's base path.
	prefixed := httptest.NewServer(&metadataproxy.Proxy{URL: upstream.URL + "/md", Secret: secret, Instance: instances})
	defer prefixed.Close()
	req, _ = http.NewRequest("GET", prefixed.URL+"/x", nil)
	req.URL.Path, req.URL.RawPath = "/a/../../secret", ""
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"path": "/md/secret"`) {
		t.Errorf("a path with ..: %s", b)
	}

	// Another secret: the API's 403 comes back.
	wrong := httptest.NewServer(&metadataproxy.Proxy{URL: upstream.URL, Secret: "other", Instance: instances})
	defer wrong.Close()
	if resp, err := http.Get(wrong.URL + "/latest/meta-data/"); err != nil || resp.StatusCode != 403 {
		t.Errorf("wrong secret: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// No instance at the address: 404, and nothing forwarded.
	nobody := httptest.NewServer(&metadataproxy.Proxy{URL: upstream.URL, Secret: secret,
		Instance: func(netip.Addr) (string, string, bool) { return "", "", false }})
	defer nobody.Close()
	n := len(a.got)
	resp, err = http.Get(nobody.URL + "/latest/meta-data/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(b) != "404 Not Found\n\nThe resource could not be found.\n\n   " || len(a.got) != n {
		t.Errorf("no instance: %d %q (%d forwarded)", resp.StatusCode, b, len(a.got)-n)
	}

	// The API down: 500.
	down := httptest.NewServer(&metadataproxy.Proxy{URL: "http://127.0.0.1:1", Secret: secret, Instance: instances})
	defer down.Close()
	if resp, err := http.Get(down.URL + "/"); err != nil || resp.StatusCode != 500 {
		t.Errorf("API down: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// In a network namespace: the guest's side reaches 169.254.169.254:80 in
// the namespace, and the proxy, served by this process, reaches the API
// on the host's loopback.
func TestNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, b := range []string{"ip", "curl"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("needs %s", b)
		}
	}
	name := fmt.Sprintf("gs-mdp-%d", os.Getpid())
	ns, err := nsutil.Ensure(name)
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	t.Cleanup(func() { netns.DeleteNamed(name) })
	err = nsutil.InNamed(name, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		return netlink.AddrAdd(lo, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("169.254.169.254"), Mask: net.CIDRMask(32, 32)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &api{}
	upstream := httptest.NewServer(a) // on the host's loopback
	defer upstream.Close()
	ln, err := metadataproxy.Listen(name, netip.AddrPortFrom(metadataproxy.Address, 80))
	if err != nil {
		t.Fatal(err)
	}
	// The guest is the namespace's own loopback here: 169.254.169.254
	// talking to itself, so the source is 169.254.169.254.
	srv := metadataproxy.Serve(ln, &metadataproxy.Proxy{URL: upstream.URL, Secret: secret,
		Instance: func(ip netip.Addr) (string, string, bool) { return "inst-ns", "proj-a", ip == metadataproxy.Address }})
	defer srv.Close()
	var out []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err = exec.Command("ip", "netns", "exec", name, "curl", "-s", "-m", "5", "http://169.254.169.254/openstack/latest/meta_data.json").CombinedOutput()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !strings.Contains(string(out), `"uuid": "inst-ns"`) {
		t.Fatalf("curl in the namespace: %v: %s", err, out)
	}
}
