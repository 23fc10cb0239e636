package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The program serves, and the openstack CLI, configured only by the
// openrc it wrote, issues a token, uploads an image, lists it, and lists
// zones through the path-prefixed endpoints of the catalog.
func TestRun(t *testing.T) {
	bin, err := exec.LookPath("/usr/bin/openstack")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openstack CLI missing (python3-openstackclient): make test installs it")
		}
		t.Skip("openstack CLI missing (python3-openstackclient)")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-dns-listen", "127.0.0.1:0", "-data-dir", dir}, &out,
			func(addr string) { ready <- addr })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
	}()
	if !strings.Contains(out.String(), "http://"+addr) {
		t.Errorf("output: %s", out.String())
	}

	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	f, err := os.Open(filepath.Join(dir, "openrc"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if kv, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env = append(env, k+"="+strings.Trim(v, "'"))
		}
	}
	f.Close()
	if !strings.Contains(strings.Join(env, " "), "OS_AUTH_URL=http://"+addr+"/identity/v3") {
		t.Fatalf("openrc: %v", env)
	}
	osc := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "-f", "json")...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("openstack %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	var token struct {
		ID        string `json:"id"`
		ProjectID string `json:"project_id"`
	}
	json.Unmarshal([]byte(osc("token", "issue")), &token)
	if !strings.HasPrefix(token.ID, "gAAAAA") || token.ProjectID == "" {
		t.Fatalf("token issue: %+v", token)
	}
	disk := filepath.Join(t.TempDir(), "disk.raw")
	os.WriteFile(disk, bytes.Repeat([]byte{0}, 1<<16), 0o600)
	osc("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", disk, "tiny")
	var images []struct{ Name, Status string }
	json.Unmarshal([]byte(osc("image", "list")), &images)
	if len(images) != 1 || images[0].Name != "tiny" || images[0].Status != "active" {
		t.Fatalf("image list: %+v", images)
	}
	osc("zone", "create", "--email", "admin@example.org", "example.org.")
	var zones []struct{ Name string }
	json.Unmarshal([]byte(osc("zone", "list")), &zones)
	if len(zones) != 1 || zones[0].Name != "example.org." {
		t.Fatalf("zone list: %+v", zones)
	}
}
