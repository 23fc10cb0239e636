package agent_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/agent"
	"github.com/gostack/gostack/compute/api/nova"
	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/qemu"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/identity/middleware/middlewaretest"
	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/internal/testenv"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"github.com/gostack/gostack/kit/watch/watchhttp"
)

// agentEnv carries an agent process's settings when the test binary
// re-executes itself as a host's agent (the crash tests kill it).
const agentEnv = "GOSTACK_TEST_COMPUTE_AGENT"

// agentSpec is what an agent process runs.
type agentSpec struct {
	Config  agent.Config
	Creds   kitagent.Credentials
	FeedURL string
	QemuDir string
	// RBDSecrets are the driver's cephx keyrings by secret uuid.
	RBDSecrets map[string]string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(agentEnv); spec != "" {
		os.Exit(runAgent(spec))
	}
	testenv.Main(m)
}

// runAgent is the agent process: it runs until SIGTERM (or its crash
// point).
func runAgent(spec string) int {
	var s agentSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := &agent.Agent{Config: s.Config, Session: kitagent.NewSession(s.Creds), FeedURL: s.FeedURL, Log: log}
	d, err := qemu.New(qemu.Config{StateDir: s.QemuDir, Accel: "tcg", Plug: a.Plug, Unplug: a.Unplug, Log: log,
		ShutdownTimeout: 60 * time.Second, RBDSecrets: s.RBDSecrets})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a.Driver = d
	if err := a.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}

const serviceToken = "token-compute-agent"

// controller is the controller side for a compute agent: the real
// compute store behind the real internal API (compute/api/nova), the
// compute feed, and a stand-in for Keystone that gives the agent its
// token and a catalog. Instances are placed with the store directly, as
// the builder would, and actions started as the API starts them.
type controller struct {
	t      *testing.T
	store  *compute.Store
	url    string
	creds  kitagent.Credentials
	nets   *fakeNetworks
	vols   *fakeVolumes
	images *fakeImages
	reqs   *requestLog
}

func newController(t *testing.T) *controller {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "ctl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		t.Fatal(err)
	}
	feed := watch.New(db, watch.WithPollInterval(50*time.Millisecond))
	c := &controller{t: t, store: compute.NewStore(db, feed), nets: &fakeNetworks{status: map[string]string{}}, vols: &fakeVolumes{},
		images: &fakeImages{images: map[string]fakeImage{}}, reqs: &requestLog{}}
	// No builder runs here to try another host: a failed build ends in
	// error at once (TestBuildFails turns rescheduling on).
	c.store.MaxBuildAttempts = 1
	tokens := middlewaretest.Tokens{serviceToken: middlewaretest.Caller("nova-agent", "service", "service")}
	mw := &middleware.Middleware{Validator: tokens, Style: httpapi.Nova, Optional: true}
	api := (&nova.API{Store: c.store, Networks: c.nets, Images: c.images, Volumes: c.vols, StagingDir: filepath.Join(t.TempDir(), "staging")}).Handler()
	mux := http.NewServeMux()
	mux.Handle("/", httpapi.RequestID(mw.Wrap(api)))
	mux.Handle("/v1/watch/compute", mw.Wrap(watchhttp.Handler{Log: feed, Area: "compute"}))
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Subject-Token", serviceToken)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
			"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"catalog": []any{map[string]any{"type": "compute", "endpoints": []any{
				map[string]any{"interface": "internal", "region_id": "RegionOne", "url": "http://" + r.Host + "/v2.1"}}}},
		}})
	})
	srv := httptest.NewServer(c.reqs.wrap(mux))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	c.creds = kitagent.Credentials{AuthURL: srv.URL + "/v3", Username: "nova-agent", Password: "secret"}
	return c
}

// requestLog records the agents' calls ("PUT /internal/...").
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// since returns the calls from mark on that contain all of parts.
func (l *requestLog) since(mark int, parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs[mark:] {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

func (l *requestLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// fakeNetworks is the network service: port statuses the test sets.
type fakeNetworks struct {
	mu     sync.Mutex
	status map[string]string
}

func (n *fakeNetworks) setStatus(port, status string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status[port] = status
}

func (n *fakeNetworks) Allocate(context.Context, string, string, string, []compute.NetworkRequest) ([]compute.InstancePort, error) {
	return nil, fault.New(fault.BadRequest, "not in this test")
}
func (n *fakeNetworks) Release(context.Context, string, []compute.InstancePort) error { return nil }
func (n *fakeNetworks) Usable(context.Context, string) ([]string, error)              { return nil, nil }
func (n *fakeNetworks) PortStatus(_ context.Context, ids []string) (map[string]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		if s, ok := n.status[id]; ok {
			out[id] = s
		} else {
			out[id] = "DOWN"
		}
	}
	return out, nil
}

// fakeImages is the image service: files served by id, with the
// checksum given (a wrong one to test the check), counting downloads.
type fakeImages struct {
	mu     sync.Mutex
	images map[string]fakeImage
	opens  map[string]int
	// hold, when set, holds every download until it is closed.
	hold chan struct{}
	// locations are the URLs of images' data (an RBD store's rbd://),
	// by id, which Open gives.
	locations map[string][]string
	// snapshots are the images made for snapshots, by id: the file of
	// their uploaded data (in dir), "" until then.
	snapshots map[string]string
	dir       string
}

type fakeImage struct {
	path, format, checksum string
}

// add serves the file at path as a new image; checksum "" is its MD5.
func (f *fakeImages) add(t *testing.T, path, format, checksum string) string {
	t.Helper()
	if checksum == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b)
		checksum = hex.EncodeToString(sum[:])
	}
	id := uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[id] = fakeImage{path: path, format: format, checksum: checksum}
	return id
}

func (f *fakeImages) downloads(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens[id]
}

func (f *fakeImages) Image(_ context.Context, _, id string) (compute.ImageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	im, ok := f.images[id]
	if !ok {
		return compute.ImageInfo{}, fault.New(fault.NotFound, "Image %s could not be found.", id)
	}
	fi, err := os.Stat(im.path)
	if err != nil {
		return compute.ImageInfo{}, err
	}
	return compute.ImageInfo{ID: id, Status: "active", DiskFormat: im.format, ContainerFormat: "bare", Size: fi.Size(), Checksum: im.checksum,
		Locations: f.locations[id]}, nil
}

func (f *fakeImages) Open(ctx context.Context, id string) (io.ReadCloser, compute.ImageInfo, error) {
	info, err := f.Image(ctx, "", id)
	if err != nil {
		return nil, info, err
	}
	f.mu.Lock()
	if f.opens == nil {
		f.opens = map[string]int{}
	}
	f.opens[id]++
	path, hold := f.images[id].path, f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, info, ctx.Err()
		}
	}
	r, err := os.Open(path)
	return r, info, err
}

var admin = compute.Viewer{Admin: true}

// place makes an instance of image on host, as the API and the builder
// would (building, then placed with task spawning); mod changes the
// instance before it is created.
func (c *controller) place(host, image string, ports []compute.InstancePort, mod func(*compute.Instance)) compute.Instance {
	c.t.Helper()
	ctx := context.Background()
	i := compute.Instance{UUID: uuid.NewString(), ProjectID: "proj", UserID: "user", Name: "vm", Hostname: "vm-agent-1",
		Flavor:   compute.InstanceFlavor{ID: "1", Name: "tiny", VCPUs: 1, MemoryMB: 256, RootGB: 1},
		ImageRef: image, KeyName: "key", KeyData: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdzdGFjayB0ZXN0IGtleSBkYXRhIGhlcmU= test",
		UserData:         base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho user-data-ran-$((6*7))\n")),
		AvailabilityZone: "nova", ConfigDrive: true}
	if mod != nil {
		mod(&i)
	}
	if _, err := c.store.CreateInstance(ctx, i); err != nil {
		c.t.Fatal(err)
	}
	if ports == nil {
		ports = []compute.InstancePort{}
	}
	placed, err := c.store.Place(ctx, i.UUID, host, host, ports)
	if err != nil {
		c.t.Fatal(err)
	}
	return placed
}

// action starts a server action as the API does.
func (c *controller) action(id, name string) {
	c.t.Helper()
	if _, err := c.store.StartAction(context.Background(), admin, id, name); err != nil {
		c.t.Fatalf("%s %s: %v", name, id, err)
	}
}

func (c *controller) instance(id string) (compute.Instance, error) {
	return c.store.Instance(context.Background(), admin, id)
}

// waitFor polls instance id until cond holds, at most limit.
func (c *controller) waitFor(id, what string, limit time.Duration, cond func(compute.Instance, error) bool) compute.Instance {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		i, err := c.instance(id)
		if cond(i, err) {
			return i
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("instance %s: not %s after %v: %+v %v", id, what, limit, brief(i), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitState waits for vm_state vm with no task and power state p.
func (c *controller) waitState(id string, vm compute.VMState, p compute.PowerState, limit time.Duration) compute.Instance {
	c.t.Helper()
	return c.waitFor(id, fmt.Sprintf("%s/%d", vm, p), limit, func(i compute.Instance, err error) bool {
		if err == nil && i.VMState == compute.Error && vm != compute.Error {
			c.t.Fatalf("instance %s in error: %+v", id, i.Fault)
		}
		return err == nil && i.VMState == vm && i.TaskState == compute.NoTask && i.PowerState == p
	})
}

func (c *controller) waitGone(id string, limit time.Duration) {
	c.t.Helper()
	c.waitFor(id, "deleted", limit, func(_ compute.Instance, err error) bool { return fault.KindOf(err) == fault.NotFound })
}

func brief(i compute.Instance) string {
	return fmt.Sprintf("vm_state=%s task_state=%q power_state=%d fault=%+v", i.VMState, i.TaskState, i.PowerState, i.Fault)
}

// console is the console tail the controller holds for id.
func (c *controller) console(id string) string {
	b, _ := c.store.Console(context.Background(), admin, id)
	return string(b)
}

// host is a compute host: its agent's and its driver's state
// directories, and the agent running in-process (start) or as a process
// of its own (startProcess).
type host struct {
	c            *controller
	name         string
	dir, qemuDir string
	logs         *apitest.Buffer
	cfg          agent.Config
	driver       *qemu.Driver
	agent        *agent.Agent
	stop         func()
	firstSync    chan struct{}
	mods         []func(*agent.Agent)
	// rbdSecrets are the driver's cephx keyrings by secret uuid.
	rbdSecrets map[string]string
	// ended is how the last process of spawnProcess ended.
	ended *os.ProcessState
}

// newHost makes a host's directories (short ones: QEMU's sockets are
// under qemuDir) and, at the test's end, destroys every guest left in
// them.
func (c *controller) newHost(name string, mod ...func(*agent.Agent)) *host {
	t := c.t
	testenv.LookPath(t, "qemu-system-x86_64", "qemu-system-x86")
	testenv.LookPath(t, "qemu-img", "qemu-utils")
	testenv.LookPath(t, "genisoimage", "genisoimage")
	root, err := os.MkdirTemp("/tmp", "cag")
	if err != nil {
		t.Fatal(err)
	}
	h := &host{c: c, name: name, dir: filepath.Join(root, "a"), qemuDir: filepath.Join(root, "q"), logs: &apitest.Buffer{}, mods: mod,
		cfg: agent.Config{Host: name, SyncInterval: time.Second, ReportInterval: time.Second, ShutdownTimeout: 60 * time.Second}}
	h.cfg.StateDir = h.dir
	t.Cleanup(func() {
		os.RemoveAll(root)
	})
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("GOSTACK_AGENT_LOGS") != "" {
			t.Logf("agent of %s:\n%s", name, h.logs)
		}
		h.destroyAll()
	})
	return h
}

// destroyAll destroys the guests left in the host's driver directory,
// and kills by pid any QEMU still carrying their uuids.
func (h *host) destroyAll() {
	d, err := qemu.New(qemu.Config{StateDir: h.qemuDir, Accel: "tcg"})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	guests, _ := d.List(ctx)
	for _, g := range guests {
		if err := d.Destroy(ctx, g.ID); err != nil {
			h.c.t.Errorf("clean-up: destroy %s: %v", g.ID, err)
		}
		if pid := qemuPid(h.qemuDir, g.ID); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// start runs the host's agent in-process until the test ends or stop.
func (h *host) start() {
	t := h.c.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	first := make(chan struct{})
	var once sync.Once
	a := &agent.Agent{Config: h.cfg, Session: kitagent.NewSession(h.c.creds), FeedURL: h.c.url + "/v1/watch/compute", Log: log,
		Synced: func(agent.SyncStats) { once.Do(func() { close(first) }) }}
	for _, m := range h.mods {
		m(a)
	}
	if a.Driver == nil { // not a fake's
		d, err := qemu.New(qemu.Config{StateDir: h.qemuDir, Accel: "tcg", Plug: a.Plug, Unplug: a.Unplug, Log: log,
			ShutdownTimeout: 60 * time.Second, RBDSecrets: h.rbdSecrets})
		if err != nil {
			t.Fatal(err)
		}
		a.Driver, h.driver = d, d
	}
	h.agent, h.firstSync = a, first
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var stopOnce sync.Once
	h.stop = func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(90 * time.Second):
				t.Errorf("the agent of %s did not stop", h.name)
			}
		})
	}
	t.Cleanup(h.stop)
}

// waitFirstSync waits for the running agent's first Sync.
func (h *host) waitFirstSync() {
	h.c.t.Helper()
	select {
	case <-h.firstSync:
	case <-time.After(time.Minute):
		h.c.t.Fatalf("no first sync of %s's agent:\n%s", h.name, h.logs)
	}
}

// startProcess runs the host's agent as a process of its own, with env
// (a crash point), and returns a channel closed when it has exited.
func (h *host) startProcess(env ...string) <-chan struct{} {
	exited, _ := h.spawnProcess(env...)
	return exited
}

// spawnProcess is startProcess that also returns what kills the
// process and waits for it to end.
func (h *host) spawnProcess(env ...string) (<-chan struct{}, func()) {
	t := h.c.t
	t.Helper()
	spec, _ := json.Marshal(agentSpec{Config: h.cfg, Creds: h.c.creds, FeedURL: h.c.url + "/v1/watch/compute", QemuDir: h.qemuDir,
		RBDSecrets: h.rbdSecrets})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), agentEnv+"="+string(spec)), env...)
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); h.ended = cmd.ProcessState; close(exited) }()
	kill := func() {
		cmd.Process.Kill()
		<-exited
	}
	t.Cleanup(kill)
	return exited, kill
}

// waitKilled waits (2 minutes at most) for a process of startProcess
// with a crash point armed to kill itself there (SIGKILL); one that ends
// otherwise (librbd's abort, a panic) fails the test, saying so.
func (h *host) waitKilled(t *testing.T, exited <-chan struct{}, point string) {
	t.Helper()
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the agent did not reach %s:\n%s", point, h.logs)
	}
	if ws, ok := h.ended.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the agent ended (%v) before it was killed at %s:\n%s", h.ended, point, h.logs)
	}
}

// qemuPid is the pid of guest id's QEMU, 0 when none runs.
func qemuPid(qemuDir, id string) int {
	b, err := os.ReadFile(filepath.Join(qemuDir, id, "qemu.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte("\x00-uuid\x00"+id+"\x00")) {
		return 0
	}
	return pid
}

// guestImage serves the tiny guest image (raw) as a new image.
func (c *controller) guestImage() string {
	return c.images.add(c.t, guesttest.Image(c.t), "raw", "")
}
