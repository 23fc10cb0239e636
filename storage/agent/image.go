package agent

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/image/convert"
	"github.com/gostack/gostack/image/format"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/storage"
)

// ImageCloner is a Backend that can make a volume from an image where
// the image service keeps its data, without fetching it (an RBD backend
// on the image store's cluster: a copy-on-write clone). Cloneable is nil
// when it can clone the raw image at loc (a URL the image service
// names), else an error saying why not; Create then gets the location
// as Source.ImageLocation.
type ImageCloner interface {
	Cloneable(ctx context.Context, loc string) error
}

// cloneSource is the Source of volume v when its backend can clone its
// image (Cinder's clone_image, tried before copy_image_to_volume): the
// image is raw and one of the rbd:// URLs the controller names for it
// (HEAD of the internal image route) is cloneable. ok false otherwise,
// and the image is fetched.
func (a *Agent) cloneSource(ctx context.Context, v storage.Volume, cl ImageCloner) (Source, bool) {
	resp, err := a.Session.Stream(ctx, a.HTTP, http.MethodHead, a.hostURL("/images/"+url.PathEscape(v.ImageID)), "", nil)
	if err != nil {
		a.log().Info("volume agent: image not cloned", "volume", v.ID, "image", v.ImageID, "err", err)
		return Source{}, false
	}
	resp.Body.Close()
	if f := resp.Header.Get("X-Image-Disk-Format"); f != format.Raw {
		return Source{}, false // Cinder clones raw images only
	}
	for _, loc := range resp.Header.Values("X-Image-Location") {
		if err := cl.Cloneable(ctx, loc); err != nil {
			a.log().Info("volume agent: image not cloneable", "volume", v.ID, "image", v.ImageID, "err", err)
			continue
		}
		return Source{ImageID: v.ImageID, ImageLocation: loc}, true
	}
	return Source{}, false
}

// imageSource fetches the image volume v is made from and converts it
// to raw, in Config.ImageDir: downloaded from the volume API's internal
// route (the image service's data, as the controller reads it), checked
// against its length and checksum, then, unless raw already, converted
// by image/convert, which inspects it first (the declared disk format
// must be the content's, unsafe images are refused) and runs qemu-img
// under limits.
// The raw file must fit the volume. The caller removes the file with
// done.
func (a *Agent) imageSource(ctx context.Context, v storage.Volume) (src Source, done func(), err error) {
	if u, err := uuid.Parse(v.ImageID); err != nil || u.String() != v.ImageID {
		return Source{}, nil, permanentError{fmt.Errorf("volume %s: image id %q is not a UUID", v.ID, v.ImageID)}
	}
	if a.Config.ImageDir == "" {
		return Source{}, nil, permanentError{errors.New("this backend's agent has no image directory: it cannot make volumes from images")}
	}
	if cl, ok := a.Backend.(ImageCloner); ok {
		if src, ok := a.cloneSource(ctx, v, cl); ok {
			return src, func() {}, nil
		}
	}
	if err := os.MkdirAll(a.Config.ImageDir, 0o700); err != nil {
		return Source{}, nil, err
	}
	start := time.Now()
	resp, err := a.Session.Stream(ctx, a.HTTP, http.MethodGet, a.hostURL("/images/"+url.PathEscape(v.ImageID)), "", nil)
	var ae *kitagent.Error
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout && ae.Status != http.StatusTooManyRequests {
		return Source{}, nil, permanentError{fmt.Errorf("image %s: %w", v.ImageID, err)}
	}
	if err != nil {
		return Source{}, nil, fmt.Errorf("image %s: %w", v.ImageID, err)
	}
	defer resp.Body.Close()
	declared := resp.Header.Get("X-Image-Disk-Format")
	base := filepath.Join(a.Config.ImageDir, v.ID)
	part, raw := base+".part", base+".raw"
	done = func() { os.Remove(part); os.Remove(raw) }
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return Source{}, nil, err
	}
	h := md5.New()
	n, err := writeSparse(f, io.TeeReader(resp.Body, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("%d bytes received of %d", n, resp.ContentLength)
	}
	if sum, want := h.Sum(nil), strings.TrimSpace(resp.Header.Get("Content-MD5")); err == nil && want != "" &&
		!strings.EqualFold(want, hex.EncodeToString(sum)) && want != base64.StdEncoding.EncodeToString(sum) {
		err = fmt.Errorf("checksum %x, the image service says %s", sum, want)
	}
	if err != nil {
		done()
		return Source{}, nil, fmt.Errorf("image %s: download: %w", v.ImageID, err)
	}
	var res format.Result
	if declared == format.Raw || declared == format.ISO {
		// Raw already (an ISO is a raw disk to boot, as Cinder copies it):
		// its bytes are the volume's, nothing reads them as anything else
		// (the image service inspected them at upload).
		res, err = format.Result{Format: format.Raw, Size: n, VirtualSize: n}, os.Rename(part, raw)
	} else {
		// No CPU limit: a large image takes minutes of it (Cinder limits
		// qemu-img info only); the address space limit stays.
		res, err = (&convert.Converter{CPUSeconds: -1}).Convert(ctx, part, declared, raw, format.Raw)
	}
	os.Remove(part)
	if err != nil {
		done()
		if errors.Is(err, fault.ErrBadRequest) {
			return Source{}, nil, permanentError{fmt.Errorf("image %s: %w", v.ImageID, err)}
		}
		return Source{}, nil, fmt.Errorf("image %s: %w", v.ImageID, err)
	}
	if res.VirtualSize > v.Size*gib {
		done()
		return Source{}, nil, permanentError{fmt.Errorf("Image %s is unacceptable: Image virtual size is %dGB and doesn't fit in a volume of size %dGB.",
			v.ImageID, (res.VirtualSize+gib-1)/gib, v.Size)}
	}
	a.log().Info("volume agent: image fetched and converted", "volume", v.ID, "image", v.ImageID, "format", declared,
		"bytes", n, "virtual_size", res.VirtualSize, "took", time.Since(start))
	return Source{ImageID: v.ImageID, File: raw, Bytes: res.VirtualSize}, done, nil
}

// sweepImages removes what a stopped agent left in dir: downloads and
// conversions of creates that will be done again, and the CHAP secret
// files of migrations' copies that an agent of an earlier version left
// (qemuImg now hands qemu-img the password through a pipe).
func sweepImages(dir string) {
	for _, pat := range []string{"*.part", "*.raw", ".chap-*.secret"} {
		left, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range left {
			os.Remove(p)
		}
	}
}

// sparseChunk is the unit writeSparse leaves a hole for when it holds
// only zeros.
const sparseChunk = 1 << 20

var zeroChunk = make([]byte, sparseChunk)

// writeSparse copies r into f, an empty file, leaving holes where whole
// chunks are zeros (a raw image's unused space stays unallocated, in
// its download and in the volume made of it), and returns the bytes
// read.
func writeSparse(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, sparseChunk)
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if bytes.Equal(buf[:k], zeroChunk[:k]) {
				if _, serr := f.Seek(int64(k), io.SeekCurrent); serr != nil {
					return n, serr
				}
			} else if _, werr := f.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			// A trailing hole is made by the file's length.
			return n, f.Truncate(n)
		}
		if err != nil {
			return n, err
		}
	}
}
