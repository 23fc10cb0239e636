package allinone_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
)

// Image locations through the daemon, as an operator turns them on
// (image.show_multiple_locations, image.web_download_allow for a server
// on loopback): glanceclient adds a remote location with Keystone's
// token, the image is active from it, and after a restart its locations
// and data are still there.
func TestImageLocations(t *testing.T) {
	bin := testenv.LookPath(t, "glance", "python3-glanceclient")
	data := bytes.Repeat([]byte("remote image bytes. "), 4096)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cirros.img" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "cirros.img", time.Time{}, bytes.NewReader(data))
	}))
	defer web.Close()
	url := web.URL + "/cirros.img"

	cfg := testConfig(t, "")
	cfg.Image.ShowLocations, cfg.Image.ShowDirectURL = true, true
	cfg.Image.WebDownloadAllow = []string{"127.0.0.1/32"}
	d := start(t, cfg, cfg.id, cfg.img)
	g := &osc{t: t, bin: bin, env: append(openrcEnv(t, filepath.Join(cfg.DataDir, "openrc")), "OS_IMAGE_API_VERSION=2")}
	// A queued image (glance image-create would upload its stdin).
	tok := issueToken(t, d, "admin", adminPassword(t, cfg), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
	req, _ := http.NewRequest("POST", "http://"+d.addrs["image"]+"/v2/images", strings.NewReader(`{"name":"remote","disk_format":"raw","container_format":"bare"}`))
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]any
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	id, _ := created["id"].(string)
	if resp.StatusCode != http.StatusCreated || created["status"] != "queued" {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	out := g.must("location-add", "--url", url, "--metadata", `{"mirror":"local"}`, id)
	if !strings.Contains(out, "active") {
		t.Fatalf("location-add:\n%s", out)
	}

	show := func(d *daemon) (map[string]any, []byte) {
		tok := issueToken(t, d, "admin", adminPassword(t, cfg), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
		req, _ := http.NewRequest("GET", "http://"+d.addrs["image"]+"/v2/images/"+id, nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var img map[string]any
		json.NewDecoder(resp.Body).Decode(&img)
		resp.Body.Close()
		req, _ = http.NewRequest("GET", "http://"+d.addrs["image"]+"/v2/images/"+id+"/file", nil)
		req.Header.Set("X-Auth-Token", tok)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return img, b
	}
	check := func(when string, img map[string]any, got []byte) {
		t.Helper()
		locs, _ := img["locations"].([]any)
		if img["status"] != "active" || img["size"] != float64(len(data)) || len(locs) != 1 || img["direct_url"] != url {
			t.Fatalf("%s: %v", when, img)
		}
		if l := locs[0].(map[string]any); l["url"] != url || l["metadata"].(map[string]any)["mirror"] != "local" {
			t.Fatalf("%s: location %v", when, l)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes of data, want %d", when, len(got), len(data))
		}
	}
	img, got := show(d)
	check("before the restart", img, got)

	d.stop(t)
	d = start(t, cfg, cfg.id, cfg.img)
	img, got = show(d)
	check("after the restart", img, got)
}
