package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/gostack/gostack/kit/crashpoint"
)

// crashCloud is an all-in-one daemon in a child process on fixed ports,
// so that it can be killed at a crash point and started again on the same
// data and addresses.
type crashCloud struct {
	t                      *testing.T
	data                   string
	admin, identity, image int
	dnsAPI                 int
	network                int
	dnsListen              string
	p                      *proc
	token                  string
}

func newCrashCloud(t *testing.T) *crashCloud {
	p := freePorts(t, 6)
	return &crashCloud{t: t, data: filepath.Join(t.TempDir(), "data"), admin: p[0], identity: p[1],
		image: p[2], dnsAPI: p[3], network: p[4], dnsListen: fmt.Sprintf("127.0.0.1:%d", p[5])}
}

// start runs the daemon with point armed ("" for none) and waits until it
// is healthy, unless the point is hit during the start itself.
func (c *crashCloud) start(point string) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-data-dir", c.data,
		"-set", fmt.Sprintf("ports.admin=%d", c.admin), "-set", fmt.Sprintf("ports.identity=%d", c.identity),
		"-set", fmt.Sprintf("ports.image=%d", c.image), "-set", fmt.Sprintf("ports.dns=%d", c.dnsAPI),
		"-set", fmt.Sprintf("ports.network=%d", c.network),
		"-set", "dns.listen="+c.dnsListen, "-set", "identity.password_hash_rounds=4", "-set", "network.agent.enabled=false")
	cmd.Env = append(os.Environ(), "BE_GOSTACK_MAIN=1", crashpoint.Env+"="+point)
	p := &proc{cmd: cmd, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	c.t.Cleanup(func() { cmd.Process.Kill() })
	c.p = p
}

func (c *crashCloud) healthy() {
	c.t.Helper()
	waitHealthy(c.t, c.p, fmt.Sprintf("http://127.0.0.1:%d/healthcheck", c.admin))
	c.token = c.issueToken()
}

// crashed waits for the daemon to die of its crash point.
func (c *crashCloud) crashed() {
	c.t.Helper()
	select {
	case err := <-c.p.done:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			c.t.Fatalf("daemon ended with %v, want killed at its crash point\n%s", err, c.p.logs)
		}
	case <-time.After(60 * time.Second):
		c.t.Fatalf("crash point never hit\n%s", c.p.logs)
	}
}

func (c *crashCloud) stop() { c.t.Helper(); c.p.term(c.t) }

func (c *crashCloud) issueToken() string {
	c.t.Helper()
	pw, err := os.ReadFile(filepath.Join(c.data, "admin-password"))
	if err != nil {
		c.t.Fatal(err)
	}
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v3/auth/tokens", c.identity), "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 201 {
		c.t.Fatalf("token: %v %v", resp, err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Subject-Token")
}

// call sends a request to one of the APIs; a connection that dies with
// the daemon is status 0.
func (c *crashCloud) call(method string, port int, path, ctype string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *crashCloud) must(want int, method string, port int, path, ctype string, body []byte) map[string]any {
	c.t.Helper()
	code, b := c.call(method, port, path, ctype, body)
	if code != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func (c *crashCloud) objects(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(c.data, "images", dir, "objects", "*"))
	return m
}

func (c *crashCloud) eventually(what string, cond func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not after 30 s\n%s", what, c.p.logs)
		}
	}
}

// Image writes killed at each point: after a restart the image is in the
// state docs/security.md promises, no data is left without an owner, and
// the write can be done again.
func TestCrashImageWrites(t *testing.T) {
	payload := bytes.Repeat([]byte("gostack crash test "), 50_000) // ~1 MB of raw data
	sum := md5.Sum(payload)
	checksum := hex.EncodeToString(sum[:])
	tests := []struct {
		point string
		// act does the write that hits the point.
		act func(c *crashCloud, id string)
		// after is the image's status after the restart (reached
		// eventually: imports resume in the background).
		after string
	}{
		{"image.upload.saving", upload(payload), "queued"},
		{"image.upload.stored", upload(payload), "queued"},
		{"image.import.importing", stageImport(payload), "active"},
		{"image.import.stored", stageImport(payload), "active"},
		{"image.import.active", stageImport(payload), "active"},
		{"image.delete.marked", func(c *crashCloud, id string) {
			upload(payload)(c, id)
			c.stop()
			c.start("image.delete.marked")
			c.healthy()
			c.call("DELETE", c.image, "/v2/images/"+id, "", nil)
		}, "deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			c := newCrashCloud(t)
			point := tt.point
			if point == "image.delete.marked" {
				point = "" // armed by act, after the upload
			}
			c.start(point)
			c.healthy()
			img := c.must(201, "POST", c.image, "/v2/images", "application/json",
				[]byte(`{"name":"crash","disk_format":"raw","container_format":"bare"}`))
			id := img["id"].(string)
			tt.act(c, id)
			c.crashed()

			c.start("")
			c.healthy()
			show := func() (int, map[string]any) {
				code, b := c.call("GET", c.image, "/v2/images/"+id, "", nil)
				var m map[string]any
				json.Unmarshal(b, &m)
				return code, m
			}
			c.eventually("image "+tt.after, func() bool {
				code, m := show()
				if tt.after == "deleted" {
					return code == 404
				}
				return m["status"] == tt.after
			})
			c.eventually("no staged data left", func() bool { return len(c.objects("staging")) == 0 })
			switch tt.after {
			case "queued": // the write can be done again
				if left := c.objects("data"); len(left) != 0 {
					t.Fatalf("data left without an owner: %v", left)
				}
				upload(payload)(c, id)
				fallthrough
			case "active":
				if _, m := show(); m["status"] != "active" || m["checksum"] != checksum {
					t.Fatalf("after recovery: %v", m)
				}
				code, got := c.call("GET", c.image, "/v2/images/"+id+"/file", "", nil)
				if code != 200 || !bytes.Equal(got, payload) {
					t.Fatalf("download: %d, %d bytes", code, len(got))
				}
				if left := c.objects("data"); len(left) != 1 {
					t.Fatalf("data objects: %v", left)
				}
			case "deleted":
				if left := c.objects("data"); len(left) != 0 {
					t.Fatalf("data of a deleted image left: %v", left)
				}
			}
			c.stop()
		})
	}
}

func upload(payload []byte) func(*crashCloud, string) {
	return func(c *crashCloud, id string) {
		c.call("PUT", c.image, "/v2/images/"+id+"/file", "application/octet-stream", payload)
	}
}

func stageImport(payload []byte) func(*crashCloud, string) {
	return func(c *crashCloud, id string) {
		c.must(204, "PUT", c.image, "/v2/images/"+id+"/stage", "application/octet-stream", payload)
		c.call("POST", c.image, "/v2/images/"+id+"/import", "application/json", []byte(`{"method":{"name":"glance-direct"}}`))
	}
}

// Zone creation and deletion killed at each point: the zone ends ACTIVE
// and served, or deleted with its name free again.
func TestCrashZoneWrites(t *testing.T) {
	tests := []struct {
		point  string
		delete bool
	}{
		{"dns.zone.created", false},
		{"dns.publish.serving", false},
		{"dns.zone.delete-marked", true},
		{"dns.publish.retiring", true},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			c := newCrashCloud(t)
			zone := []byte(`{"name":"crash.example.","email":"h@crash.example"}`)
			if tt.delete {
				c.start("")
				c.healthy()
				z := c.must(202, "POST", c.dnsAPI, "/v2/zones", "application/json", zone)
				c.eventually("zone active", func() bool { return c.zoneStatus(z["id"].(string)) == "ACTIVE" })
				c.stop()
				c.start(tt.point)
				c.healthy()
				c.call("DELETE", c.dnsAPI, "/v2/zones/"+z["id"].(string), "", nil)
			} else {
				c.start(tt.point)
				c.healthy()
				c.call("POST", c.dnsAPI, "/v2/zones", "application/json", zone)
			}
			c.crashed()

			c.start("")
			c.healthy()
			if tt.delete {
				c.eventually("zone gone", func() bool { return len(c.zones()) == 0 })
				if rc := c.soa(); rc != mdns.RcodeRefused {
					t.Fatalf("SOA after the deletion: %s", mdns.RcodeToString[rc])
				}
				c.must(202, "POST", c.dnsAPI, "/v2/zones", "application/json", zone) // the name is free
			} else {
				c.eventually("zone active", func() bool {
					zs := c.zones()
					return len(zs) == 1 && zs[0]["status"] == "ACTIVE"
				})
				if rc := c.soa(); rc != mdns.RcodeSuccess {
					t.Fatalf("SOA of the zone: %s", mdns.RcodeToString[rc])
				}
			}
			c.stop()
		})
	}
}

func (c *crashCloud) zones() []map[string]any {
	c.t.Helper()
	var l struct{ Zones []map[string]any }
	code, b := c.call("GET", c.dnsAPI, "/v2/zones", "", nil)
	if code != 200 || json.Unmarshal(b, &l) != nil {
		c.t.Fatalf("zone list: %d %s", code, b)
	}
	return l.Zones
}

func (c *crashCloud) zoneStatus(id string) string {
	for _, z := range c.zones() {
		if z["id"] == id {
			return z["status"].(string)
		}
	}
	return ""
}

// soa asks the DNS server for the test zone's SOA.
func (c *crashCloud) soa() int {
	c.t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion("crash.example.", mdns.TypeSOA)
	r, _, err := (&mdns.Client{Timeout: 2 * time.Second}).Exchange(m, c.dnsListen)
	if err != nil {
		c.t.Fatalf("dns: %v", err)
	}
	return r.Rcode
}

// The schema migrations killed after each applied migration, inside the
// one transaction that applies them all: the next start applies them all
// and the cloud works.
func TestCrashMigrations(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := newCrashCloud(t)
			c.start(fmt.Sprintf("sqlstore.migrate.applied:%d", n))
			c.crashed()
			c.start("")
			c.healthy()
			c.must(200, "GET", c.image, "/v2/images", "", nil)
			c.must(200, "GET", c.dnsAPI, "/v2/zones", "", nil)
			c.must(200, "GET", c.identity, "/v3/projects", "", nil)
			c.stop()
		})
	}
}
