package storage

import (
	"context"
	"maps"
	"regexp"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// imageMetadataKey is what Cinder's schema of os-set_image_metadata
// takes as a key (parameter_types.extra_specs).
var imageMetadataKey = regexp.MustCompile(`^[a-zA-Z0-9\-_:. /]{1,255}$`)

// checkImageMetadata refuses what Cinder's schema of
// os-set_image_metadata refuses: a key outside [a-zA-Z0-9-_:. /] or of
// 0 or over 255 characters, a value over 255.
func checkImageMetadata(md map[string]string) error {
	for k, v := range md {
		if !imageMetadataKey.MatchString(k) {
			return cinderError(fault.BadRequest, "InvalidVolumeMetadata",
				"Invalid metadata: image metadata key %q must be 1 to 255 of the characters a-z, A-Z, 0-9, -, _, :, ., space and /.", k)
		}
		if utf8.RuneCountInString(v) > metadataMax {
			return cinderError(fault.BadRequest, "InvalidVolumeMetadataSize",
				"Invalid metadata size: Metadata property key %s value greater than 255 characters.", k)
		}
		if err := checkText("metadata", v, len(v)); err != nil {
			return err
		}
	}
	return nil
}

// SetVolumeImageMetadata sets the keys of md in volume id's image
// metadata (Cinder's os-set_image_metadata: what a volume made from an
// image keeps of it, volume_image_metadata, which Nova reads for a
// server booted from the volume and an upload gives the new image) and
// returns all of it after. Refused while the volume is in maintenance
// or uploading, with Cinder's message.
func (s *Store) SetVolumeImageMetadata(ctx context.Context, v Viewer, id string, md map[string]string) (map[string]string, error) {
	if err := checkImageMetadata(md); err != nil {
		return nil, err
	}
	vol, err := s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if vol.Status == VolumeMaintenance || vol.Status == VolumeUploading {
			return invalidVolume("Updating volume metadata is not allowed for volumes in %s status.", vol.Status)
		}
		if len(md) == 0 {
			return errUnchanged
		}
		if vol.ImageMetadata == nil {
			vol.ImageMetadata = map[string]string{}
		}
		maps.Copy(vol.ImageMetadata, md)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if vol.ImageMetadata == nil {
		return map[string]string{}, nil
	}
	return vol.ImageMetadata, nil
}

func glanceMetadataNotFound(id string) error {
	return cinderError(fault.NotFound, "GlanceMetadataNotFound", "Glance metadata for volume/snapshot %s cannot be found.", id)
}

// VolumeImageMetadata is volume id's image metadata (Cinder's
// get_volume_image_metadata): GlanceMetadataNotFound (404) when it has
// none.
func (s *Store) VolumeImageMetadata(ctx context.Context, v Viewer, id string) (map[string]string, error) {
	vol, err := s.Volume(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if len(vol.ImageMetadata) == 0 {
		return nil, glanceMetadataNotFound(id)
	}
	return vol.ImageMetadata, nil
}

// DeleteVolumeImageMetadata removes key from volume id's image metadata
// (Cinder's os-unset_image_metadata): GlanceMetadataNotFound (404) when
// it has no such key, and refused while the volume is in maintenance or
// uploading, in Cinder's order.
func (s *Store) DeleteVolumeImageMetadata(ctx context.Context, v Viewer, id, key string) error {
	_, err := s.writeVolume(ctx, id, func(_ *sqlstore.Tx, vol *Volume) error {
		if !v.sees(vol.ProjectID) {
			return volumeNotFound(id)
		}
		if _, ok := vol.ImageMetadata[key]; !ok {
			return glanceMetadataNotFound(id)
		}
		if vol.Status == VolumeMaintenance || vol.Status == VolumeUploading {
			return invalidVolume("Deleting volume metadata is not allowed for volumes in %s status.", vol.Status)
		}
		delete(vol.ImageMetadata, key)
		return nil
	})
	return err
}
