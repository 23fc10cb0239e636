// Command image measures the image service: an upload through the Glance
// API of the all-in-one daemon (inspection, md5 + sha512, fsync) against
// cat of the same file to the same disk, in the same run, as a ratio; the
// hash throughput of image/store's Digest; and how little of a 10 GiB
// sparse qcow2 the inspector reads. Run it with bench/image/run.
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/gostack/gostack/bench/internal/atexit"
	"github.com/gostack/gostack/bench/internal/randfile"
	identityarea "github.com/gostack/gostack/identity/area"
	imagearea "github.com/gostack/gostack/image/area"
	"github.com/gostack/gostack/image/format"
	"github.com/gostack/gostack/image/store"
	"github.com/gostack/gostack/kit/compose"
)

func main() {
	sizeMiB := flag.Int64("size", 2048, "image size in MiB")
	rounds := flag.Int("rounds", 2, "rounds of cat and upload (the best of each is kept)")
	dir := flag.String("dir", "", "working directory (default: a temporary directory under /var/tmp)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the uploads to this file")
	flag.StringVar(&client, "client", "go", "the uploading client: go (this process's net/http, which sends with sendfile) or curl (a process of its own, as a user's client)")
	flag.Parse()
	// Cut short — its output piped into head, ^C, a kill — it still stops
	// Glance and removes its files.
	atexit.OnSignals()
	defer atexit.Run()
	if client != "go" && client != "curl" {
		atexit.Fatalf("-client %q: want go or curl", client)
	}
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("/var/tmp", "bench-image-"); err != nil {
			atexit.Fatal(err)
		}
		atexit.Add(func() { os.RemoveAll(work) })
	}
	size := *sizeMiB << 20
	src := filepath.Join(work, "source.raw")
	if err := randfile.Write(src, size, 1); err != nil {
		atexit.Fatal(err)
	}

	api, token := startDaemon(filepath.Join(work, "daemon"))
	glanceAPI, glancePID, stopGlance := startGlance(filepath.Join(work, "glance"))
	atexit.Add(stopGlance)
	var catBest, upBest, glanceBest time.Duration
	var upCPU, glanceCPU time.Duration // the server's CPU time in the best upload
	var clientCPU time.Duration        // curl's in gostack's best upload
	var limit, diskLimit float64       // the best hash-bound limits, measured in each round
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			atexit.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for i := 0; i < *rounds; i++ {
		c := catTime(src, filepath.Join(work, "copy.raw"))
		cpu0 := selfCPU()
		u := uploadTime(api, token, src, size)
		if cpu := selfCPU() - cpu0; upBest == 0 || u < upBest {
			upCPU, clientCPU = cpu, lastClientCPU
		}
		if glanceAPI != "" {
			// Glance in the same round, right after: pairs alternated.
			cpu0 := groupCPU(glancePID)
			g := uploadTime(glanceAPI, "", src, size)
			if glanceBest == 0 || g < glanceBest {
				glanceBest, glanceCPU = g, groupCPU(glancePID)-cpu0
			}
		}
		limit = max(limit, hashLimit())
		diskLimit = max(diskLimit, hashDiskLimit(work))
		if catBest == 0 || c < catBest {
			catBest = c
		}
		if upBest == 0 || u < upBest {
			upBest = u
		}
	}
	mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	fmt.Printf("Upload of a %d MiB raw image, same disk, best of %d rounds (each: cat, gostack, Glance, the hash-bound limit), client %s\n\n", *sizeMiB, *rounds, client)
	fmt.Printf("%-52s %10s %10s %12s\n", "", "seconds", "MB/s", "server CPU s")
	fmt.Printf("%-52s %10.2f %10.0f\n", "cat source > copy; fsync", catBest.Seconds(), mbps(catBest))
	fmt.Printf("%-52s %10.2f %10.0f %12.2f\n", "PUT /v2/images/{id}/file (inspect, md5+sha512, fsync)", upBest.Seconds(), mbps(upBest), upCPU.Seconds())
	if glanceBest > 0 {
		fmt.Printf("%-52s %10.2f %10.0f %12.2f\n", "Glance 25: PUT /v2/images/{id}/file (filesystem store)", glanceBest.Seconds(), mbps(glanceBest), glanceCPU.Seconds())
	}
	if client == "go" {
		fmt.Printf("(gostack's server CPU includes the in-process client's; -client curl separates them)\n")
	}
	fmt.Printf("\nratio upload/cat: %.2f (goal >= 0.8)\n", catBest.Seconds()/upBest.Seconds())
	if glanceBest > 0 {
		fmt.Printf("ratio upload/Glance: %.2f (goal >= 1.5)\n", glanceBest.Seconds()/upBest.Seconds())
	}
	fmt.Println()

	// What the upload costs in CPU, the server's and the client's,
	// spread over every core: no upload on this machine is faster.
	floor := (upCPU + clientCPU).Seconds() / float64(runtime.NumCPU())
	fmt.Printf("CPU floor of gostack's best upload: (server %.2f s + client %.2f s) / %d cores = %.2f s; ratio floor/upload: %.2f\n\n",
		upCPU.Seconds(), clientCPU.Seconds(), runtime.NumCPU(), floor, floor/upBest.Seconds())

	hashes(limit, diskLimit)
	fmt.Printf("ratio upload/hash-bound (both hashes at once, nothing else): %.2f (goal >= 0.8)\n", mbps(upBest)/limit)
	fmt.Printf("ratio upload/hash-bound with the disk (the hashes beside the write): %.2f\n\n", mbps(upBest)/diskLimit)
	sparse(work)
}

func catTime(src, dst string) time.Duration {
	os.Remove(dst)
	start := time.Now()
	cmd := exec.Command("sh", "-c", `cat "$1" > "$2" && sync "$2"`, "sh", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		atexit.Fatalf("cat: %v %s", err, out)
	}
	d := time.Since(start)
	os.Remove(dst)
	return d
}

// startDaemon runs the all-in-one daemon in this process on free ports
// and returns the image API's URL and an admin token.
func startDaemon(dataDir string) (string, string) {
	id := identityarea.New()
	id.Config.PasswordRounds = 4
	d := compose.New(id, imagearea.New())
	d.Config.DataDir = dataDir
	d.Config.Log.Level = "warn"
	ls := map[string]net.Listener{}
	for _, name := range []string{"admin", "identity", "image"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			atexit.Fatal(err)
		}
		ls[name] = l
	}
	ready := make(chan map[string]string, 1)
	d.Listeners, d.LogOutput, d.Ready = ls, io.Discard, func(a map[string]string) { ready <- a }
	go func() { atexit.Fatal(d.Run(context.Background())) }()
	addrs := <-ready
	pw, err := os.ReadFile(filepath.Join(dataDir, "admin-password"))
	if err != nil {
		atexit.Fatal(err)
	}
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},
		"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post("http://"+addrs["identity"]+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		atexit.Fatalf("token: %v %v", resp, err)
	}
	resp.Body.Close()
	return "http://" + addrs["image"], resp.Header.Get("X-Subject-Token")
}

func call(method, url, token, ctype string, body io.Reader, size int64, want int) []byte {
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", ctype)
	if size >= 0 {
		req.ContentLength = size
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		atexit.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		atexit.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return b
}

// client is the -client flag.
var client string

// lastClientCPU is the CPU time of the last upload's curl (0 with the Go
// client, whose CPU is this process's).
var lastClientCPU time.Duration

func uploadTime(api, token, src string, size int64) time.Duration {
	b := call("POST", api+"/v2/images", token, "application/json",
		strings.NewReader(`{"name":"bench","disk_format":"raw","container_format":"bare"}`), -1, http.StatusCreated)
	var img struct{ ID string }
	json.Unmarshal(b, &img)
	f, err := os.Open(src)
	if err != nil {
		atexit.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if client == "curl" {
		cmd := exec.Command("curl", "-sS", "-f", "-X", "PUT", "-H", "X-Auth-Token: "+token, "-H", "Content-Type: application/octet-stream",
			"-H", "Expect:", "-T", src, api+"/v2/images/"+img.ID+"/file")
		out, err := cmd.CombinedOutput()
		if err != nil {
			atexit.Fatalf("curl: %v %s", err, out)
		}
		lastClientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	} else {
		call("PUT", api+"/v2/images/"+img.ID+"/file", token, "application/octet-stream", f, size, http.StatusNoContent)
	}
	d := time.Since(start)
	call("DELETE", api+"/v2/images/"+img.ID, token, "", nil, -1, http.StatusNoContent)
	return d
}

// hashMiB is what each hash measurement hashes, in 1 MiB writes.
const hashMiB = 512

var hashBuf = bytes.Repeat([]byte{0x5a}, 1<<20)

// hashMBps is the MB/s of f hashing hashMiB.
func hashMBps(f func()) float64 {
	start := time.Now()
	f()
	return hashMiB * float64(len(hashBuf)) / time.Since(start).Seconds() / 1e6
}

func hashAll(w io.Writer) {
	for range hashMiB {
		w.Write(hashBuf)
	}
}

// hashLimit is the hash-bound limit of an upload on two cores: md5 and
// sha512 hashing at once on two goroutines with nothing else to do (the
// slower hash, with the other beside it), in MB/s.
func hashLimit() float64 {
	return hashMBps(func() {
		done := make(chan bool)
		go func() { hashAll(md5.New()); done <- true }()
		hashAll(sha512.New())
		<-done
	})
}

// hashDiskLimit is the hash-bound limit with the disk: md5 and sha512
// hashing at once while the same number of bytes is written with
// O_DIRECT to a file in dir, as an upload must write them (on this
// machine the disk's writes take CPU time from the hashes), in MB/s.
func hashDiskLimit(dir string) float64 {
	path := filepath.Join(dir, "limit.raw")
	defer os.Remove(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|syscall.O_DIRECT, 0o600)
	if err != nil {
		atexit.Fatal(err)
	}
	defer f.Close()
	// O_DIRECT wants an aligned buffer: a 1 MiB-aligned slice of a larger one.
	raw := make([]byte, 2<<20)
	off := int((1<<20 - uintptr(unsafe.Pointer(&raw[0]))%(1<<20)) % (1 << 20))
	block := raw[off : off+1<<20]
	return hashMBps(func() {
		done := make(chan bool, 2)
		go func() { hashAll(md5.New()); done <- true }()
		go func() {
			for range hashMiB {
				if _, err := f.Write(block); err != nil {
					atexit.Fatal(err)
				}
			}
			done <- true
		}()
		hashAll(sha512.New())
		<-done
		<-done
	})
}

// hashes prints MB/s of md5 and sha512 alone (one core each), the best
// limit measured (in each round, beside the uploads) and image/store's
// Digest.
func hashes(limit, diskLimit float64) {
	d, _ := store.NewDigest("sha512")
	fmt.Printf("Hash throughput, %d MiB in 1 MiB writes\n\n", hashMiB)
	fmt.Printf("%-52s %10.0f MB/s\n", "md5 (one core)", hashMBps(func() { hashAll(md5.New()) }))
	fmt.Printf("%-52s %10.0f MB/s\n", "sha512 (one core)", hashMBps(func() { hashAll(sha512.New()) }))
	fmt.Printf("%-52s %10.0f MB/s\n", "md5 and sha512 at once, two goroutines (the limit)", limit)
	fmt.Printf("%-52s %10.0f MB/s\n", "the same beside an O_DIRECT write of as many bytes", diskLimit)
	fmt.Printf("%-52s %10.0f MB/s\n\n", "store.Digest (both, in step at every write)", hashMBps(func() { hashAll(d) }))
}

// sparse inspects a 10 GiB qcow2 made by qemu-img.
func sparse(work string) {
	path := filepath.Join(work, "sparse.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", path, "10G").CombinedOutput(); err != nil {
		atexit.Fatalf("qemu-img: %v %s", err, out)
	}
	start := time.Now()
	r, err := format.InspectFile(context.Background(), path)
	if err != nil {
		atexit.Fatal(err)
	}
	fmt.Printf("Inspecting a 10 GiB sparse qcow2 (file of %d bytes)\n\n", r.Size)
	fmt.Printf("format %s, virtual size %d, bytes read %d, in %v\n", r.Format, r.VirtualSize, r.BytesRead, time.Since(start).Round(time.Microsecond))
}

// selfCPU is this process's CPU time (user + system) so far: gostack's
// server, and the client when it is this process's.
func selfCPU() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// groupCPU is the CPU time (user + system) so far of the processes in
// process group pgid (Glance's parent and worker), from /proc.
func groupCPU(pgid int) time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// glancePaste is Debian's glance-common paste file; its glance-api
// pipeline is the one without authentication.
const glancePaste = "/usr/share/glance-common/glance-api-paste.ini"

// startGlance runs Glance 25's API (Debian's python3-glance under
// /usr/bin/python3: one worker, SQLite, a filesystem store, no
// authentication) on a free loopback port and returns its URL and how
// to stop it; "" when Glance is not installed (it says which packages).
func startGlance(dir string) (string, int, func()) {
	if _, err := os.Stat(glancePaste); err != nil {
		fmt.Printf("Glance: skipped (install glance-common and python3-glance for the comparison)\n\n")
		return "", 0, func() {}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		atexit.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "glance-api.conf")
	for _, d := range []string{"images", "staging", "tasks"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			atexit.Fatal(err)
		}
	}
	body := fmt.Sprintf(`[DEFAULT]
bind_host = 127.0.0.1
bind_port = %d
workers = 1
enabled_backends = fs:file
[database]
connection = sqlite:///%s/glance.db
[paste_deploy]
config_file = %s
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = %s/images/
[os_glance_staging_store]
filesystem_store_datadir = %s/staging/
[os_glance_tasks_store]
filesystem_store_datadir = %s/tasks/
`, port, dir, glancePaste, dir, dir, dir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		atexit.Fatal(err)
	}
	py := func(module, name string) *exec.Cmd {
		return exec.Command("/usr/bin/python3", "-c", fmt.Sprintf(
			"import sys; sys.argv = [%q, '--config-file', %q] + sys.argv[1:]; from %s import main; main()", name, conf, module))
	}
	sync := py("glance.cmd.manage", "glance-manage")
	sync.Args = append(sync.Args, "db_sync")
	if out, err := sync.CombinedOutput(); err != nil {
		atexit.Fatalf("glance-manage db_sync: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "api.log"))
	if err != nil {
		atexit.Fatal(err)
	}
	api := py("glance.cmd.api", "glance-api")
	api.Stdout, api.Stderr = logf, logf
	// Its own process group, so that its worker is stopped with it; killed
	// with this process even when this one is killed.
	api.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := api.Start(); err != nil {
		atexit.Fatal(err)
	}
	stop := func() {
		syscall.Kill(-api.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { api.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-api.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for end := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(url + "/v2/images"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, api.Process.Pid, stop
			}
		}
		if time.Now().After(end) {
			stop()
			atexit.Fatalf("Glance did not answer within a minute (log: %s)", logf.Name())
		}
	}
}
