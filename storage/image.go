package storage

import (
	"context"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/kit/fault"
)

// ImageInfo is an image as the block-storage area reads it from the
// image service: what a volume made from it is checked against and
// keeps (Cinder's volume_image_metadata).
type ImageInfo struct {
	ID, Name, Status            string
	DiskFormat, ContainerFormat string
	Checksum                    string
	Size, VirtualSize           int64 // bytes; VirtualSize 0 when unknown
	MinDisk, MinRAM             int64 // GiB, MiB
	Properties                  map[string]string
	// Locations are the URLs of the image's data (Open's only): an
	// rbd:// one lets a backend on the same Ceph cluster clone it.
	// Internal: never shown to a project.
	Locations []string
}

// Images is the image service as the block-storage area uses it.
type Images interface {
	// Image is image id as project sees it (fault.NotFound otherwise).
	Image(ctx context.Context, project, id string) (ImageInfo, error)
	// Open reads image id's data, for the agent of the backend making a
	// volume of it.
	Open(ctx context.Context, id string) (io.ReadCloser, ImageInfo, error)
	// Create makes a queued image of project for a volume's upload;
	// Upload sends its data (which the image service inspects), Delete
	// removes one whose upload failed (gone already is no error).
	Create(ctx context.Context, project string, spec ImageSpec) (ImageInfo, error)
	Upload(ctx context.Context, id string, r io.Reader, size int64) error
	Delete(ctx context.Context, id string) error
}

// ImageSpec is a new image for a volume's upload (Cinder's
// os-volume_upload_image): its name, formats, visibility, protection,
// minimums and properties.
type ImageSpec struct {
	Name, DiskFormat, ContainerFormat string
	Visibility                        string
	Protected                         bool
	MinDisk, MinRAM                   int64
	Properties                        map[string]string
}

// glanceCoreProperties are Cinder's glance_core_properties: volume image
// metadata that is not copied into an uploaded image's properties.
var glanceCoreProperties = []string{"checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk",
	"min_ram", "name", "size"}

// UploadProperties is Cinder's _merge_volume_image_meta: the volume's
// image metadata, less Glance's core properties, as the properties of
// an image uploaded from it (so an image of a volume made from an image
// keeps, say, its os_distro and hw_* properties).
func UploadProperties(v Volume) map[string]string {
	out := map[string]string{}
	for k, val := range v.ImageMetadata {
		if !slices.Contains(glanceCoreProperties, k) && !reservedProperty(k) {
			out[k] = val
		}
	}
	return out
}

// reservedProperty is Cinder's filter_out_reserved_namespaces_metadata:
// the image service's own os_glance properties and an image's
// signature (img_signature*), which would be false of new content.
func reservedProperty(k string) bool {
	return strings.HasPrefix(k, "os_glance") || strings.HasPrefix(k, "img_signature")
}

const gib = 1 << 30

// CheckImage is Cinder's check_image_metadata of an image for a volume
// of size GiB: the image active, its size (rounded up to GiB) and
// virtual size no larger than the volume, the volume no smaller than the
// image's min_disk; and not compressed (container_format compressed,
// which Cinder decompresses). Refusals are Cinder's InvalidInput and
// ImageUnacceptable (400).
func CheckImage(img ImageInfo, size int64) error {
	if img.Status != "active" {
		return invalidInput("Image %s is not active.", img.ID)
	}
	if img.ContainerFormat == "compressed" {
		// Cinder decompresses such images; not here.
		return invalidInput("Image %s is compressed (container_format compressed): volumes are not made from compressed images here.", img.ID)
	}
	if gb := (img.Size + gib - 1) / gib; gb > size {
		return invalidInput("Size of specified image %dGB is larger than volume size %dGB.", gb, size)
	}
	if size < img.MinDisk {
		return invalidInput("Volume size %dGB cannot be smaller than the image minDisk size %dGB.", size, img.MinDisk)
	}
	if img.VirtualSize > 0 {
		if gb := (img.VirtualSize + gib - 1) / gib; gb > size {
			return cinderError(fault.BadRequest, "ImageUnacceptable",
				"Image %s is unacceptable: Image virtual size is %dGB and doesn't fit in a volume of size %dGB.", img.ID, gb, size)
		}
	}
	return nil
}

// ImageMetadata is Cinder's get_volume_image_metadata: the image's
// properties, then its id, name, checksum, formats, min_disk, min_ram
// and size over them, as strings.
func ImageMetadata(img ImageInfo) map[string]string {
	md := maps.Clone(img.Properties)
	if md == nil {
		md = map[string]string{}
	}
	md["image_id"] = img.ID
	if img.Name != "" {
		md["image_name"] = img.Name
	}
	for k, v := range map[string]string{"checksum": img.Checksum, "container_format": img.ContainerFormat,
		"disk_format": img.DiskFormat} {
		if v != "" {
			md[k] = v
		}
	}
	md["min_disk"] = strconv.FormatInt(img.MinDisk, 10)
	md["min_ram"] = strconv.FormatInt(img.MinRAM, 10)
	md["size"] = strconv.FormatInt(img.Size, 10)
	return md
}
