package nova

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
)

// rootBDM is the boot device a server's block_device_mapping_v2 asks
// for, as far as this cloud serves it: a root volume (boot from
// volume), made from Source, or the image itself (an image boot written
// as a mapping).
type rootBDM struct {
	// Source is "volume", "image" or "snapshot"; ID its uuid.
	Source, ID string
	// Local is an image mapped to a local disk: an image boot.
	Local bool
	// Size is the new volume's size in GiB (0: the snapshot's).
	Size                int64
	DeleteOnTermination bool
	VolumeType          string
	Tag                 string
}

// bdmKeys are the keys of a block_device_mapping_v2 item Nova's schema
// takes, by the microversion they came with.
var bdmKeys = map[string]int{"virtual_name": 0, "volume_id": 0, "snapshot_id": 0, "volume_size": 0, "device_name": 0,
	"delete_on_termination": 0, "no_device": 0, "connection_info": 0, "source_type": 0, "uuid": 0, "image_id": 0,
	"destination_type": 0, "guest_format": 0, "device_type": 0, "disk_bus": 0, "boot_index": 0, "tag": 42, "volume_type": 67}

var (
	bdmUUID   = regexp.MustCompile(`^[a-zA-Z0-9._-]*$`)
	bdmDevice = regexp.MustCompile(`^[a-zA-Z0-9._/-]*$`)
	bdmIndex  = regexp.MustCompile(`^-?[0-9]+$`)
	bdmSize   = regexp.MustCompile(`^[0-9]+$`)
)

// invalidBDM is Nova's InvalidBDM family (400).
func invalidBDM(format string, args ...any) error {
	return badRequest("Block Device Mapping is Invalid: "+format, args...)
}

// parseBDMs reads block_device_mapping_v2 as Nova's schema and
// _validate_bdm check it, then keeps what this cloud serves: one boot
// device (boot index 0) that is a volume, a new volume of an image or a
// snapshot, or the image as the local root disk. Other mappings (extra
// volumes, blank volumes, swap and ephemeral disks) are refused with a
// 400 that says so. imageRef is the server's (an image boot needs no
// mapping for its root).
func parseBDMs(q *request, raw any, imageRef string) (*rootBDM, error) {
	items, ok := raw.([]any)
	if !ok {
		return nil, badRequest("Invalid input for field/attribute block_device_mapping_v2. Value: %s. %s is not of type 'array'", pyBare(raw), py(raw))
	}
	var root *rootBDM
	var indexes []int
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, badRequest("Invalid input for field/attribute block_device_mapping_v2. Value: %s. %s is not of type 'object'", py(raw), py(it))
		}
		for k := range m {
			if since, ok := bdmKeys[k]; !ok || !q.at(since) {
				return nil, badRequest("Invalid input for field/attribute block_device_mapping_v2. Value: %s. Additional properties are not allowed (%s was unexpected)",
					py(raw), py(k))
			}
		}
		str := func(k string, re *regexp.Regexp, max int) (string, error) {
			v, ok := m[k]
			if !ok || v == nil {
				return "", nil
			}
			s, isStr := v.(string)
			if !isStr || len(s) > max || re != nil && !re.MatchString(s) {
				return "", badRequest("Invalid input for field/attribute %s. Value: %s. %s is not a valid value", k, pyBare(v), py(v))
			}
			return s, nil
		}
		source, err := str("source_type", nil, 255)
		if err != nil {
			return nil, err
		}
		dest, err := str("destination_type", nil, 255)
		if err != nil {
			return nil, err
		}
		switch source {
		case "", "volume", "image", "snapshot", "blank":
		default:
			return nil, badRequest("Invalid input for field/attribute source_type. Value: %s. %s is not one of ['volume', 'image', 'snapshot', 'blank']", source, py(source))
		}
		switch dest {
		case "", "local", "volume":
		default:
			return nil, badRequest("Invalid input for field/attribute destination_type. Value: %s. %s is not one of ['local', 'volume']", dest, py(dest))
		}
		id, err := str("uuid", bdmUUID, 255)
		if err != nil {
			return nil, err
		}
		if _, err := str("device_name", bdmDevice, 255); err != nil {
			return nil, err
		}
		tag, err := str("tag", nil, 60)
		if err != nil {
			return nil, err
		}
		vtype, err := str("volume_type", nil, 255)
		if err != nil {
			return nil, err
		}
		index := -1
		if v, ok := m["boot_index"]; ok && v != nil {
			s := fmt.Sprint(v)
			if n, isNum := v.(json.Number); isNum {
				s = n.String()
			}
			if _, isBool := v.(bool); isBool || !bdmIndex.MatchString(s) {
				return nil, badRequest("Invalid input for field/attribute boot_index. Value: %s. %s is not valid under any of the given schemas", pyBare(v), py(v))
			}
			if index, err = strconv.Atoi(s); err != nil {
				return nil, invalidBDM("Boot index %s is not an integer.", s)
			}
		}
		var size int64
		if v, ok := m["volume_size"]; ok && v != nil {
			s := fmt.Sprint(v)
			if n, isNum := v.(json.Number); isNum {
				s = n.String()
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if _, isBool := v.(bool); isBool || !bdmSize.MatchString(s) || err != nil || n > 2147483647 {
				return nil, badRequest("Invalid input for field/attribute volume_size. Value: %s. %s is not valid under any of the given schemas", pyBare(v), py(v))
			}
			if n < 1 {
				return nil, badRequest("Invalid input for field/attribute volume_size. Value: %s. %s is less than the minimum of 1", pyBare(v), py(v))
			}
			size = n
		}
		del := false
		if v, ok := m["delete_on_termination"]; ok && v != nil {
			b, isBool := v.(bool)
			if s, isStr := v.(string); isStr {
				b, isBool = map[string]bool{"true": true, "True": true, "1": true, "false": false, "False": false, "0": false}[s]
			}
			if !isBool {
				return nil, badRequest("Invalid input for field/attribute delete_on_termination. Value: %s. %s is not of type 'boolean', 'string'", pyBare(v), py(v))
			}
			del = b
		}
		if index >= 0 {
			indexes = append(indexes, index)
		}
		if index != 0 {
			return nil, badRequest("Block device mappings other than the boot device (boot_index 0) are not supported by this cloud yet.")
		}
		if source == "" || (source != "image" && dest == "local") || source == "blank" || (dest == "" && source != "image") {
			return nil, badRequest("Block device mapping %s to %s is not supported by this cloud yet: the boot device is a volume, "+
				"a new volume of an image or a snapshot, or the image itself.", orDash(source), orDash(dest))
		}
		if id == "" {
			return nil, invalidBDM("the boot device has no uuid.")
		}
		if _, err := uuid.Parse(id); err != nil {
			switch source {
			case "volume":
				return nil, invalidBDM("failed to get volume %s.", id)
			case "snapshot":
				return nil, invalidBDM("failed to get snapshot %s.", id)
			}
			return nil, invalidBDM("failed to get image %s.", id)
		}
		root = &rootBDM{Source: source, ID: id, Local: dest != "volume", Size: size, DeleteOnTermination: del, VolumeType: vtype, Tag: tag}
		if root.Source == "image" && !root.Local && size == 0 {
			return nil, badRequest("Block Device Mapping is Invalid: Images with destination_type 'volume' need to have a non-zero size specified")
		}
	}
	if root == nil {
		if imageRef != "" {
			return nil, nil // the image boots, as with no mapping
		}
		return nil, badRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
	}
	if len(indexes) != 1 {
		return nil, badRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
	}
	return root, nil
}

func orDash(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// rootVolume is the instance's root volume for bdm: the volume itself
// (reserved by the caller), or the one the builder will make, whose id
// is chosen now.
func (b *rootBDM) rootVolume() compute.InstanceVolume {
	x := compute.InstanceVolume{ID: uuid.NewString(), Device: "/dev/vda", Tag: b.Tag, DeleteOnTermination: b.DeleteOnTermination, Root: true}
	switch b.Source {
	case "volume":
		x.VolumeID = b.ID
	default:
		x.VolumeID = uuid.NewString()
		x.Source = &compute.VolumeSource{Type: b.Source, ID: b.ID, Size: b.Size, VolumeType: b.VolumeType}
	}
	return x
}
