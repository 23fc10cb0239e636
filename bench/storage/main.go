// Command storage measures the block-storage area: volume create →
// available, one at a time (p50/p99) and many at once (volumes/s); a
// volume made from an image against qemu-img convert of the same image
// file (the copy's physical limit) — with -ceph the images are in an
// RBD image store on the same Ceph, so the RBD backend's volume from
// the image is a copy-on-write clone, against the iSCSI backend's full
// copy, as a ratio; backups to the chunked file store on each backend
// (a full one of a volume holding the image, an incremental one, a
// restore; RBD's against rbd export of the volume); and I/O through a
// volume's iSCSI
// export against the same I/O on its backing file, in the same run, as
// ratios: sequential 1 MiB reads and writes with qemu-img bench (QEMU's
// own initiator, as guests use it), random 4 KiB reads and writes with
// fio through qemu-nbd (the same NBD hop on both sides, so the ratio is
// the export's). Run it with bench/storage/run, as root: the
// all-in-one's block-storage area runs in this process with a tgtd of
// its own (private control port and portal on loopback), stopped at the
// end.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gostack/gostack/bench/internal/atexit"
	"github.com/gostack/gostack/bench/internal/randfile"
	identityarea "github.com/gostack/gostack/identity/area"
	imagearea "github.com/gostack/gostack/image/area"
	"github.com/gostack/gostack/internal/cephtest"
	"github.com/gostack/gostack/kit/compose"
	storagearea "github.com/gostack/gostack/storage/area"
	"github.com/gostack/gostack/storage/iscsi"
	"golang.org/x/sys/unix"
)

func main() {
	seq := flag.Int("volumes", 20, "volumes created one at a time")
	burst := flag.Int("burst", 60, "volumes created with -inflight at once")
	inflight := flag.Int("inflight", 20, "creates in flight in the burst")
	imageMiB := flag.Int64("image", 256, "size of the image volumes are made from (MiB of random data)")
	ioMiB := flag.Int64("io", 1024, "bytes of the I/O runs (MiB): the whole 1 GiB volume by default, more than the page cache's dirty limits take at once")
	buffered := flag.Bool("buffered", false, "tgtd reaches volume files through the page cache (volume.agent.buffered_io), not with O_DIRECT")
	ioSecs := flag.Int("io-seconds", 10, "seconds of each random I/O run")
	dir := flag.String("dir", "", "working directory (default: a temporary directory under /var/tmp)")
	logFile := flag.String("log", "", "write the daemon's log (level info) to this file")
	withCeph := flag.Bool("ceph", true, "measure the RBD backend too, on a private single-node Ceph (needs a build with the Ceph tag, see run)")
	only := flag.String("only", "", `"io": only the I/O comparisons (no creates, images or backups; no Ceph); "create": only the creates`)
	rounds := flag.Int("rounds", 5, "rounds of each sequential I/O run, the export and the file alternated")
	flag.Parse()
	switch *only {
	case "":
	case "io":
		*withCeph = false
	case "create":
	default:
		atexit.Fatalf("-only %q: want io or create", *only)
	}
	if *rounds < 1 {
		atexit.Fatalf("-rounds %d: want at least 1", *rounds)
	}
	// Cut short — a failure, ^C, a kill — it still stops its daemon,
	// tgtd and Ceph and removes its files.
	atexit.OnSignals()
	defer atexit.Run()
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("/var/tmp", "bench-storage-"); err != nil {
			atexit.Fatal(err)
		}
		atexit.Add(func() { os.RemoveAll(work) })
	}
	var ceph *cephtest.Cluster
	if *withCeph {
		var err error
		// 8 GiB of memstore (RAM used only as written): its capacity
		// report lets the creates' 60 GiB of thin volumes through the
		// capacity filter (over-subscription 20), where the default
		// 1 GiB stopped at the 20th.
		if ceph, err = cephtest.Start(cephtest.Options{Pools: []string{"volumes", "images"}, MemoryBytes: 8 << 30}); err != nil {
			atexit.Fatalf("a private Ceph: %v", err)
		}
		atexit.Add(func() { ceph.Stop() })
	}
	c := start(work, *logFile, ceph, *buffered)
	c.buffered = *buffered
	atexit.Add(c.stop)
	backends := []string{"iscsi"}
	if ceph != nil {
		backends = append(backends, "ceph")
	}
	for _, b := range backends {
		c.do("POST", "/types", map[string]any{"volume_type": map[string]any{"name": b,
			"extra_specs": map[string]any{"volume_backend_name": b}}}, http.StatusOK, nil)
	}
	c.waitPools(len(backends))
	if *only == "io" {
		c.io(work, *ioMiB<<20, *ioSecs, *rounds)
		return
	}

	fmt.Printf("Block storage: the iSCSI backend (sparse files, tgtd)")
	if ceph != nil {
		fmt.Printf(" and the RBD backend (a private single-node Ceph: one memstore OSD)")
	}
	fmt.Printf(", %s\n\n", time.Now().Format(time.DateTime))
	for _, b := range backends {
		lat := make([]time.Duration, 0, *seq)
		for range *seq {
			t0 := time.Now()
			c.waitAvailable(c.create(map[string]any{"size": 1, "volume_type": b}), 5*time.Millisecond)
			lat = append(lat, time.Since(t0))
		}
		c.deleteAll()
		fmt.Printf("%-5s create 1 GiB → available, one at a time (%d): p50 %s  p99 %s  max %s\n", b, *seq, pct(lat, 50), pct(lat, 99), pct(lat, 100))
		took, blat := c.burst(b, *burst, *inflight)
		c.deleteAll()
		fmt.Printf("%-5s create 1 GiB → available, %d with %d in flight: %.1f volumes/s (%s for all); each p50 %s  p99 %s\n",
			b, *burst, *inflight, float64(*burst)/took.Seconds(), took.Round(time.Millisecond), pct(blat, 50), pct(blat, 99))
	}
	if *only == "create" {
		return
	}
	fmt.Println()
	img := c.fromImage(work, *imageMiB<<20, backends)
	fmt.Println()
	c.backups(img, *imageMiB<<20, backends, ceph)
	c.call("DELETE", c.imageAPI+"/v2/images/"+img, "application/json", nil, http.StatusNoContent, nil)
	c.io(work, *ioMiB<<20, *ioSecs, *rounds)
}

// cloud is the block-storage area under measurement and its API.
type cloud struct {
	api, token, project string
	imageAPI            string
	files               string
	ex                  *iscsi.Exporter
	client              *http.Client
	buffered            bool   // tgtd reaches volume files through the page cache
	shutdown            func() // stops the daemon and waits for it
}

// start runs identity, image and block storage in this process on free
// ports, with the in-process backend on a tgtd of its own.
func start(work, logFile string, ceph *cephtest.Cluster, buffered bool) *cloud {
	data := filepath.Join(work, "data")
	ctl := 21000 + os.Getpid()%10000 // tgtd's control port: at most 32767
	portal := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort()))
	id := identityarea.New()
	id.Config.PasswordRounds = 4
	vol := storagearea.New()
	vol.Config.Agent.Host = "bench@iscsi#iscsi"
	vol.Config.Agent.ControlPort = ctl
	vol.Config.Agent.Portal = portal.String()
	vol.Config.Agent.BufferedIO = buffered
	if ceph != nil {
		vol.Config.RBD.CephConf, vol.Config.RBD.User, vol.Config.RBD.Keyring = ceph.Conf, ceph.User, ceph.Keyring
		vol.Config.RBD.Pool, vol.Config.RBD.BackendName, vol.Config.RBD.Host = ceph.Pool, "ceph", "bench@ceph#ceph"
	}
	img := imagearea.New()
	if ceph != nil {
		// The images in an RBD store on the same cluster: the RBD
		// backend clones them.
		img.Config.RBD.CephConf, img.Config.RBD.User, img.Config.RBD.Keyring = ceph.Conf, ceph.User, ceph.Keyring
		img.Config.RBD.Pool = "images"
	}
	d := compose.New(id, img, vol)
	d.Config.DataDir = data
	d.Config.Log.Level = "warn"
	var logOut io.Writer = io.Discard
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			atexit.Fatal(err)
		}
		logOut, d.Config.Log.Level = f, "info"
	}
	ls := map[string]net.Listener{}
	for _, name := range []string{"admin", "identity", "image", "volume"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			atexit.Fatal(err)
		}
		ls[name] = l
	}
	ready := make(chan map[string]string, 1)
	d.Listeners, d.LogOutput, d.Ready = ls, logOut, func(a map[string]string) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		if err := d.Run(ctx); err != nil {
			atexit.Fatal(err)
		}
		close(ran)
	}()
	addrs := <-ready
	c := &cloud{files: filepath.Join(data, "volume", "files"), client: &http.Client{Timeout: 5 * time.Minute},
		ex: &iscsi.Exporter{Dir: filepath.Join(data, "volume", "tgt"), ControlPort: ctl, Portal: portal}}
	c.shutdown = func() {
		cancel()
		select {
		case <-ran:
		case <-time.After(30 * time.Second):
			log.Printf("the daemon did not stop in 30 s")
		}
	}
	pw, err := os.ReadFile(filepath.Join(data, "admin-password"))
	if err != nil {
		atexit.Fatal(err)
	}
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},
		"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post("http://"+addrs["identity"]+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		atexit.Fatalf("token: %v %v", resp, err)
	}
	var tok struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	c.token, c.project = resp.Header.Get("X-Subject-Token"), tok.Token.Project.ID
	c.api = "http://" + addrs["volume"] + "/v3/" + c.project
	c.imageAPI = "http://" + addrs["image"]
	c.do("PUT", "/os-quota-sets/"+c.project, map[string]any{"quota_set": map[string]any{"volumes": -1, "gigabytes": -1}}, http.StatusOK, nil)
	// The backend's first report makes its zone available.
	for end := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var z struct {
			AvailabilityZoneInfo []struct {
				ZoneState struct{ Available bool } `json:"zoneState"`
			} `json:"availabilityZoneInfo"`
		}
		c.do("GET", "/os-availability-zone", nil, http.StatusOK, &z)
		if len(z.AvailabilityZoneInfo) > 0 && z.AvailabilityZoneInfo[0].ZoneState.Available {
			break
		}
		if time.Now().After(end) {
			atexit.Fatal("the volume backend never reported")
		}
	}
	return c
}

// waitPools waits until n backend pools have reported.
func (c *cloud) waitPools(n int) {
	for end := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var out struct{ Pools []any }
		c.do("GET", "/scheduler-stats/get_pools", nil, http.StatusOK, &out)
		if len(out.Pools) >= n {
			return
		}
		if time.Now().After(end) {
			atexit.Fatalf("%d of %d backends reported after a minute", len(out.Pools), n)
		}
	}
}

// stop stops the daemon, then the tgtd the area started (gostack leaves
// it running, as a host service): the daemon first, so that its volume
// agent neither exports again nor makes files in the working directory
// being removed.
func (c *cloud) stop() {
	c.shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.ex.Stop(ctx); err != nil && !errors.Is(err, iscsi.ErrNotRunning) {
		log.Printf("stop tgtd: %v", err)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		atexit.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// do calls the Cinder API (path under the project) and decodes the
// answer into out.
func (c *cloud) do(method, path string, body any, want int, out any) {
	c.call(method, c.api+path, "application/json", body, want, out)
}

func (c *cloud) call(method, u, ctype string, body any, want int, out any) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
	default:
		js, _ := json.Marshal(b)
		r = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("X-Auth-Token", c.token)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("OpenStack-API-Version", "volume 3.60")
	resp, err := c.client.Do(req)
	if err != nil {
		atexit.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		atexit.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			atexit.Fatalf("%s %s: %v", method, u, err)
		}
	}
}

type volume struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (c *cloud) create(v map[string]any) string {
	var out struct{ Volume volume }
	c.do("POST", "/volumes", map[string]any{"volume": v}, http.StatusAccepted, &out)
	return out.Volume.ID
}

// waitAvailable polls volume id every poll until it is available.
func (c *cloud) waitAvailable(id string, poll time.Duration) {
	for end := time.Now().Add(5 * time.Minute); ; time.Sleep(poll) {
		var out struct{ Volume volume }
		c.do("GET", "/volumes/"+id, nil, http.StatusOK, &out)
		switch out.Volume.Status {
		case "available":
			return
		case "error":
			atexit.Fatalf("volume %s: error", id)
		}
		if time.Now().After(end) {
			atexit.Fatalf("volume %s: %s after 5 min", id, out.Volume.Status)
		}
	}
}

// burst creates n volumes of type typ, inflight at a time (each create waits for
// its volume to be available before the next), and returns the time
// from the first create to the last available and each volume's.
func (c *cloud) burst(typ string, n, inflight int) (time.Duration, []time.Duration) {
	var mu sync.Mutex
	var lat []time.Duration
	jobs := make(chan int)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range inflight {
		wg.Go(func() {
			for range jobs {
				s := time.Now()
				c.waitAvailable(c.create(map[string]any{"size": 1, "volume_type": typ}), 20*time.Millisecond)
				mu.Lock()
				lat = append(lat, time.Since(s))
				mu.Unlock()
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return time.Since(t0), lat
}

// deleteAll deletes every volume and waits until they are gone.
func (c *cloud) deleteAll() {
	var out struct{ Volumes []volume }
	c.do("GET", "/volumes", nil, http.StatusOK, &out)
	for _, v := range out.Volumes {
		c.do("DELETE", "/volumes/"+v.ID, nil, http.StatusAccepted, nil)
	}
	for end := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		c.do("GET", "/volumes", nil, http.StatusOK, &out)
		if len(out.Volumes) == 0 {
			return
		}
		if time.Now().After(end) {
			atexit.Fatalf("%d volumes left after 5 min", len(out.Volumes))
		}
	}
}

// fromImage uploads a raw image of size bytes of random data and, on
// each backend, makes volumes of it (the agent fetches it, converts it
// to raw and writes it into the volume) and clones of such a volume (a
// copy of its file on iSCSI, a copy-on-write clone on RBD). The peer of
// a volume from the image is qemu-img convert of the same file to a raw
// file on the same disk: one copy, the physical limit. It returns the
// image's id.
func (c *cloud) fromImage(work string, size int64, backends []string) string {
	src := filepath.Join(work, "image.raw")
	if err := randfile.Write(src, size, 2); err != nil {
		atexit.Fatal(err)
	}
	defer os.Remove(src)
	var img struct{ ID string }
	c.call("POST", c.imageAPI+"/v2/images", "application/json",
		map[string]any{"name": "bench", "disk_format": "raw", "container_format": "bare"}, http.StatusCreated, &img)
	f, err := os.Open(src)
	if err != nil {
		atexit.Fatal(err)
	}
	t0 := time.Now()
	c.call("PUT", c.imageAPI+"/v2/images/"+img.ID+"/file", "application/octet-stream", f, http.StatusNoContent, nil)
	up := time.Since(t0)
	f.Close()
	where := "the filesystem store"
	if slices.Contains(backends, "ceph") {
		where = "the RBD image store (images/<id>@snap)"
	}
	fmt.Printf("image upload of %d MiB to %s: %s (%.0f MiB/s)\n", size>>20, where, up.Round(time.Millisecond),
		float64(size>>20)/up.Seconds())
	var copies []time.Duration
	for range 3 {
		dst := filepath.Join(work, "convert.raw")
		t0 := time.Now()
		run("qemu-img", "convert", "-f", "raw", "-O", "raw", "-t", "writeback", src, dst)
		copies = append(copies, time.Since(t0))
		os.Remove(dst)
	}
	q := pct(copies, 50)
	fmt.Printf("qemu-img convert of the %d MiB image file (median of 3): %s\n", size>>20, q)
	clones, fromImg := map[string]time.Duration{}, map[string]time.Duration{}
	for _, b := range backends {
		var vols, cl []time.Duration
		for range 3 {
			t0 := time.Now()
			id := c.create(map[string]any{"size": 1, "imageRef": img.ID, "volume_type": b})
			c.waitAvailable(id, 5*time.Millisecond)
			vols = append(vols, time.Since(t0))
			t0 = time.Now()
			c.waitAvailable(c.create(map[string]any{"source_volid": id, "volume_type": b}), 5*time.Millisecond)
			cl = append(cl, time.Since(t0))
		}
		c.deleteAll()
		v := pct(vols, 50)
		clones[b], fromImg[b] = pct(cl, 50), v
		fmt.Printf("%-5s volume from the image → available (median of 3): %s (ratio to qemu-img convert %.2f); a clone of it: %s\n",
			b, v, q.Seconds()/v.Seconds(), clones[b])
	}
	if r, ok := fromImg["ceph"]; ok {
		fmt.Printf("volume from the image: RBD copy-on-write clone of the image vs iSCSI full copy (fetch and write): %.1fx faster\n",
			fromImg["iscsi"].Seconds()/r.Seconds())
	}
	if r, ok := clones["ceph"]; ok {
		fmt.Printf("clone of a volume holding the image: RBD copy-on-write clone vs iSCSI file copy: %.1fx faster\n",
			clones["iscsi"].Seconds()/r.Seconds())
	}
	return img.ID
}

// backups measures, on each backend, a full backup of a 1 GiB volume
// made from the image (size bytes of random data: zlib's worst case),
// an incremental one after 4 MiB of it changed, and a restore of the
// full backup into a new volume, each from the API call to available,
// into the chunked store both backends share; with Ceph, against "rbd
// export" of the same volume to /dev/null (the read alone).
func (c *cloud) backups(img string, size int64, backends []string, ceph *cephtest.Cluster) {
	c.do("PUT", "/os-quota-sets/"+c.project, map[string]any{"quota_set": map[string]any{"backups": -1, "backup_gigabytes": -1}}, http.StatusOK, nil)
	fmt.Printf("backups of a 1 GiB volume holding %d MiB of random data (the image's) to the chunked file store:\n", size>>20)
	for _, b := range backends {
		id := c.create(map[string]any{"size": 1, "imageRef": img, "volume_type": b})
		c.waitAvailable(id, 5*time.Millisecond)
		t0 := time.Now()
		full, _ := c.backup(map[string]any{"volume_id": id})
		tf := time.Since(t0)
		// 4 MiB at the start of the volume changed.
		if b == "ceph" {
			run("rbd", "-c", ceph.Conf, "bench", "--io-type", "write", "--io-size", "4M", "--io-threads", "1", "--io-total", "4M",
				"--io-pattern", "seq", ceph.Pool+"/volume-"+id)
		} else {
			f, err := os.OpenFile(filepath.Join(c.files, "volume-"+id), os.O_WRONLY, 0)
			if err != nil {
				atexit.Fatal(err)
			}
			f.WriteAt(bytes.Repeat([]byte{0xa5}, 4<<20), 0)
			f.Close()
		}
		t0 = time.Now()
		inc, objects := c.backup(map[string]any{"volume_id": id, "incremental": true})
		ti := time.Since(t0)
		dst := c.create(map[string]any{"size": 1, "volume_type": b})
		c.waitAvailable(dst, 5*time.Millisecond)
		t0 = time.Now()
		c.do("POST", "/backups/"+full+"/restore", map[string]any{"restore": map[string]any{"volume_id": dst}}, http.StatusAccepted, nil)
		c.waitBackup(full)
		c.waitAvailable(dst, 5*time.Millisecond)
		tr := time.Since(t0)
		mibs := func(d time.Duration) float64 { return float64(size>>20) / d.Seconds() }
		fmt.Printf("%-5s full %s (%.0f MiB/s of data, %.0f MiB/s of volume); incremental after 4 MiB changed %s (%.0f MiB/s of data), %d object(s); restore of the full one %s (%.0f MiB/s)\n",
			b, tf.Round(time.Millisecond), mibs(tf), 1024/tf.Seconds(), ti.Round(time.Millisecond), mibs(ti), objects,
			tr.Round(time.Millisecond), mibs(tr))
		if b == "ceph" {
			t0 := time.Now()
			cmd := exec.Command("rbd", "-c", ceph.Conf, "export", ceph.Pool+"/volume-"+id, "-")
			null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = null, &stderr
			if err := cmd.Run(); err != nil {
				atexit.Fatalf("rbd export: %v %s", err, stderr.Bytes())
			}
			null.Close()
			te := time.Since(t0)
			fmt.Printf("ceph  rbd export of the same volume to /dev/null (reading it): %s (%.0f MiB/s of data); full backup / export: %.1fx the time\n",
				te.Round(time.Millisecond), mibs(te), tf.Seconds()/te.Seconds())
		}
		for _, bk := range []string{inc, full} { // the incremental first: it builds on the full one
			c.do("DELETE", "/backups/"+bk, nil, http.StatusAccepted, nil)
			c.waitBackup(bk)
		}
		c.deleteAll()
	}
}

// backup makes a backup (body: the API's "backup" object) and waits
// until it is available: its id and object count.
func (c *cloud) backup(body map[string]any) (string, int64) {
	var out struct{ Backup struct{ ID string } }
	c.do("POST", "/backups", map[string]any{"backup": body}, http.StatusAccepted, &out)
	return out.Backup.ID, c.waitBackup(out.Backup.ID)
}

// waitBackup polls backup id until it is available (its object count)
// or, being deleted, gone.
func (c *cloud) waitBackup(id string) int64 {
	for end := time.Now().Add(10 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var out struct {
			Backup struct {
				Status      string `json:"status"`
				ObjectCount int64  `json:"object_count"`
				FailReason  any    `json:"fail_reason"`
			}
		}
		req, _ := http.NewRequest("GET", c.api+"/backups/"+id, nil)
		req.Header.Set("X-Auth-Token", c.token)
		resp, err := c.client.Do(req)
		if err != nil {
			atexit.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return 0
		case err != nil || resp.StatusCode != http.StatusOK:
			atexit.Fatalf("backup %s: %d %v", id, resp.StatusCode, err)
		case out.Backup.Status == "available":
			return out.Backup.ObjectCount
		case out.Backup.Status == "error":
			atexit.Fatalf("backup %s: error: %v", id, out.Backup.FailReason)
		}
		if time.Now().After(end) {
			atexit.Fatalf("backup %s: %s after 10 min", id, out.Backup.Status)
		}
	}
}

// io runs the I/O comparisons on one volume: through its export and on
// its backing file, at the same queue depth. Sequential runs go in
// rounds, each round the export, the file with O_DIRECT and the file
// through the page cache one after the other, so that a slow moment of
// the machine's disk or CPU falls on all three: the best and the median
// of the rounds, and the median of each round's export/file ratio (the
// figure to quote: this 2-core machine is shared, and the export, which
// takes CPU time where O_DIRECT on the file takes almost none, suffers
// most when others load it).
func (c *cloud) io(work string, size int64, secs, rounds int) {
	id := c.create(map[string]any{"size": 1, "volume_type": "iscsi"})
	c.waitAvailable(id, 5*time.Millisecond)
	var conn struct {
		ConnectionInfo struct {
			Data struct {
				Portal   string `json:"target_portal"`
				IQN      string `json:"target_iqn"`
				LUN      int    `json:"target_lun"`
				User     string `json:"auth_username"`
				Password string `json:"auth_password"`
			} `json:"data"`
		} `json:"connection_info"`
	}
	c.do("POST", "/volumes/"+id+"/action", map[string]any{"os-initialize_connection": map[string]any{"connector": map[string]any{
		"initiator": "iqn.2008-11.org.linux-kvm:bench", "ip": "127.0.0.1", "host": "bench"}}}, http.StatusOK, &conn)
	d := conn.ConnectionInfo.Data
	lun := fmt.Sprintf("iscsi://%s%%%s@%s/%s/%d", url.PathEscape(d.User), url.PathEscape(d.Password), d.Portal, d.IQN, d.LUN)
	file := filepath.Join(c.files, "volume-"+id)
	how := "with O_DIRECT"
	if c.buffered {
		how = "through the page cache (-buffered)"
	}
	fmt.Printf("\nI/O on a 1 GiB volume, %d MiB per run: through its iSCSI export (QEMU's initiator, loopback, tgtd on the file %s)\n", size>>20, how)
	fmt.Printf("vs on its backing file through the page cache and with O_DIRECT (the disk); sequential: %d rounds, all three alternated,\n", rounds)
	fmt.Printf("best and median of the rounds; ratio = median of the rounds' ratios\n")
	fmt.Printf("%-48s %15s %15s %7s %15s %7s\n", "", "export", "file", "ratio", "O_DIRECT", "ratio")
	fmt.Printf("load average at the start: %s (other work on the machine lowers the export's figures most)\n", loadAverage())
	seqX := map[bool]float64{}
	// The volume's blocks are allocated before the rounds, so that no
	// round's first write pays for it.
	seqMiBs(file, size, true, "none")
	for _, write := range []bool{true, false} {
		var x, f, o, rf, ro []float64
		for range rounds {
			x = append(x, seqMiBs(lun, size, write, "writeback"))
			o = append(o, seqMiBs(file, size, write, "none"))
			f = append(f, seqMiBs(file, size, write, "writeback"))
			// Neither direct run pays for the page cache's run: its
			// dirty pages written back, its pages dropped.
			dropCache(file)
			rf, ro = append(rf, x[len(x)-1]/f[len(f)-1]), append(ro, x[len(x)-1]/o[len(o)-1])
		}
		seqX[write] = slices.Max(x)
		name := map[bool]string{true: "sequential write 1 MiB x8, MiB/s", false: "sequential read 1 MiB x8, MiB/s"}[write]
		bm := func(v []float64) string { return fmt.Sprintf("%.0f/%.0f", slices.Max(v), median(v)) }
		fmt.Printf("%-48s %15s %15s %7.2f %15s %7.2f\n", name+" (best/median)", bm(x), bm(f), median(rf), bm(o), median(ro))
		fmt.Printf("%-48s %s\n", "  export/O_DIRECT each round", strings.Join(fmtAll(ro, "%.2f"), " "))
	}
	fmt.Printf("load average after the sequential runs: %s\n", loadAverage())
	lo := loopbackMiBs(size)
	fmt.Printf("loopback TCP alone, 1 MiB writes (the transport's limit): %.0f MiB/s; the export's sequential write and read are %.2f and %.2f of it\n",
		lo, seqX[true]/lo, seqX[false]/lo)
	xs, stopX := nbd(work, "export", lun, "writeback")
	defer stopX()
	fs, stopF := nbd(work, "file", file, "writeback")
	defer stopF()
	ds, stopD := nbd(work, "direct", file, "none")
	defer stopD()
	for _, rw := range []string{"randwrite", "randread"} {
		x, f, o := fioIOPS(xs, rw, size, secs), fioIOPS(fs, rw, size, secs), fioIOPS(ds, rw, size, secs)
		fmt.Printf("%-48s %15.0f %15.0f %7.2f %15.0f %7.2f\n", rw+" 4 KiB x16, IOPS", x, f, x/f, o, x/o)
	}
}

// loopbackMiBs is the best of three transfers of size bytes over one
// loopback TCP connection in 1 MiB writes, nothing done with them: what
// an iSCSI session on loopback could carry at most.
func loopbackMiBs(size int64) float64 {
	var best float64
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			atexit.Fatal(err)
		}
		got := make(chan int64, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				got <- 0
				return
			}
			defer c.Close()
			n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
			got <- n
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			atexit.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		start := time.Now()
		for sent := int64(0); sent < size; sent += int64(len(buf)) {
			if _, err := c.Write(buf); err != nil {
				atexit.Fatal(err)
			}
		}
		c.Close()
		n := <-got
		secs := time.Since(start).Seconds()
		l.Close()
		if n != size {
			atexit.Fatalf("loopback: %d bytes of %d", n, size)
		}
		best = max(best, float64(size>>20)/secs)
	}
	return best
}

// seqMiBs is qemu-img bench's sequential throughput on target.
func seqMiBs(target string, size int64, write bool, cache string) float64 {
	args := []string{"bench", "-f", "raw", "-t", cache, "-c", strconv.FormatInt(size>>20, 10), "-s", "1M", "-d", "8"}
	if write {
		args = append(args, "-w", "--pattern=165")
	}
	out := run("qemu-img", append(args, target)...)
	m := regexp.MustCompile(`Run completed in ([0-9.]+) seconds`).FindStringSubmatch(out)
	if m == nil {
		atexit.Fatalf("qemu-img bench said %q", out)
	}
	secs, _ := strconv.ParseFloat(m[1], 64)
	return float64(size>>20) / secs
}

// nbd serves target (a file or an iSCSI URL) over NBD on a unix socket
// with qemu-nbd and QEMU's cache mode cache (its complaints of fio's
// abrupt disconnects are dropped).
func nbd(work, name, target, cache string) (string, func()) {
	sock := filepath.Join(work, name+".nbd")
	cmd := exec.Command("qemu-nbd", "--persistent", "--shared=4", "-f", "raw", "--cache="+cache, "--aio=threads", "-k", sock, target)
	if err := cmd.Start(); err != nil {
		atexit.Fatal(err)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(end) {
			cmd.Process.Kill()
			atexit.Fatalf("qemu-nbd %s: no socket", name)
		}
	}
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	atexit.Add(stop)
	return sock, stop
}

// fioIOPS is fio's IOPS of 4 KiB random rw over the first size bytes of
// the NBD export at sock, 16 in flight, for secs seconds.
func fioIOPS(sock, rw string, size int64, secs int) float64 {
	out := run("fio", "--name=bench", "--ioengine=nbd", "--uri=nbd+unix:///?socket="+sock, "--rw="+rw, "--bs=4k",
		"--iodepth=16", "--size="+strconv.FormatInt(size, 10), "--time_based", "--runtime="+strconv.Itoa(secs),
		"--randseed=1", "--output-format=json")
	var r struct {
		Jobs []struct {
			R struct {
				IOPS float64 `json:"iops"`
			} `json:"read"`
			W struct {
				IOPS float64 `json:"iops"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if i := strings.IndexByte(out, '{'); i > 0 {
		out = out[i:]
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Jobs) == 0 {
		atexit.Fatalf("fio: %v: %s", err, out)
	}
	if rw == "randread" {
		return r.Jobs[0].R.IOPS
	}
	return r.Jobs[0].W.IOPS
}

func run(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		atexit.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// dropCache writes back the file at path and drops it from the page
// cache, untimed.
func dropCache(path string) {
	f, err := os.Open(path)
	if err != nil {
		atexit.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		atexit.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		atexit.Fatal(err)
	}
}

// median is the middle of v (the mean of the two middle ones when v has
// an even length).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fmtAll formats each of v with format.
func fmtAll(v []float64, format string) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf(format, x)
	}
	return out
}

// pct is the p-th percentile of ds (100: the largest).
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(0, min(i, len(s)-1))].Round(time.Millisecond)
}
