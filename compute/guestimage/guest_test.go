package guestimage_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/compute/guestimage/guesttest"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// vm is the tiny image booted by qemu-system-x86_64 under TCG, with its
// serial console in a file and QMP on a unix socket.
type vm struct {
	t       *testing.T
	cmd     *exec.Cmd
	console string
	qmp     string
	start   time.Time
	exited  chan struct{}
}

func boot(t *testing.T, extra ...string) *vm {
	t.Helper()
	qemu := testenv.LookPath(t, "qemu-system-x86_64", "qemu-system-x86")
	img := guesttest.Image(t)
	dir := t.TempDir()
	v := &vm{t: t, console: filepath.Join(dir, "console.log"), qmp: filepath.Join(dir, "qmp.sock"), exited: make(chan struct{})}
	args := append([]string{"-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config", "-nographic",
		"-serial", "file:" + v.console, "-qmp", "unix:" + v.qmp + ",server=on,wait=off",
		"-drive", "file=" + img + ",format=raw,if=virtio,snapshot=on,readonly=off"}, extra...)
	v.cmd = exec.Command(qemu, args...)
	stderr, _ := v.cmd.StderrPipe()
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b, _ := io.ReadAll(stderr)
		if len(b) > 0 {
			t.Logf("qemu stderr: %s", b)
		}
		_ = v.cmd.Wait()
		close(v.exited)
	}()
	t.Cleanup(func() {
		_ = v.cmd.Process.Kill()
		<-v.exited
	})
	return v
}

// waitConsole waits for a console line containing want and returns the
// whole console so far.
func (v *vm) waitConsole(want string, d time.Duration) string {
	v.t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(v.console)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		select {
		case <-v.exited:
			v.t.Fatalf("qemu exited before %q; console:\n%s", want, b)
		default:
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("no %q on the console after %s; console:\n%s", want, d, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// command sends QMP commands (each a JSON object: {"execute": ...}) in
// order on a new connection, failing the test on any error.
func (v *vm) command(cmds ...string) {
	v.t.Helper()
	c, err := net.Dial("unix", v.qmp)
	if err != nil {
		v.t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // the greeting
		v.t.Fatal(err)
	}
	for _, cmd := range append([]string{`{"execute":"qmp_capabilities"}`}, cmds...) {
		fmt.Fprintln(c, cmd)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				v.t.Fatal(err)
			}
			if strings.Contains(line, `"return"`) {
				break
			}
			if strings.Contains(line, `"error"`) {
				v.t.Fatalf("%s: %s", cmd, line)
			}
		}
	}
}

// powerdown presses the ACPI power button over QMP and waits for QEMU to
// exit (the guest powered itself off).
func (v *vm) powerdown(d time.Duration) {
	v.t.Helper()
	v.command(`{"execute":"system_powerdown"}`)
	select {
	case <-v.exited:
	case <-time.After(d):
		b, _ := os.ReadFile(v.console)
		v.t.Fatalf("the guest did not power off within %s of the power button; console:\n%s", d, b)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The image boots with a config drive: it takes its hostname, keys and
// user data from it, answers HTTP, and powers off on the power button.
func TestBootConfigDrive(t *testing.T) {
	md := metadata.MetaData{UUID: "6b1c5ea8-0c3e-4b8e-9d6a-0123456789ab", Name: "Tiny One", Hostname: "tiny-1", ProjectID: "p1"}
	md.WithKeyPair("k1", "ssh", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFake k1")
	iso := filepath.Join(t.TempDir(), "config.iso")
	if err := metadata.ConfigDrive(context.Background(), iso, metadata.Drive{MetaData: md,
		UserData: []byte("#!/bin/sh\necho USERDATA-MARKER-$((40 + 2))\n")}); err != nil {
		if _, lerr := exec.LookPath("genisoimage"); lerr != nil {
			testenv.Missing(t, "genisoimage", "genisoimage")
		}
		t.Fatal(err)
	}
	port := freePort(t)
	v := boot(t, "-drive", "file="+iso+",format=raw,if=virtio,readonly=on",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80", port), "-device", "virtio-net-pci,netdev=n0")
	console := v.waitConsole("gostack-guest: ready", 3*time.Minute)
	t.Logf("qemu start to ready: %s", time.Since(v.start).Round(10*time.Millisecond))
	for _, want := range []string{
		"gostack-guest: metadata from config drive: uuid " + md.UUID,
		"gostack-guest: hostname tiny-1",
		"gostack-guest: ssh keys 1",
		"USERDATA-MARKER-42",
		"gostack-guest: user-data exit 0",
		"gostack-guest: ready hostname=tiny-1 addr=10.0.2.15/24",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}
	var body []byte
	for i := 0; i < 50; i++ { // the responder starts right after "ready"
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			body, _ = io.ReadAll(r.Body)
			r.Body.Close()
			if len(body) > 0 {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if string(body) != "tiny-1\n" {
		t.Errorf("HTTP answer %q, want the hostname", body)
	}
	v.powerdown(time.Minute)
	if b, _ := os.ReadFile(v.console); !strings.Contains(string(b), "gostack-guest: power button: powering off") {
		t.Errorf("no power-off line on the console:\n%s", b)
	}
}

// Without a config drive the guest asks the metadata service at
// 169.254.169.254 (here QEMU forwards that address to a server of the
// test's).
func TestBootMetadataService(t *testing.T) {
	testenv.LookPath(t, "busybox", "busybox")
	md := metadata.MetaData{UUID: "0d9f7c2e-54a4-4a43-8f0e-abcdefabcdef", Name: "from-service", Hostname: "svc-1.example.org"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openstack/latest/meta_data.json", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(md)
	})
	mux.HandleFunc("GET /openstack/latest/user_data", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "#!/bin/sh\necho FROM-THE-SERVICE\nexit 3\n")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()
	// One forwarder process per guest connection.
	fwd := fmt.Sprintf("guestfwd=tcp:169.254.169.254:80-cmd:busybox nc 127.0.0.1 %d", l.Addr().(*net.TCPAddr).Port)
	v := boot(t, "-netdev", "user,id=n0,net=169.254.0.0/16,"+fwd, "-device", "virtio-net-pci,netdev=n0")
	console := v.waitConsole("gostack-guest: ready", 3*time.Minute)
	for _, want := range []string{
		"gostack-guest: metadata from metadata service: uuid " + md.UUID,
		"gostack-guest: hostname svc-1",
		"FROM-THE-SERVICE",
		"gostack-guest: user-data exit 3",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	}
}

// A disk hot-plugged into the running guest is said with its serial
// (virtio-blk keeps 20 bytes of it), size and first bytes, and one
// unplugged is said to go; the boot disk is said at boot.
func TestDiskHotplug(t *testing.T) {
	data := []byte("gostack-disk-0123456789abcdef")
	path := filepath.Join(t.TempDir(), "volume.raw")
	if err := os.WriteFile(path, append(data, make([]byte, 1<<20-len(data))...), 0o600); err != nil {
		t.Fatal(err)
	}
	v := boot(t)
	console := v.waitConsole("gostack-guest: ready", 3*time.Minute)
	if !strings.Contains(console, "gostack-guest: disk vda at boot serial= size=") {
		t.Errorf("the boot disk is not said:\n%s", console)
	}
	const serial = "5e0a1c2d-3b4f-4a5e-8f70-9a1b2c3d4e5f" // a volume id: the guest sees 20 bytes of it
	start := time.Now()
	v.command(fmt.Sprintf(`{"execute":"blockdev-add","arguments":{"driver":"raw","node-name":"hp","file":{"driver":"file","filename":%q}}}`, path),
		`{"execute":"device_add","arguments":{"driver":"virtio-blk-pci","id":"hp","drive":"hp","serial":"`+serial+`"}}`)
	want := fmt.Sprintf("gostack-guest: disk vdb appeared serial=%s size=%d first=%x", serial[:20], 1<<20, data[:16])
	v.waitConsole(want, time.Minute)
	t.Logf("the guest said the disk %v after device_add", time.Since(start).Round(10*time.Millisecond))
	start = time.Now()
	v.command(`{"execute":"device_del","arguments":{"id":"hp"}}`)
	v.waitConsole("gostack-guest: disk vdb gone serial="+serial[:20], time.Minute)
	t.Logf("the guest said the disk went %v after device_del", time.Since(start).Round(10*time.Millisecond))
}
