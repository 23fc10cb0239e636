package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What Keystone under uwsgi needs, each with the Debian package that
// ships it (scripts/packages.txt lists them).
var keystoneNeeds = []struct{ path, pkg string }{
	{"/usr/bin/keystone-manage", "python3-keystone"},
	{"/usr/bin/keystone-wsgi-public", "python3-keystone"},
	{"/usr/bin/uwsgi", "uwsgi-core"},
	{"/usr/lib/uwsgi/plugins/python3_plugin.so", "uwsgi-plugin-python3"},
}

// keystoneMissing names the Debian packages Keystone under uwsgi still
// needs, or returns "" when all are installed.
func keystoneMissing() string {
	var pkgs []string
	for _, n := range keystoneNeeds {
		if _, err := os.Stat(n.path); err != nil && !strings.Contains(strings.Join(pkgs, " "), n.pkg) {
			pkgs = append(pkgs, n.pkg)
		}
	}
	return strings.Join(pkgs, " ")
}

// keystoneProcesses is Debian's keystone-uwsgi.ini's. Its 32 threads per
// process break on SQLite: SQLAlchemy's pool hands SQLite connections
// across threads (sqlite3.ProgrammingError in the log) and Keystone then
// refuses the token owner its own validation (403 on
// identity:validate_token) for up to half the requests, so the benchmark
// runs one thread per process unless told otherwise.
const keystoneProcesses, keystoneThreads = 8, 1

// keystoneConf is Keystone's default configuration but for the paths:
// SQLite, Fernet tokens, no cache backend.
const keystoneConf = `[database]
connection = sqlite:///%[1]s/keystone.db
[fernet_tokens]
key_repository = %[1]s/fernet-keys
[fernet_receipts]
key_repository = %[1]s/fernet-receipts
[credential]
key_repository = %[1]s/credential-keys
`

// keystoneINI is Debian's /etc/keystone/keystone-uwsgi.ini (package
// keystone 22), less what needs the installed service (apparmor, the
// keystone user, paste-logger, /var/log), on one loopback port, with the
// threads per process given.
const keystoneINI = `[uwsgi]
buffer-size = 65535
rem-header = Content-Length
master = true
thunder-lock = true
plugins = python3
lazy-apps = true
no-orphans = true
die-on-term = true
enable-threads = true
processes = %d
threads = %d
listen = 100
wsgi-file = /usr/bin/keystone-wsgi-public
http-socket = 127.0.0.1:%d
logto = %s/uwsgi.log
`

// keystoneServer is Keystone 22 served by uwsgi, started by startKeystone.
type keystoneServer struct {
	cmd      *exec.Cmd
	url      string
	password string
	dir      string
}

// startKeystone sets Keystone up in dir as keystone-manage does (db_sync,
// fernet_setup, credential_setup, bootstrap) and starts uwsgi under pin
// (taskset's arguments, or none). It returns once every worker has loaded
// the application.
func startKeystone(dir string, pin []string, threads int) (*keystoneServer, error) {
	conf := filepath.Join(dir, "keystone.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, keystoneConf, dir), 0o600); err != nil {
		return nil, err
	}
	k := &keystoneServer{password: "bench-keystone", dir: dir}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	k.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	for _, args := range [][]string{
		{"db_sync"},
		{"fernet_setup", "--keystone-user", strconv.Itoa(os.Getuid()), "--keystone-group", strconv.Itoa(os.Getgid())},
		{"credential_setup", "--keystone-user", strconv.Itoa(os.Getuid()), "--keystone-group", strconv.Itoa(os.Getgid())},
		{"bootstrap", "--bootstrap-password", k.password, "--bootstrap-region-id", "RegionOne",
			"--bootstrap-public-url", k.url + "/v3"},
	} {
		cmd := exec.Command("/usr/bin/keystone-manage", append([]string{"--config-file", conf}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("keystone-manage %s: %v\n%s", args[0], err, tail(out, 2000))
		}
	}
	ini := filepath.Join(dir, "uwsgi.ini")
	if err := os.WriteFile(ini, fmt.Appendf(nil, keystoneINI, keystoneProcesses, threads, port, dir), 0o600); err != nil {
		return nil, err
	}
	argv := append(append([]string{}, pin...), "/usr/bin/uwsgi", "--ini", ini)
	k.cmd = exec.Command(argv[0], argv[1:]...)
	k.cmd.Env = append(os.Environ(), "OS_KEYSTONE_CONFIG_FILES="+conf)
	// uwsgi ends its workers when it ends (die-on-term, no-orphans); it
	// ends with the benchmark even if the benchmark is killed.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := k.cmd.Start(); err != nil {
		return nil, err
	}
	if err := k.waitReady(3 * time.Minute); err != nil {
		k.stop()
		return nil, err
	}
	return k, nil
}

// waitReady waits until every uwsgi worker has loaded Keystone (lazy-apps
// loads it once per worker) and /v3 answers.
func (k *keystoneServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		log, _ := os.ReadFile(filepath.Join(k.dir, "uwsgi.log"))
		if n := bytes.Count(log, []byte("WSGI app 0 (mountpoint='') ready")); n >= keystoneProcesses {
			resp, err := http.Get(k.url + "/v3")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("keystone under uwsgi not ready after %v; its log ends:\n%s", limit, tail(log, 2000))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stop ends uwsgi (SIGTERM: it stops its workers) and waits for it.
func (k *keystoneServer) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { k.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		k.cmd.Process.Kill()
		<-done
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
