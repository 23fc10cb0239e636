package nova

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// metadataKey is parameter_types.metadata's key pattern.
var metadataKey = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)

// nonInheritable are the base image's properties a snapshot does not
// take (Nova's NON_INHERITABLE_IMAGE_PROPERTIES, and its namespaces).
var nonInheritable = []string{"cache_in_nova", "bittorrent", "cinder_encryption_key_id", "cinder_encryption_key_deletion_policy",
	"img_signature", "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"}

// createImage is the createImage action (Nova's snapshot): a private
// image of the caller's project is made, queued, with the instance's
// properties, and the host's agent uploads the disk into it. 202 with
// {"image_id"} from 2.45, else a Location header naming the image.
func (a *API) createImage(w http.ResponseWriter, r *http.Request, q *request, arg any) error {
	body, ok := arg.(map[string]any)
	if !ok {
		return badRequest("Invalid input for field/attribute createImage. Value: %s. %s is not of type 'object'", py(arg), py(arg))
	}
	for k := range body {
		if k != "name" && k != "metadata" {
			return badRequest("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	nv, ok := body["name"]
	if !ok {
		return badRequest("'name' is a required property")
	}
	name, ok := nv.(string)
	if !ok {
		return badRequest("Invalid input for field/attribute name. Value: %s. %s is not of type 'string'", py(nv), py(nv))
	}
	if err := serverName(name); err != nil {
		return err
	}
	props := map[string]string{}
	if mv, ok := body["metadata"]; ok {
		md, ok := mv.(map[string]any)
		if !ok {
			return badRequest("Invalid input for field/attribute metadata. Value: %s. %s is not of type 'object'", py(mv), py(mv))
		}
		for k, v := range md {
			if !metadataKey.MatchString(k) {
				return badRequest("Invalid input for field/attribute metadata. Value: %s. Additional properties are not allowed (%s was unexpected)", py(mv), py(k))
			}
			s, ok := v.(string)
			if !ok {
				return badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string'", k, py(v), py(v))
			}
			if len([]rune(s)) > 255 {
				return badRequest("Invalid input for field/attribute %s. Value: %s. %s is too long", k, s, py(s))
			}
			props[k] = s
		}
	}
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:create_image", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	if i.RootVolume() != nil {
		// Nova snapshots the root volume in Cinder and makes an image that
		// maps it (block_device_mapping); not here yet.
		return badRequest("Snapshots of volume-backed servers are not supported by this cloud yet: snapshot the root volume (openstack volume snapshot create --force).")
	}
	iw, ok := a.Images.(compute.ImageWriter)
	if !ok {
		return fault.New(fault.Unavailable, "No image service takes snapshots.")
	}
	// Nova's state check before the image is made; the store checks it
	// again when it starts the task.
	if err := compute.Actions["snapshot"].Check(i.UUID, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
		return conflict("Cannot 'createImage' instance %s while it is in %s", i.UUID, stateOf(err))
	}
	// The base image's properties, less those a snapshot does not
	// inherit, then Nova's own and the caller's.
	all := map[string]string{}
	var minRAM int64
	if i.ImageRef != "" && a.Images != nil {
		if base, err := a.Images.Image(r.Context(), i.ProjectID, i.ImageRef); err == nil {
			for k, v := range base.Properties {
				if !inheritable(k) {
					continue
				}
				all[k] = v
			}
			minRAM = base.MinRAM
		}
	}
	all["instance_uuid"], all["user_id"], all["image_type"] = i.UUID, q.caller.UserID, "snapshot"
	if i.ImageRef != "" {
		all["base_image_ref"] = i.ImageRef
	}
	if q.caller.ProjectID != i.ProjectID {
		all["instance_owner"] = i.ProjectID
	}
	for k, v := range props {
		all[k] = v
	}
	img, err := iw.CreateSnapshot(r.Context(), q.caller.ProjectID, name, "qcow2", i.Flavor.RootGB, minRAM, all)
	if err != nil {
		return err
	}
	if _, err := a.Store.StartSnapshot(r.Context(), q.viewer(), i.UUID, img.ID); err != nil {
		iw.Delete(r.Context(), img.ID)
		if fault.KindOf(err) == fault.Conflict {
			return conflict("Cannot 'createImage' instance %s while it is in %s", i.UUID, stateOf(err))
		}
		return err
	}
	if q.at(45) {
		httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"image_id": img.ID})
		return nil
	}
	if a.ImageURL != "" {
		w.Header().Set("Location", strings.TrimSuffix(a.ImageURL, "/")+"/images/"+img.ID)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// inheritable reports whether a base image's property goes to its
// snapshots.
func inheritable(k string) bool {
	for _, n := range nonInheritable {
		if k == n {
			return false
		}
	}
	return !strings.HasPrefix(k, "os_glance")
}

// stateOf is "<attr> <state>" of a state refusal ("vm_state building").
func stateOf(err error) string {
	msg := fault.Message(err)
	if i := strings.LastIndex(msg, " in "); i >= 0 {
		return msg[i+4:]
	}
	return msg
}
