package agent

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/crashpoint"
)

// cachedImage is an image in the host's cache.
type cachedImage struct {
	ID     string
	Path   string // StateDir/images/<id>
	Format string // "raw" or "qcow2", as the image service declared it
}

// imageMeta is StateDir/images/<id>.json, written before the image is
// renamed into place: an image without it is not cached.
type imageMeta struct {
	DiskFormat string `json:"disk_format"`
	Size       int64  `json:"size"`
	MD5        string `json:"md5"`
}

// download is an image being fetched; builds of the image wait for it.
type download struct {
	done chan struct{}
	img  cachedImage
	err  error
}

// image returns image id from the cache, fetching it first if it is not
// there. Concurrent calls for one image share one download, which runs
// in the agent's context: a build that gives up waiting does not stop it
// for the others.
func (a *Agent) image(ctx context.Context, id string) (cachedImage, error) {
	if u, err := uuid.Parse(id); err != nil || u.String() != strings.ToLower(id) {
		return cachedImage{}, abortError{fmt.Errorf("image id %q is not a uuid", id)}
	}
	a.mu.Lock()
	d := a.images[id]
	if d == nil {
		if img, ok := a.cached(id); ok {
			a.mu.Unlock()
			return img, nil
		}
		d = &download{done: make(chan struct{})}
		a.images[id] = d
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			d.img, d.err = a.fetch(a.ctx, id)
			a.mu.Lock()
			delete(a.images, id)
			a.mu.Unlock()
			close(d.done)
		}()
	}
	a.mu.Unlock()
	select {
	case <-d.done:
		return d.img, d.err
	case <-ctx.Done():
		return cachedImage{}, ctx.Err()
	}
}

// cached returns image id if the cache has it whole.
func (a *Agent) cached(id string) (cachedImage, bool) {
	path := filepath.Join(a.imagesDir(), id)
	b, err := os.ReadFile(path + ".json")
	if err != nil {
		return cachedImage{}, false
	}
	var m imageMeta
	if json.Unmarshal(b, &m) != nil {
		return cachedImage{}, false
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != m.Size {
		return cachedImage{}, false
	}
	return cachedImage{ID: id, Path: path, Format: m.DiskFormat}, true
}

// fetch downloads image id into the cache: to a temporary file, checked
// against the answer's length and Content-MD5 (Glance's checksum, hex or
// base64), then renamed.
func (a *Agent) fetch(ctx context.Context, id string) (cachedImage, error) {
	start := time.Now()
	base, err := a.computeURL(ctx)
	if err != nil {
		return cachedImage{}, err
	}
	resp, err := a.send(ctx, http.MethodGet, base+"/internal/compute/images/"+id, "", nil)
	if msg := apiMessage(err); msg != "" && lasting(err) {
		return cachedImage{}, abortError{errors.New(msg)} // the image service's words: "Image <id> could not be found."
	}
	if err != nil {
		return cachedImage{}, fmt.Errorf("image %s: %w", id, err)
	}
	defer resp.Body.Close()
	format := resp.Header.Get("X-Image-Disk-Format")
	if format != "raw" && format != "qcow2" {
		return cachedImage{}, abortError{fmt.Errorf("image %s: disk format %q is not supported (raw or qcow2)", id, format)}
	}
	tmp, err := os.CreateTemp(a.imagesDir(), "."+id+".part-*")
	if err != nil {
		return cachedImage{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), resp.Body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cachedImage{}, fmt.Errorf("image %s: download: %w", id, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return cachedImage{}, fmt.Errorf("image %s: %d bytes received of %d", id, n, resp.ContentLength)
	}
	sum := h.Sum(nil)
	if want := resp.Header.Get("Content-MD5"); want != "" && !md5Matches(want, sum) {
		return cachedImage{}, fmt.Errorf("image %s: checksum %x, the image service says %s", id, sum, want)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return cachedImage{}, err
	}
	path := filepath.Join(a.imagesDir(), id)
	meta, _ := json.Marshal(imageMeta{DiskFormat: format, Size: n, MD5: hex.EncodeToString(sum)})
	if err := writeFileAtomic(path+".json", meta); err != nil {
		return cachedImage{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return cachedImage{}, err
	}
	if err := syncDir(a.imagesDir()); err != nil {
		return cachedImage{}, err
	}
	crashpoint.Hit("compute.agent.image")
	a.log().Info("compute agent: image cached", "image", id, "format", format, "bytes", n, "took", time.Since(start))
	return cachedImage{ID: id, Path: path, Format: format}, nil
}

// md5Matches compares a checksum given as hex (Glance's) or base64 (RFC
// 1864's Content-MD5) with sum.
func md5Matches(want string, sum []byte) bool {
	want = strings.TrimSpace(want)
	return strings.EqualFold(want, hex.EncodeToString(sum)) || want == base64.StdEncoding.EncodeToString(sum)
}

// removeParts deletes downloads a stopped agent left half-way.
func removeParts(dir string) {
	parts, _ := filepath.Glob(filepath.Join(dir, ".*.part-*"))
	for _, p := range parts {
		os.Remove(p)
	}
}
