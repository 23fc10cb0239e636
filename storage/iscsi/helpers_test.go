package iscsi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage/iscsi"
)

// lab is a private tgtd on 127.0.0.1, on a free portal port and a
// control port of its own (never tgt's default 0), started through the
// package's Exporter and stopped by pid when the test ends, with a Files
// directory for the volumes.
type lab struct {
	t     testing.TB
	e     *iscsi.Exporter
	files iscsi.Files
	logs  *syncBuffer

	mu      sync.Mutex
	secrets []string // every password exported: in no log
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if testenv.CI() {
			t.Fatal("storage/iscsi tests need root (tgtd) [CI=true: integration tests may not skip]")
		}
		t.Skip("needs root: tgtd")
	}
}

// tools are the programs the integration tests run.
type tools struct {
	tgtd, tgtadm, qemuImg, inq, readcap string
}

func needTools(t testing.TB) tools {
	t.Helper()
	needRoot(t)
	tl := tools{
		tgtd:    testenv.LookPath(t, "tgtd", "tgt"),
		tgtadm:  testenv.LookPath(t, "tgtadm", "tgt"),
		qemuImg: testenv.LookPath(t, "qemu-img", "qemu-utils"),
		inq:     testenv.LookPath(t, "iscsi-inq", "libiscsi-bin"),
		readcap: testenv.LookPath(t, "iscsi-readcapacity16", "libiscsi-bin"),
	}
	// QEMU's iscsi:// driver is a module of its own.
	mods, _ := filepath.Glob("/usr/lib/*/qemu/block-iscsi.so")
	if len(mods) == 0 {
		testenv.Missing(t, "QEMU's iscsi block driver (block-iscsi.so)", "qemu-block-extra")
	}
	return tl
}

func newLab(t testing.TB) *lab {
	t.Helper()
	tl := needTools(t)
	logs := &syncBuffer{}
	base := t.TempDir()
	l := &lab{
		t: t,
		e: &iscsi.Exporter{
			Dir:         filepath.Join(base, "tgt"),
			ControlPort: freeControlPort(t),
			Portal:      netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t)),
			Tgtd:        tl.tgtd,
			Tgtadm:      tl.tgtadm,
			Log:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		files: iscsi.Files{Dir: filepath.Join(base, "volumes")},
		logs:  logs,
	}
	start := time.Now()
	if err := l.e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("tgtd started in %v (control port %d, portal %s)", time.Since(start).Round(time.Millisecond), l.e.ControlPort, l.e.Portal)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := l.e.Stop(ctx); err != nil {
			t.Errorf("stop tgtd: %v", err)
		}
		if pid, ok := l.e.PID(); ok {
			t.Errorf("tgtd %d still runs after Stop", pid)
		}
		tgtdLog, _ := os.ReadFile(filepath.Join(l.e.Dir, "tgtd.log"))
		state, _ := os.ReadFile(filepath.Join(l.e.Dir, "exports.json"))
		for _, p := range l.secrets {
			if strings.Contains(logs.String(), p) || strings.Contains(string(tgtdLog), p) || strings.Contains(string(state), p) {
				t.Errorf("a password is in the Exporter's log, tgtd.log or exports.json")
				break
			}
		}
		if t.Failed() {
			t.Logf("exporter log:\n%s", logs.String())
			if b, err := os.ReadFile(filepath.Join(l.e.Dir, "tgtd.log")); err == nil {
				t.Logf("tgtd.log:\n%s", b)
			}
		}
	})
	return l
}

// volume creates a volume file of size bytes.
func (l *lab) volume(id string, size int64) string {
	l.t.Helper()
	p, err := l.files.Create(context.Background(), id, size)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// export exports volume id, whose file must exist, and checks that no
// log line holds its password.
func (l *lab) export(x iscsi.Export) iscsi.Connection {
	l.t.Helper()
	c, err := l.e.Export(context.Background(), x)
	if err != nil {
		l.t.Fatal(err)
	}
	l.secret(c.CHAP.Password)
	return c
}

// secret adds a password that must be in no log.
func (l *lab) secret(password string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, password)
}

func (l *lab) targets() []iscsi.Target {
	l.t.Helper()
	ts, err := l.e.Targets(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	return ts
}

func (l *lab) target(iqn string) (iscsi.Target, bool) {
	l.t.Helper()
	for _, t := range l.targets() {
		if t.IQN == iqn {
			return t, true
		}
	}
	return iscsi.Target{}, false
}

// accounts lists tgtd's CHAP accounts (tgtadm --mode account --op show).
func (l *lab) accounts() []string {
	l.t.Helper()
	out := l.tgtadm("--mode", "account", "--op", "show")
	var users []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "    ") {
			users = append(users, strings.TrimSpace(line))
		}
	}
	return users
}

// tgtadm runs tgtadm on the lab's tgtd behind the Exporter's back.
func (l *lab) tgtadm(args ...string) string {
	l.t.Helper()
	full := append([]string{"-C", strconv.Itoa(l.e.ControlPort), "--lld", "iscsi"}, args...)
	out, err := exec.Command(l.e.Tgtadm, full...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("tgtadm %s: %v: %s", strings.Join(args[:4], " "), err, out)
	}
	return string(out)
}

// login runs iscsi-inq on the LUN of url as initiator name initiator
// ("" = libiscsi's default) and returns its error and output.
func login(url, initiator string) (string, error) {
	args := []string{url}
	if initiator != "" {
		args = []string{"-i", initiator, url}
	}
	out, err := exec.Command("iscsi-inq", args...).CombinedOutput()
	return string(out), err
}

// url is c's libiscsi URL with other credentials.
func url(c iscsi.Connection, user, password string) string {
	c.CHAP = iscsi.CHAP{Username: user, Password: password}
	if user == "" {
		return fmt.Sprintf("iscsi://%s/%s/%d", c.Portal, c.IQN, c.LUN)
	}
	return c.URL()
}

// capacity is the LUN's size in bytes as READ CAPACITY(16) reports it.
func capacity(t *testing.T, c iscsi.Connection) int64 {
	t.Helper()
	out, err := exec.Command("iscsi-readcapacity16", "-s", c.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("iscsi-readcapacity16 %s: %v: %s", c, err, out)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("iscsi-readcapacity16: %q", out)
	}
	return n
}

// writeLUN writes src to the start of the LUN through QEMU's initiator.
func writeLUN(t *testing.T, c iscsi.Connection, src string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src, c.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img convert to %s: %v: %s", c, err, out)
	}
}

// readLUN reads the whole LUN through QEMU's initiator.
func readLUN(t *testing.T, c iscsi.Connection) []byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "read.raw")
	out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "raw", c.URL(), dst).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img convert from %s: %v: %s", c, err, out)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// randomFile writes n random bytes to a new file and returns its path
// and contents.
func randomFile(t *testing.T, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "pattern.raw")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// checkData fails unless got is want followed by zeros up to size.
func checkData(t *testing.T, what string, got, want []byte, size int) {
	t.Helper()
	if len(got) != size {
		t.Fatalf("%s: %d bytes, want %d", what, len(got), size)
	}
	if !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("%s: the pattern written does not read back", what)
	}
	if !bytes.Equal(got[len(want):], make([]byte, size-len(want))) {
		t.Fatalf("%s: bytes after the pattern are not zero", what)
	}
}

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// freeControlPort is a tgtd control port no tgtd answers on: random in
// 20000..32767 (tgt's default is 0; others' tgtds are left alone).
func freeControlPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		n, _ := rand.Int(rand.Reader, big.NewInt(12768))
		port := 20000 + int(n.Int64())
		sock := "/var/run/tgtd/socket." + strconv.Itoa(port)
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			continue
		}
		return port
	}
	t.Fatal("no free tgtd control port")
	return 0
}

// uuid is a random lower-case UUID, as Cinder's volume ids.
func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
