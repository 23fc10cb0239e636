package allinone_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
)

// make run's default image: the tiny guest image is built (here from the
// machine's shared cache) and uploaded once as the public gostack-tiny;
// a second start finds it and uploads nothing.
func TestGuestImageUpload(t *testing.T) {
	guesttest.Image(t) // the tools, and a warm cache
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	cfg.Compute.GuestImage = true
	cfg.Compute.GuestImageDir = guesttest.Dir
	for run := range 2 {
		d := start(t, cfg, cfg.all()...)
		token := issueToken(t, d, "admin", adminPassword(t, cfg), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
		// The uploader is done (it logs the image ready, also when it found
		// it there): then there is exactly one.
		eventually(t, "the guest image ready", func() bool { return strings.Contains(d.logs.String(), "guest image ready") })
		var images []any
		eventually(t, "gostack-tiny active", func() bool {
			req, _ := http.NewRequest("GET", "http://"+d.addrs["image"]+"/v2/images?name=gostack-tiny", nil)
			req.Header.Set("X-Auth-Token", token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var body map[string]any
			if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
				return false
			}
			images, _ = body["images"].([]any)
			return len(images) == 1 && images[0].(map[string]any)["status"] == "active"
		})
		img := images[0].(map[string]any)
		if img["visibility"] != "public" || img["disk_format"] != "raw" || img["size"].(float64) < 1<<20 {
			t.Fatalf("run %d: %v", run, img)
		}
		d.stop(t)
	}
}
