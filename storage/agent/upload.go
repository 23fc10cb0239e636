package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gostack/gostack/image/convert"
	"github.com/gostack/gostack/image/format"
	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/storage"
)

// upload writes volume v's content into the image of its upload (Cinder's
// copy_volume_to_image): the backend's raw content as it is for a raw
// image, else converted by image/convert (read as raw whatever the guest
// wrote, so nothing in it is followed) in Config.ImageDir; then sent to
// the volume API's internal route, which hands it to the image service
// (which inspects it as any upload).
func (a *Agent) upload(ctx context.Context, v storage.Volume) error {
	u := v.Upload
	if u == nil {
		return permanentError{fmt.Errorf("volume %s is uploading with no upload recorded", v.ID)}
	}
	start := time.Now()
	path, release, err := a.Backend.Content(ctx, v)
	if err != nil {
		return err
	}
	defer release()
	if u.DiskFormat != format.Raw {
		if a.Config.ImageDir == "" {
			return permanentError{fmt.Errorf("this backend's agent has no image directory: it cannot convert volumes to %s", u.DiskFormat)}
		}
		if err := os.MkdirAll(a.Config.ImageDir, 0o700); err != nil {
			return err
		}
		out := filepath.Join(a.Config.ImageDir, v.ID+".upload.part")
		defer os.Remove(out)
		if _, err := (&convert.Converter{CPUSeconds: -1}).FromRaw(ctx, path, out, u.DiskFormat); err != nil {
			return fmt.Errorf("volume %s to %s: %w", v.ID, u.DiskFormat, err)
		}
		path = out
	}
	body := kitagent.FileBody(path)
	var size int64
	resp, err := a.Session.Stream(ctx, a.HTTP, http.MethodPut, a.hostURL("/images/"+url.PathEscape(u.ImageID)+"/file"),
		"application/octet-stream", func() (io.ReadCloser, int64, error) {
			rc, n, err := body()
			size = n
			return rc, n, err
		})
	if err != nil {
		return fmt.Errorf("volume %s to image %s: %w", v.ID, u.ImageID, err)
	}
	resp.Body.Close()
	a.log().Info("volume agent: uploaded to an image", "volume", v.ID, "image", u.ImageID, "format", u.DiskFormat, "bytes", size,
		"took", time.Since(start))
	return nil
}
