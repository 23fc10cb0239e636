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
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

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
	flag.Parse()
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("/var/tmp", "bench-image-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	size := *sizeMiB << 20
	src := filepath.Join(work, "source.raw")
	writeRandom(src, size)

	api, token := startDaemon(filepath.Join(work, "daemon"))
	var catBest, upBest time.Duration
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for i := 0; i < *rounds; i++ {
		c := catTime(src, filepath.Join(work, "copy.raw"))
		u := uploadTime(api, token, src, size)
		if catBest == 0 || c < catBest {
			catBest = c
		}
		if upBest == 0 || u < upBest {
			upBest = u
		}
	}
	mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	fmt.Printf("Upload of a %d MiB raw image, same disk, best of %d\n\n", *sizeMiB, *rounds)
	fmt.Printf("%-52s %10s %10s\n", "", "seconds", "MB/s")
	fmt.Printf("%-52s %10.2f %10.0f\n", "cat source > copy; fsync", catBest.Seconds(), mbps(catBest))
	fmt.Printf("%-52s %10.2f %10.0f\n", "PUT /v2/images/{id}/file (inspect, md5+sha512, fsync)", upBest.Seconds(), mbps(upBest))
	fmt.Printf("\nratio upload/cat: %.2f (goal >= 0.8)\n\n", catBest.Seconds()/upBest.Seconds())

	hashes()
	sparse(work)
}

// writeRandom writes size bytes of incompressible data.
func writeRandom(path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 4<<20)
	r := rand.NewChaCha8([32]byte{1})
	for left := size; left > 0; left -= int64(len(buf)) {
		r.Read(buf)
		if _, err := f.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func catTime(src, dst string) time.Duration {
	os.Remove(dst)
	start := time.Now()
	cmd := exec.Command("sh", "-c", `cat "$1" > "$2" && sync "$2"`, "sh", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("cat: %v %s", err, out)
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
			log.Fatal(err)
		}
		ls[name] = l
	}
	ready := make(chan map[string]string, 1)
	d.Listeners, d.LogOutput, d.Ready = ls, io.Discard, func(a map[string]string) { ready <- a }
	go func() { log.Fatal(d.Run(context.Background())) }()
	addrs := <-ready
	pw, err := os.ReadFile(filepath.Join(dataDir, "admin-password"))
	if err != nil {
		log.Fatal(err)
	}
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":%q}}},
		"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post("http://"+addrs["identity"]+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		log.Fatalf("token: %v %v", resp, err)
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
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		log.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return b
}

func uploadTime(api, token, src string, size int64) time.Duration {
	b := call("POST", api+"/v2/images", token, "application/json",
		strings.NewReader(`{"name":"bench","disk_format":"raw","container_format":"bare"}`), -1, http.StatusCreated)
	var img struct{ ID string }
	json.Unmarshal(b, &img)
	f, err := os.Open(src)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	call("PUT", api+"/v2/images/"+img.ID+"/file", token, "application/octet-stream", f, size, http.StatusNoContent)
	d := time.Since(start)
	call("DELETE", api+"/v2/images/"+img.ID, token, "", nil, -1, http.StatusNoContent)
	return d
}

// hashes prints MB/s of md5 and sha512 alone (one core each) and of
// image/store's Digest, which runs both at once.
func hashes() {
	buf := bytes.Repeat([]byte{0x5a}, 1<<20)
	const total = 512
	measure := func(w io.Writer) float64 {
		start := time.Now()
		for i := 0; i < total; i++ {
			w.Write(buf)
		}
		return total * float64(len(buf)) / time.Since(start).Seconds() / 1e6
	}
	d, _ := store.NewDigest("sha512")
	fmt.Printf("Hash throughput, 512 MiB in 1 MiB writes\n\n")
	fmt.Printf("%-52s %10.0f MB/s\n", "md5 (one core)", measure(md5.New()))
	fmt.Printf("%-52s %10.0f MB/s\n", "sha512 (one core)", measure(sha512.New()))
	fmt.Printf("%-52s %10.0f MB/s\n\n", "store.Digest: md5 + sha512 in parallel", measure(d))
}

// sparse inspects a 10 GiB qcow2 made by qemu-img.
func sparse(work string) {
	path := filepath.Join(work, "sparse.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", path, "10G").CombinedOutput(); err != nil {
		log.Fatalf("qemu-img: %v %s", err, out)
	}
	start := time.Now()
	r, err := format.InspectFile(context.Background(), path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Inspecting a 10 GiB sparse qcow2 (file of %d bytes)\n\n", r.Size)
	fmt.Printf("format %s, virtual size %d, bytes read %d, in %v\n", r.Format, r.VirtualSize, r.BytesRead, time.Since(start).Round(time.Microsecond))
}
