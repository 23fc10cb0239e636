package allinone_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// osc runs the real openstack CLI with env and returns its output.
type osc struct {
	t   *testing.T
	bin string
	env []string
}

func (o *osc) run(extraEnv []string, args ...string) (string, error) {
	o.t.Helper()
	cmd := exec.Command(o.bin, args...)
	cmd.Env = append(append([]string{"PATH=/usr/bin:/bin", "HOME=" + o.t.TempDir()}, o.env...), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

func (o *osc) must(args ...string) string {
	o.t.Helper()
	out, err := o.run(nil, args...)
	if err != nil {
		o.t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (o *osc) json(v any, args ...string) {
	o.t.Helper()
	out := o.must(append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		o.t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// openrcEnv reads the exports of the daemon's openrc file.
func openrcEnv(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env = append(env, k+"="+strings.Trim(v, "'"))
	}
	return env
}

// The client proof: python3-openstackclient against the
// all-in-one daemon, using nothing but the openrc it writes.
func TestOpenStackCLI(t *testing.T) {
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	cfg := testConfig(t, "")
	d := start(t, cfg, cfg.all()...)
	env := openrcEnv(t, filepath.Join(cfg.DataDir, "openrc"))
	o := &osc{t: t, bin: bin, env: env}

	var tok map[string]any
	o.json(&tok, "token", "issue")
	if tok["id"] == "" || tok["project_id"] == "" || tok["user_id"] == "" {
		t.Fatalf("token issue: %v", tok)
	}
	var cat []map[string]any
	o.json(&cat, "catalog", "list")
	types := map[string]bool{}
	for _, c := range cat {
		types[c["Type"].(string)] = true
	}
	if len(cat) != 6 || !types["identity"] || !types["image"] || !types["dns"] || !types["network"] || !types["placement"] || !types["compute"] {
		t.Fatalf("catalog list: %v", cat)
	}
	var eps []map[string]any
	o.json(&eps, "endpoint", "list", "--service", "identity")
	if len(eps) != 3 || !strings.Contains(eps[0]["URL"].(string), d.addrs["identity"]) {
		t.Fatalf("endpoint list: %v", eps)
	}

	var proj, user map[string]any
	o.json(&proj, "project", "create", "p1", "--description", "first")
	o.json(&user, "user", "create", "u1", "--password", "u1-pw", "--project", "p1")
	o.must("user", "set", "u1", "--description", "the first user")
	var shown map[string]any
	o.json(&shown, "user", "show", "u1")
	if shown["description"] != "the first user" || shown["default_project_id"] != proj["id"] {
		t.Fatalf("user show: %v", shown)
	}
	// Show by id as the openrc's project-scoped admin (stock Keystone 22
	// allows it through the deprecated rule).
	var byID map[string]any
	o.json(&byID, "project", "show", proj["id"].(string))
	if byID["name"] != "p1" || byID["description"] != "first" {
		t.Fatalf("project show by id: %v", byID)
	}
	o.must("role", "add", "--project", "p1", "--user", "u1", "member")
	var asg []map[string]any
	o.json(&asg, "role", "assignment", "list", "--user", "u1", "--names")
	if len(asg) != 1 || asg[0]["Role"] != "member" || asg[0]["Project"] != "p1@Default" {
		t.Fatalf("role assignment list: %v", asg)
	}

	// As u1: only p1 is visible, nothing else may be listed or created.
	asU1 := []string{"OS_USERNAME=u1", "OS_PASSWORD=u1-pw", "OS_PROJECT_NAME=p1"}
	out, err := o.run(asU1, "project", "list", "-f", "value", "-c", "Name")
	if err != nil || strings.TrimSpace(out) != "p1" {
		t.Fatalf("u1 project list: %q %v", out, err)
	}
	for _, args := range [][]string{{"user", "list"}, {"project", "create", "evil"}, {"role", "assignment", "list"}} {
		if out, err := o.run(asU1, args...); err == nil || !strings.Contains(out, "HTTP 403") {
			t.Errorf("u1 %v: want a 403, got %v %s", args, err, out)
		}
	}
	if out, err := o.run([]string{"OS_USERNAME=u1", "OS_PASSWORD=wrong", "OS_PROJECT_NAME=p1"}, "token", "issue"); err == nil || !strings.Contains(out, "HTTP 401") {
		t.Errorf("wrong password: want a 401, got %v %s", err, out)
	}

	// Application credential, then authenticate with it alone.
	var ac map[string]any
	o.json(&ac, "application", "credential", "create", "ci")
	acEnv := []string{"OS_AUTH_TYPE=v3applicationcredential", "OS_APPLICATION_CREDENTIAL_ID=" + ac["id"].(string),
		"OS_APPLICATION_CREDENTIAL_SECRET=" + ac["secret"].(string), "OS_USERNAME=", "OS_PASSWORD=", "OS_PROJECT_NAME="}
	out, err = o.run(acEnv, "token", "issue", "-f", "value", "-c", "project_id")
	if err != nil || strings.TrimSpace(out) != tok["project_id"] {
		t.Fatalf("token issue with the application credential: %q %v", out, err)
	}

	// Revoke a token: it stops working at once.
	var victim map[string]any
	o.json(&victim, "token", "issue")
	o.must("token", "revoke", victim["id"].(string))
	req, _ := http.NewRequest("GET", "http://"+d.addrs["identity"]+"/v3/auth/projects", nil)
	req.Header.Set("X-Auth-Token", victim["id"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}

	// Nothing secret reached the logs: passwords, tokens, the credential's
	// secret. (Requests are logged, at info level, one line each.)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	logs := d.logs.String()
	if !strings.Contains(logs, "http request") {
		t.Fatal("no request logs captured")
	}
	for what, secret := range map[string]string{
		"admin password": strings.TrimSpace(string(pw)), "user password": "u1-pw",
		"token": tok["id"].(string), "revoked token": victim["id"].(string),
		"application credential secret": ac["secret"].(string),
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("%s found in the logs", what)
		}
	}

	o.must("user", "delete", "u1")
	o.must("project", "delete", "p1")
	out = o.must("project", "list", "-f", "value", "-c", "Name")
	if strings.TrimSpace(out) != "admin" {
		t.Fatalf("project list after deletes: %q", out)
	}
}
