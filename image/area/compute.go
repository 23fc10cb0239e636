package area

import (
	"context"
	"io"

	"github.com/google/uuid"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/fault"
)

// Keys under which the image area provides images to the compute area,
// with standard types only, so neither area imports the other:
//
//	ImageGetKey  func(ctx, project, id string) (map[string]any, error)  the image as project sees it
//	ImageOpenKey func(ctx, id string) (io.ReadCloser, map[string]any, error)  its data, for a host building a server of it
//
// The map holds id, name, status, disk_format, container_format, size,
// virtual_size, min_disk, min_ram, checksum and properties
// (map[string]string); ImageOpenKey's also locations ([]string, the
// URLs of the data: rbd://<fsid>/<pool>/<id>/snap in an RBD store).
const (
	ImageGetKey  = "image.get"
	ImageOpenKey = "image.open"
)

func imageMap(img image.Image) map[string]any {
	deref := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	return map[string]any{"id": img.ID, "name": img.Name, "status": string(img.Status), "disk_format": img.DiskFormat,
		"container_format": img.ContainerFormat, "size": deref(img.Size), "virtual_size": deref(img.VirtualSize),
		"min_disk": img.MinDisk, "min_ram": img.MinRAM, "checksum": img.Checksum, "properties": img.Properties}
}

func provideCompute(env *compose.Env, svc *image.Service) {
	env.Provide(ImageGetKey, func(ctx context.Context, project, id string) (map[string]any, error) {
		img, err := svc.Store.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok, err := svc.Store.CanSee(ctx, img, image.Viewer{Project: project}); err != nil {
			return nil, err
		} else if !ok {
			return nil, fault.New(fault.NotFound, "No image found with ID %s", id)
		}
		return imageMap(img), nil
	})
	env.Provide(ImageOpenKey, func(ctx context.Context, id string) (io.ReadCloser, map[string]any, error) {
		img, err := svc.Store.Get(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if img.Status != image.Active {
			return nil, nil, fault.New(fault.Conflict, "Image %s is %s, not active", id, img.Status)
		}
		rc, err := svc.Download(ctx, img, 0, -1, true)
		if err != nil {
			return nil, nil, err
		}
		m := imageMap(img)
		// Where the data is, for a volume backend that can clone it
		// (an RBD store's rbd:// URL); the caller keeps it internal.
		urls := make([]string, len(img.Locations))
		for i, l := range img.Locations {
			urls[i] = svc.LocationURL(img.ID, l)
		}
		m["locations"] = urls
		return rc, m, nil
	})
}

// ImageImportKey is where the image area provides a way to add an image
// from a reader (the compute area's default guest image):
//
//	func(ctx context.Context, owner, name, diskFormat string, public bool, r io.Reader, size int64) (id string, err error)
//
// An image of that owner and name that is already active is kept and
// its id returned.
const ImageImportKey = "image.import"

// Keys under which the image area provides what a server's snapshot
// (Nova's createImage) needs:
//
//	ImageSnapshotKey func(ctx, owner, name, diskFormat string, minDisk, minRAM int64, props map[string]string) (map[string]any, error)
//	ImageUploadKey   func(ctx, id string, r io.Reader, size int64) error
//	ImageDeleteKey   func(ctx, id string) error
//
// The snapshot is a private image of owner, container bare, queued
// until its data is uploaded (inspected as any upload is).
const (
	ImageSnapshotKey = "image.snapshot"
	ImageUploadKey   = "image.upload"
	ImageDeleteKey   = "image.delete"
)

func provideSnapshots(env *compose.Env, svc *image.Service) {
	env.Provide(ImageSnapshotKey, func(ctx context.Context, owner, name, diskFormat string, minDisk, minRAM int64, props map[string]string) (map[string]any, error) {
		img, err := svc.Store.Create(ctx, image.Image{ID: uuid.NewString(), Name: name, Owner: owner, Visibility: image.Private,
			DiskFormat: diskFormat, ContainerFormat: "bare", MinDisk: minDisk, MinRAM: minRAM, Properties: props})
		if err != nil {
			return nil, err
		}
		return imageMap(img), nil
	})
	env.Provide(ImageUploadKey, func(ctx context.Context, id string, r io.Reader, size int64) error {
		_, err := svc.Upload(ctx, id, r, size)
		return err
	})
	env.Provide(ImageDeleteKey, func(ctx context.Context, id string) error {
		if err := svc.Delete(ctx, id); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		return nil
	})
}

// ImageCreateKey is where the image area provides a new image for a
// volume's upload (Cinder's os-volume_upload_image):
//
//	func(ctx context.Context, owner string, spec map[string]any) (map[string]any, error)
//
// spec holds name, disk_format, container_format, visibility (string),
// protected (bool), min_disk, min_ram (int64) and properties
// (map[string]string); the image is queued until ImageUploadKey sends
// its data. The answer is the image as ImageGetKey's.
const ImageCreateKey = "image.create"

func provideCreate(env *compose.Env, svc *image.Service) {
	env.Provide(ImageCreateKey, func(ctx context.Context, owner string, spec map[string]any) (map[string]any, error) {
		str := func(k string) string { v, _ := spec[k].(string); return v }
		num := func(k string) int64 { v, _ := spec[k].(int64); return v }
		props, _ := spec["properties"].(map[string]string)
		protected, _ := spec["protected"].(bool)
		vis := str("visibility")
		if vis == "" {
			vis = image.Private
		}
		img, err := svc.Store.Create(ctx, image.Image{ID: uuid.NewString(), Name: str("name"), Owner: owner, Visibility: vis,
			Protected: protected, DiskFormat: str("disk_format"), ContainerFormat: str("container_format"), MinDisk: num("min_disk"),
			MinRAM: num("min_ram"), Properties: props})
		if err != nil {
			return nil, err
		}
		return imageMap(img), nil
	})
}

func provideImport(env *compose.Env, svc *image.Service) {
	env.Provide(ImageImportKey, func(ctx context.Context, owner, name, diskFormat string, public bool, r io.Reader, size int64) (string, error) {
		have, _, err := svc.Store.List(ctx, image.Viewer{Project: owner}, image.Filter{Owner: owner, Name: []string{name}, Status: []image.Status{image.Active}}, image.Page{})
		if err != nil {
			return "", err
		}
		if len(have) > 0 {
			return have[0].ID, nil
		}
		vis := image.Shared
		if public {
			vis = image.Public
		}
		img, err := svc.Store.Create(ctx, image.Image{ID: uuid.NewString(), Name: name, Owner: owner, Visibility: vis, DiskFormat: diskFormat, ContainerFormat: "bare"})
		if err != nil {
			return "", err
		}
		if _, err := svc.Upload(ctx, img.ID, r, size); err != nil {
			return "", err
		}
		return img.ID, nil
	})
}
