package area

import (
	"context"
	"io"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/storage"
)

// The image area's keys this area reads (image/area's ImageGetKey and
// ImageOpenKey), with standard types only, so neither area imports the
// other.
const (
	imageGetKey    = "image.get"
	imageOpenKey   = "image.open"
	imageCreateKey = "image.create"
	imageUploadKey = "image.upload"
	imageDeleteKey = "image.delete"
)

// envImages is storage.Images over the image area's images; without an
// image area every image is unavailable (503).
type envImages struct{ env *compose.Env }

var _ storage.Images = envImages{}

func imageInfo(m map[string]any) storage.ImageInfo {
	str := func(k string) string { s, _ := m[k].(string); return s }
	i := storage.ImageInfo{ID: str("id"), Name: str("name"), Status: str("status"), DiskFormat: str("disk_format"),
		ContainerFormat: str("container_format"), Checksum: str("checksum")}
	i.Size, _ = m["size"].(int64)
	i.VirtualSize, _ = m["virtual_size"].(int64)
	i.MinDisk, _ = m["min_disk"].(int64)
	i.MinRAM, _ = m["min_ram"].(int64)
	i.Properties, _ = m["properties"].(map[string]string)
	i.Locations, _ = m["locations"].([]string)
	return i
}

func (im envImages) Image(ctx context.Context, project, id string) (storage.ImageInfo, error) {
	f, err := compose.Provided[func(context.Context, string, string) (map[string]any, error)](im.env, imageGetKey)
	if err != nil {
		return storage.ImageInfo{}, err
	}
	m, err := f(ctx, project, id)
	if err != nil {
		return storage.ImageInfo{}, err
	}
	return imageInfo(m), nil
}

func (im envImages) Open(ctx context.Context, id string) (io.ReadCloser, storage.ImageInfo, error) {
	f, err := compose.Provided[func(context.Context, string) (io.ReadCloser, map[string]any, error)](im.env, imageOpenKey)
	if err != nil {
		return nil, storage.ImageInfo{}, err
	}
	rc, m, err := f(ctx, id)
	if err != nil {
		return nil, storage.ImageInfo{}, err
	}
	return rc, imageInfo(m), nil
}

func (im envImages) Create(ctx context.Context, project string, spec storage.ImageSpec) (storage.ImageInfo, error) {
	f, err := compose.Provided[func(context.Context, string, map[string]any) (map[string]any, error)](im.env, imageCreateKey)
	if err != nil {
		return storage.ImageInfo{}, err
	}
	m, err := f(ctx, project, map[string]any{"name": spec.Name, "disk_format": spec.DiskFormat, "container_format": spec.ContainerFormat,
		"visibility": spec.Visibility, "protected": spec.Protected, "min_disk": spec.MinDisk, "min_ram": spec.MinRAM,
		"properties": spec.Properties})
	if err != nil {
		return storage.ImageInfo{}, err
	}
	return imageInfo(m), nil
}

func (im envImages) Upload(ctx context.Context, id string, r io.Reader, size int64) error {
	f, err := compose.Provided[func(context.Context, string, io.Reader, int64) error](im.env, imageUploadKey)
	if err != nil {
		return err
	}
	return f(ctx, id, r, size)
}

func (im envImages) Delete(ctx context.Context, id string) error {
	f, err := compose.Provided[func(context.Context, string) error](im.env, imageDeleteKey)
	if err != nil {
		return err
	}
	return f(ctx, id)
}
