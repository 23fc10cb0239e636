package nova

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) serverRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /servers", a.op(a.listServers(false)))
	rt.HandleFunc("GET /servers/detail", a.op(a.listServers(true)))
	rt.HandleFunc("POST /servers", a.op(a.createServer))
	rt.HandleFunc("GET /servers/{id}", a.op(a.showServer))
	rt.HandleFunc("PUT /servers/{id}", a.op(a.updateServer))
	rt.HandleFunc("DELETE /servers/{id}", a.op(a.deleteServer))
	rt.HandleFunc("POST /servers/{id}/action", a.op(a.serverAction))
}

// hostID is Nova's hostId: a hash of the project and the host, so a
// project can tell its servers' hosts apart without learning them.
func hostID(project, host string) string {
	if host == "" {
		return ""
	}
	sum := sha256.Sum224([]byte(project + host))
	return hex.EncodeToString(sum[:])
}

// serverView is Nova's views/servers.py show(): the detail of a server
// at the request's microversion.
func (a *API) serverView(r *http.Request, q *request, i compute.Instance) map[string]any {
	out := map[string]any{
		"id": i.UUID, "name": i.Name, "status": i.Status(), "tenant_id": i.ProjectID, "user_id": i.UserID,
		"metadata": i.Metadata, "hostId": hostID(i.ProjectID, i.Host),
		"created": isoTime(i.CreatedAt), "updated": isoTime(i.UpdatedAt),
		"addresses": addresses(i), "accessIPv4": "", "accessIPv6": "",
		"links":                                resourceLinks(r, "servers", i.UUID),
		"OS-DCF:diskConfig":                    "MANUAL",
		"key_name":                             nilIfEmpty(i.KeyName),
		"config_drive":                         map[bool]string{true: "True", false: ""}[i.ConfigDrive],
		"OS-EXT-AZ:availability_zone":          i.AvailabilityZone,
		"OS-EXT-STS:vm_state":                  string(i.VMState),
		"OS-EXT-STS:task_state":                taskOrNil(i.TaskState),
		"OS-EXT-STS:power_state":               int(i.PowerState),
		"OS-SRV-USG:launched_at":               timeOrNil(i.LaunchedAt),
		"OS-SRV-USG:terminated_at":             timeOrNil(i.TerminatedAt),
		"os-extended-volumes:volumes_attached": volumesAttached(q, i),
		"security_groups":                      securityGroups(i.Networks),
	}
	if i.ImageRef != "" {
		out["image"] = map[string]any{"id": i.ImageRef, "links": []httpapi.Link{{Rel: "bookmark", Href: baseURL(r) + "/images/" + i.ImageRef}}}
	} else {
		out["image"] = ""
	}
	if q.at(47) {
		fl := map[string]any{"vcpus": i.Flavor.VCPUs, "ram": i.Flavor.MemoryMB, "disk": i.Flavor.RootGB,
			"ephemeral": i.Flavor.EphemeralGB, "swap": i.Flavor.SwapMB, "original_name": i.Flavor.Name}
		if a.authorize(r.Context(), q, "os_compute_api:servers:show:flavor-extra-specs", map[string]any{"project_id": i.ProjectID}) == nil {
			specs := i.Flavor.ExtraSpecs
			if specs == nil {
				specs = map[string]string{}
			}
			fl["extra_specs"] = specs
		}
		out["flavor"] = fl
	} else {
		out["flavor"] = map[string]any{"id": i.Flavor.ID, "links": []httpapi.Link{{Rel: "bookmark", Href: baseURL(r) + "/flavors/" + i.Flavor.ID}}}
	}
	switch i.Status() {
	case "BUILD", "ACTIVE", "VERIFY_RESIZE", "RESIZE", "MIGRATING", "REBUILD":
		out["progress"] = 0
	}
	if i.Fault != nil && (i.VMState == compute.Error || i.VMState == compute.Deleted) {
		f := map[string]any{"code": i.Fault.Code, "message": i.Fault.Message, "created": isoTime(i.Fault.Created)}
		// Nova shows details to admins, and to anyone for a fault that is
		// not a server error.
		if q.admin || i.Fault.Code != 500 {
			f["details"] = i.Fault.Details
		}
		out["fault"] = f
	}
	if a.authorize(r.Context(), q, "os_compute_api:os-extended-server-attributes", map[string]any{"project_id": i.ProjectID}) == nil {
		out["OS-EXT-SRV-ATTR:host"] = nilIfEmpty(i.Host)
		out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = nilIfEmpty(i.Node)
		out["OS-EXT-SRV-ATTR:instance_name"] = "instance-" + i.UUID
		if q.at(3) {
			out["OS-EXT-SRV-ATTR:hostname"] = i.Hostname
			out["OS-EXT-SRV-ATTR:reservation_id"] = i.ReservationID
			out["OS-EXT-SRV-ATTR:launch_index"] = i.LaunchIndex
			out["OS-EXT-SRV-ATTR:kernel_id"] = ""
			out["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
			out["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
			out["OS-EXT-SRV-ATTR:user_data"] = nilIfEmpty(i.UserData)
		}
	}
	if q.at(9) {
		out["locked"] = i.Locked
	}
	if q.at(19) {
		if i.Description != nil {
			out["description"] = *i.Description
		} else {
			out["description"] = nil
		}
	}
	if q.at(26) {
		out["tags"] = []string{}
	}
	if q.at(63) {
		out["trusted_image_certificates"] = nil
	}
	if q.at(71) {
		groups := []string{}
		if i.ServerGroup != "" {
			groups = append(groups, i.ServerGroup)
		}
		out["server_groups"] = groups
	}
	if q.at(73) {
		out["locked_reason"] = nil
	}
	if q.at(90) {
		out["OS-EXT-SRV-ATTR:hostname"] = i.Hostname
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func taskOrNil(t compute.TaskState) any {
	if t == compute.NoTask {
		return nil
	}
	return string(t)
}

// timeOrNil is a time as Nova's usage extension shows it (microseconds,
// no zone), or null.
func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000")
}

// addresses is Nova's addresses: by network name, each fixed IP with
// its version and the port's MAC.
func addresses(i compute.Instance) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, p := range i.Ports {
		label := p.Network
		if label == "" {
			label = p.NetworkID
		}
		list := out[label]
		for _, ip := range p.IPs {
			v := 4
			if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
				v = 6
			}
			list = append(list, map[string]any{"version": v, "addr": ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.MAC})
		}
		if list == nil {
			list = []map[string]any{}
		}
		out[label] = list
	}
	return out
}

// securityGroups are the server's groups as Nova shows them, by name:
// those it was created with, else the project's default.
func securityGroups(nets []compute.NetworkRequest) []map[string]string {
	for _, n := range nets {
		if len(n.SecurityGroups) > 0 {
			out := make([]map[string]string, len(n.SecurityGroups))
			for i, g := range n.SecurityGroups {
				out[i] = map[string]string{"name": g}
			}
			return out
		}
	}
	return []map[string]string{{"name": "default"}}
}

// brief is a server in a plain list: id, name, links.
func brief(r *http.Request, i compute.Instance) map[string]any {
	return map[string]any{"id": i.UUID, "name": i.Name, "links": resourceLinks(r, "servers", i.UUID)}
}

func (a *API) listServers(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		rule := "os_compute_api:servers:index"
		if detail {
			rule = "os_compute_api:servers:detail"
		}
		if err := a.authorize(r.Context(), q, rule, map[string]any{"project_id": q.caller.ProjectID}); err != nil {
			return err
		}
		qs := r.URL.Query()
		f := compute.InstanceFilter{Name: qs.Get("name"), Status: qs.Get("status"), Marker: qs.Get("marker")}
		limit, _, err := pageLimit(r)
		if err != nil {
			return err
		}
		f.Limit = limit
		if at, ok := qs["all_tenants"]; ok && q.admin {
			v := strings.ToLower(at[0])
			f.AllProjects = v == "" || v == "1" || v == "true" || v == "t" || v == "yes" || v == "y" || v == "on"
			if f.AllProjects {
				if err := a.authorize(r.Context(), q, "os_compute_api:servers:index:get_all_tenants", map[string]any{"project_id": q.caller.ProjectID}); err != nil {
					return err
				}
			}
			f.ProjectID = qs.Get("project_id")
			if f.ProjectID == "" {
				f.ProjectID = qs.Get("tenant_id")
			}
		}
		for _, k := range []string{"host", "project_id", "tenant_id", "name", "status"} {
			if !plain(qs.Get(k)) {
				return badRequest("Invalid filter value for %s", k)
			}
		}
		if q.admin {
			f.Host = qs.Get("host")
			if d := strings.ToLower(qs.Get("deleted")); d == "true" || d == "1" {
				f.Deleted = true
			}
		}
		if limit == 0 {
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"servers": []any{}})
			return nil
		}
		is, err := a.Store.Instances(r.Context(), q.viewer(), f)
		if err != nil {
			return err
		}
		list := make([]any, len(is))
		for n, i := range is {
			if detail {
				list[n] = a.serverView(r, q, i)
			} else {
				list[n] = brief(r, i)
			}
		}
		body := map[string]any{"servers": list}
		coll := "servers"
		if detail {
			coll = "servers/detail"
		}
		if len(is) > 0 {
			if l := nextLinks(r, coll, len(is), is[len(is)-1].UUID); l != nil {
				body["servers_links"] = l
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
		return nil
	}
}

func (a *API) server(r *http.Request, q *request) (compute.Instance, error) {
	return a.Store.Instance(r.Context(), q.viewer(), r.PathValue("id"))
}

func (a *API) showServer(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:show", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"server": a.serverView(r, q, i)})
	return nil
}

// hostnamePattern is what Nova makes a hostname of a display name
// (utils.sanitize_hostname): lower case, letters, digits and '-'.
var hostnameStrip = regexp.MustCompile(`[^\w.-]+`)

func sanitizeHostname(name string) string {
	h := strings.ToLower(name)
	h = strings.NewReplacer(" ", "-", "_", "-").Replace(h)
	h = hostnameStrip.ReplaceAllString(h, "")
	h = strings.ReplaceAll(h, ".", "-")
	if len(h) > 63 {
		h = h[:63]
	}
	h = strings.Trim(h, ".-")
	if h == "" {
		h = "server"
	}
	return h
}

// serverName checks Nova's server name: parameter_types.name (1–255
// printable characters, no leading or trailing whitespace).
func serverName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return badRequest("Invalid input for field/attribute name. Value: . '' is too short")
	case n > 255:
		return badRequest("Invalid input for field/attribute name. Value: %s. %s is too long", name, py(name))
	}
	if strings.TrimSpace(name) != name || strings.IndexFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return badRequest("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
	}
	return nil
}

var createFields = []string{"name", "imageRef", "flavorRef", "networks", "key_name", "user_data", "config_drive", "availability_zone",
	"metadata", "min_count", "max_count", "return_reservation_id", "security_groups", "adminPass", "accessIPv4", "accessIPv6",
	"OS-DCF:diskConfig", "block_device_mapping_v2", "description", "hostname", "tags", "personality"}

func (a *API) createServer(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:create", map[string]any{"project_id": q.caller.ProjectID, "user_id": q.caller.UserID}); err != nil {
		return err
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return badRequest("Invalid input for field/attribute . Value: %s. %s is not of type 'object'", py(v), py(v))
	}
	if _, ok := top["server"]; !ok {
		return badRequest("'server' is a required property")
	}
	hints, _ := top["os:scheduler_hints"].(map[string]any)
	if hints == nil {
		hints, _ = top["OS-SCH-HNT:scheduler_hints"].(map[string]any)
	}
	s, err := topObject(map[string]any{"server": top["server"]}, "server")
	if err != nil {
		return err
	}
	if err := s.only(createFields...); err != nil {
		return err
	}
	if err := s.required("name", "flavorRef"); err != nil {
		return err
	}
	if q.at(37) {
		if err := s.required("networks"); err != nil {
			return err
		}
	}
	name, _, err := s.str("name")
	if err != nil {
		return err
	}
	if err := serverName(name); err != nil {
		return err
	}
	imageRef, _, err := s.str("imageRef")
	if err != nil {
		return err
	}
	imageRef = idFromHref(imageRef)
	// Boot from volume: the root disk a volume (block_device_mapping_v2),
	// or the image written as a mapping.
	var root *rootBDM
	if raw, ok := s.m["block_device_mapping_v2"]; ok {
		if root, err = parseBDMs(q, raw, imageRef); err != nil {
			return err
		}
		if root != nil && root.Local {
			imageRef, root = root.ID, nil
		}
	}
	if root != nil {
		imageRef = "" // a volume-backed server has no image (Nova's image_ref '')
	} else if imageRef == "" {
		return badRequest("Missing imageRef attribute")
	} else if _, err := uuid.Parse(imageRef); err != nil {
		return badRequest("Invalid input for field/attribute imageRef. Value: %s. %s is not a 'uuid'", imageRef, py(imageRef))
	}
	flavorRef := idFromHref(fmt.Sprint(s.m["flavorRef"]))
	if !plain(flavorRef) || flavorRef == "" || len(flavorRef) > 255 {
		return badRequest("Flavor %s could not be found.", strings.ToValidUTF8(flavorRef, "?"))
	}
	inst := compute.Instance{UUID: uuid.NewString(), ProjectID: q.caller.ProjectID, UserID: q.caller.UserID, Name: name,
		Hostname: sanitizeHostname(name), ImageRef: imageRef, ReservationID: "r-" + randomString(8)}
	if q.at(90) {
		if h, ok, err := s.str("hostname"); err != nil {
			return err
		} else if ok {
			if err := checkHostname(h); err != nil {
				return err
			}
			inst.Hostname = h
		}
	}
	if q.at(19) {
		if d, ok := s.m["description"]; ok && d != nil {
			ds, err := description(d)
			if err != nil {
				return err
			}
			inst.Description = &ds
		}
	}
	// The flavor and the image.
	fl, err := a.Store.Flavor(r.Context(), q.viewer(), flavorRef)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return badRequest("Flavor %s could not be found.", flavorRef)
		}
		return err
	}
	if fl.Disabled {
		return badRequest("Flavor %s could not be found.", flavorRef)
	}
	inst.Flavor = compute.InstanceFlavor{ID: fl.FlavorID, Name: fl.Name, VCPUs: int(fl.VCPUs), MemoryMB: fl.MemoryMB, RootGB: fl.RootGB,
		EphemeralGB: fl.EphemeralGB, SwapMB: fl.Swap, ExtraSpecs: fl.ExtraSpecs}
	if root != nil {
		if err := a.checkRoot(r, q, root, fl); err != nil {
			return err
		}
	} else {
		if a.Images == nil {
			return badRequest("Image %s could not be found.", imageRef)
		}
		img, err := a.Images.Image(r.Context(), q.caller.ProjectID, imageRef)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return badRequest("Image %s could not be found.", imageRef)
			}
			return err
		}
		if img.Status != "active" {
			return badRequest("Image %s is not active.", imageRef)
		}
		if err := checkImageFits(img, fl); err != nil {
			return err
		}
	}
	// Key pair, user data, config drive, zone, metadata.
	if kn, ok, err := s.str("key_name"); err != nil {
		return err
	} else if ok {
		if !plain(kn) {
			return badRequest("Invalid key_name provided.")
		}
		kp, err := a.Store.KeyPair(r.Context(), q.caller.UserID, kn)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return badRequest("Invalid key_name provided.")
			}
			return err
		}
		inst.KeyName, inst.KeyData = kp.Name, kp.PublicKey
	}
	if ud, ok, err := s.str("user_data"); err != nil {
		return err
	} else if ok {
		if len(ud) > 65535 {
			return badRequest("Invalid input for field/attribute user_data. Value: %s. %s is too long", ud[:16]+"...", py(ud[:16]+"..."))
		}
		if _, err := base64.StdEncoding.DecodeString(ud); err != nil {
			return badRequest("User data needs to be valid base 64.")
		}
		inst.UserData = ud
	}
	if cd, ok := s.m["config_drive"]; ok {
		switch c := cd.(type) {
		case bool:
			inst.ConfigDrive = c
		case string:
			inst.ConfigDrive = c == "true" || c == "True" || c == "1"
		default:
			return badRequest("Invalid input for field/attribute config_drive. Value: %s. %s is not of type 'boolean', 'string'", py(cd), py(cd))
		}
	}
	if az, ok, err := s.str("availability_zone"); err != nil {
		return err
	} else if ok {
		if az == "" || !plain(az) || strings.ContainsAny(az, ":\x00") || len(az) > 255 {
			return badRequest("The requested availability zone is not available")
		}
		inst.AvailabilityZone = az
	}
	if md, ok := s.m["metadata"]; ok {
		m, isMap := md.(map[string]any)
		if !isMap {
			return badRequest("Invalid input for field/attribute metadata. Value: %s. %s is not of type 'object'", py(md), py(md))
		}
		inst.Metadata = map[string]string{}
		for k, v := range m {
			vs, isStr := v.(string)
			if !isStr || len(k) == 0 || len(k) > 255 || len(vs) > 255 {
				return badRequest("Invalid input for field/attribute metadata. Value: %s. Metadata keys and values are strings of 1 to 255 characters", py(md))
			}
			inst.Metadata[k] = vs
		}
	}
	if g, ok := hints["group"].(string); ok && g != "" {
		if _, err := uuid.Parse(g); err != nil {
			return badRequest("Invalid input for field/attribute group. Value: %s. %s is not a 'uuid'", g, py(g))
		}
		grp, err := a.Store.ServerGroup(r.Context(), q.viewer(), g)
		if err != nil {
			return badRequest("Invalid input for field/attribute group. Value: %s. Server group %s could not be found.", g, g)
		}
		inst.ServerGroup = grp.ID
	}
	// Networks: "auto", "none", or a list of {uuid, port, fixed_ip}.
	nets, err := networkRequests(s.m["networks"])
	if err != nil {
		return err
	}
	inst.Networks = nets
	if auto, ok := s.m["networks"].(string); (ok && auto == "auto") || s.m["networks"] == nil {
		if a.Networks == nil {
			return badRequest("Unable to automatically allocate a network for project %s", q.caller.ProjectID)
		}
		if inst.Networks, err = a.autoNetwork(r, q); err != nil {
			return err
		}
	} else if len(nets) > 0 && a.Networks == nil {
		return badRequest("Network %s could not be found.", nets[0].NetworkID)
	}
	// Security groups (by name or id): the ports made for the server get
	// them; a port the user gave keeps its own.
	if raw, ok := s.m["security_groups"]; ok {
		list, isList := raw.([]any)
		if !isList {
			return badRequest("Invalid input for field/attribute security_groups. Value: %s. %s is not of type 'array'", pyBare(raw), py(raw))
		}
		var names []string
		for _, e := range list {
			m, _ := e.(map[string]any)
			name, _ := m["name"].(string)
			if name == "" || !plain(name) || len(name) > 255 {
				return badRequest("Invalid input for field/attribute security_groups. Value: %s. %s is not a valid security group", py(raw), py(e))
			}
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		// Nova's check at the API: a name no group has is a 400 (not a
		// server in ERROR later); "default" is made when missing.
		var check []string
		for _, n := range names {
			if n != "default" {
				check = append(check, n)
			}
		}
		if sc, ok := a.Networks.(compute.SecurityGroupChecker); ok && len(check) > 0 {
			if err := sc.CheckSecurityGroups(r.Context(), inst.ProjectID, check); err != nil {
				if k := fault.KindOf(err); k == fault.BadRequest || k == fault.NotFound {
					return badRequest("%s", fault.Message(err))
				}
				return err
			}
		}
		for n := range inst.Networks {
			if inst.Networks[n].PortID == "" {
				inst.Networks[n].SecurityGroups = names
			}
		}
	}
	// min_count and max_count.
	minCount, maxCount := 1, 1
	for _, c := range []struct {
		key  string
		into *int
	}{{"min_count", &minCount}, {"max_count", &maxCount}} {
		if raw, ok := s.m[c.key]; ok {
			n, ok := positiveInt(raw)
			if !ok {
				return badRequest("Invalid input for field/attribute %s. Value: %s. %s is less than the minimum of 1", c.key, pyBare(raw), py(raw))
			}
			*c.into = n
		}
	}
	if _, ok := s.m["max_count"]; !ok {
		maxCount = minCount
	}
	if minCount > maxCount {
		return badRequest("min_count must be <= max_count")
	}
	if root != nil && root.Source == "volume" && maxCount > 1 {
		return badRequest("Cannot attach one or more volumes to multiple instances")
	}
	if maxCount > 1 && len(inst.Networks) > 0 && slices.ContainsFunc(inst.Networks, func(n compute.NetworkRequest) bool { return n.PortID != "" || n.FixedIP != "" }) {
		return badRequest("Multiple instances cannot be created with the same port or fixed IP.")
	}
	// Quotas: Nova makes as many as fit, down to min_count.
	fits, qerr := a.Store.CheckInstanceQuota(r.Context(), inst.ProjectID, inst.Flavor, maxCount)
	if qerr != nil && fits < minCount {
		return qerr
	}
	maxCount = min(maxCount, fits)
	if err := a.Store.CheckMetadataQuota(r.Context(), inst.ProjectID, len(inst.Metadata)); err != nil {
		return err
	}
	if inst.ServerGroup != "" {
		if err := a.Store.CheckGroupMembersQuota(r.Context(), inst.ProjectID, inst.ServerGroup, maxCount); err != nil {
			return err
		}
	}
	var created []compute.Instance
	for n := 0; n < maxCount; n++ {
		i := inst
		i.UUID = uuid.NewString()
		i.LaunchIndex = n
		if maxCount > 1 {
			i.Hostname = fmt.Sprintf("%s-%d", inst.Hostname, n+1)
		}
		if root != nil {
			x := root.rootVolume()
			if root.Source == "volume" {
				// Nova reserves an existing volume at the API.
				att, err := a.Volumes.Reserve(r.Context(), i.ProjectID, x.VolumeID, i.UUID)
				if err != nil {
					return reserveError(err)
				}
				x.AttachmentID = att
			}
			i.Volumes = []compute.InstanceVolume{x}
		}
		c, err := a.Store.CreateInstance(r.Context(), i)
		if err != nil {
			a.unreserve(r, i)
			return err
		}
		created = append(created, c)
	}
	// Nova's recheck_quota: a parallel create may have taken the room
	// meanwhile; then these go again.
	if _, err := a.Store.CheckInstanceQuota(r.Context(), inst.ProjectID, inst.Flavor, 0); err != nil {
		for _, c := range created {
			a.Store.StartAction(r.Context(), compute.Viewer{Admin: true}, c.UUID, "delete")
			a.unreserve(r, c)
			a.Store.DeleteUnplaced(r.Context(), c.UUID)
		}
		return err
	}
	if a.Builder != nil {
		a.Builder.Poke()
	}
	if ret, _ := s.m["return_reservation_id"].(bool); ret {
		httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"reservation_id": inst.ReservationID})
		return nil
	}
	first := created[0]
	out := map[string]any{"id": first.UUID, "links": resourceLinks(r, "servers", first.UUID), "OS-DCF:diskConfig": "MANUAL",
		"security_groups": securityGroups(first.Networks)}
	if pw, ok, _ := s.str("adminPass"); ok {
		out["adminPass"] = pw
	} else {
		out["adminPass"] = randomString(12)
	}
	w.Header().Set("Location", resourceLinks(r, "servers", first.UUID)[0].Href)
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"server": out})
	return nil
}

// unreserve undoes a refused create's reservations of existing volumes
// (never deleting them: the request changes nothing), with a context a
// client's hang-up does not cancel.
func (a *API) unreserve(r *http.Request, i compute.Instance) {
	ctx := context.WithoutCancel(r.Context())
	for _, x := range i.Volumes {
		if x.AttachmentID != "" {
			if err := a.Volumes.Release(ctx, x.AttachmentID); err != nil {
				httpapi.Logger(ctx).Warn("compute: the reservation of a refused create is left", "volume", x.VolumeID, "err", err)
			}
		}
	}
}

// checkRoot is Nova's _validate_bdm of a server's root volume: the
// volume, snapshot or image it is made from must exist for the caller
// (Nova's InvalidBDMVolume, InvalidBDMSnapshot, InvalidBDMImage), an
// image be active and its min_ram fit the flavor; a snapshot's size is
// the new volume's when none is given.
func (a *API) checkRoot(r *http.Request, q *request, root *rootBDM, fl compute.Flavor) error {
	if a.Volumes == nil {
		return badRequest("Booting from a volume is not possible: this cloud has no block-storage service.")
	}
	ctx, project := r.Context(), q.caller.ProjectID
	switch root.Source {
	case "volume":
		v, err := a.Volumes.Volume(ctx, project, root.ID)
		if fault.KindOf(err) == fault.NotFound {
			return invalidBDM("failed to get volume %s.", root.ID)
		} else if err != nil {
			return err
		}
		if v.Status != "available" {
			return badRequest("Invalid volume: volume '%s' status must be 'available'. Currently in '%s'", root.ID, v.Status)
		}
		if !v.Bootable {
			return badRequest("Block Device %s is not bootable.", root.ID)
		}
		if v.Multiattach && !q.at(60) {
			return badRequest("Multiattach volumes are only supported starting with compute API version 2.60.")
		}
	case "snapshot":
		size, err := a.Volumes.SnapshotSize(ctx, project, root.ID)
		if fault.KindOf(err) == fault.NotFound {
			return invalidBDM("failed to get snapshot %s.", root.ID)
		} else if err != nil {
			return err
		}
		if root.Size == 0 {
			root.Size = size
		}
	case "image":
		if a.Images == nil {
			return invalidBDM("failed to get image %s.", root.ID)
		}
		img, err := a.Images.Image(ctx, project, root.ID)
		if fault.KindOf(err) == fault.NotFound {
			return invalidBDM("failed to get image %s.", root.ID)
		} else if err != nil {
			return err
		}
		if img.Status != "active" {
			return badRequest("Image %s is not active.", root.ID)
		}
		if fl.MemoryMB < img.MinRAM {
			return badRequest("Flavor's memory is too small for requested image.")
		}
		if img.MinDisk > root.Size {
			return badRequest("Volume is smaller than the minimum size specified in image metadata. Volume size is %d bytes, minimum size is %d bytes.",
				root.Size<<30, img.MinDisk<<30)
		}
		if size := max(img.Size, img.VirtualSize); size > root.Size<<30 {
			return badRequest("Volume is smaller than the minimum size specified in image metadata. Volume size is %d bytes, minimum size is %d bytes.",
				root.Size<<30, size)
		}
	}
	return nil
}

// reserveError is a refused reserve of a server's root volume as Nova
// answers it: Cinder's refusal as an invalid volume (400).
func reserveError(err error) error {
	switch fault.KindOf(err) {
	case fault.BadRequest, fault.Conflict, fault.NotFound:
		return badRequest("%s", fault.Message(err))
	}
	return err
}

// checkImageFits is Nova's _validate_flavor_image_nostatus: the image's
// size and min_disk must fit the flavor's root disk (unless it is 0, a
// volume-sized root), and its min_ram the flavor's memory.
func checkImageFits(img compute.ImageInfo, fl compute.Flavor) error {
	if fl.MemoryMB < img.MinRAM {
		return badRequest("Flavor's memory is too small for requested image.")
	}
	if fl.RootGB == 0 {
		return nil
	}
	root := fl.RootGB << 30
	size := max(img.Size, img.VirtualSize)
	if size > root {
		return badRequest("Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", root, size)
	}
	if img.MinDisk > fl.RootGB {
		return badRequest("Flavor's disk is too small for requested image. Flavor disk is %d bytes, minimum disk required by image is %d bytes.",
			root, img.MinDisk<<30)
	}
	return nil
}

// networkRequests reads the server's networks: nil for "auto", none or
// absent (the caller decides), else each entry.
func networkRequests(v any) ([]compute.NetworkRequest, error) {
	switch n := v.(type) {
	case nil:
		return nil, nil
	case string:
		if n == "none" || n == "auto" {
			return []compute.NetworkRequest{}, nil
		}
		return nil, badRequest("Invalid input for field/attribute networks. Value: %s. %s is not valid under any of the given schemas", n, py(n))
	case []any:
		out := []compute.NetworkRequest{}
		for _, e := range n {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, badRequest("Invalid input for field/attribute networks. Value: %s. %s is not valid under any of the given schemas", py(v), py(v))
			}
			var req compute.NetworkRequest
			req.NetworkID, _ = m["uuid"].(string)
			req.PortID, _ = m["port"].(string)
			req.FixedIP, _ = m["fixed_ip"].(string)
			if req.PortID != "" {
				if _, err := uuid.Parse(req.PortID); err != nil {
					return nil, badRequest("Invalid input for field/attribute port. Value: %s. %s is not a 'uuid'", req.PortID, py(req.PortID))
				}
			}
			if req.NetworkID == "" && req.PortID == "" {
				return nil, badRequest("Bad networks format: network uuid is not in proper format ()")
			}
			if req.FixedIP != "" {
				if _, err := netip.ParseAddr(req.FixedIP); err != nil {
					return nil, badRequest("Invalid input for field/attribute fixed_ip. Value: %s. %s is not a 'ip-address'", req.FixedIP, py(req.FixedIP))
				}
			}
			if req.NetworkID != "" {
				if _, err := uuid.Parse(req.NetworkID); err != nil {
					return nil, badRequest("Bad networks format: network uuid is not in proper format (%s)", req.NetworkID)
				}
			}
			out = append(out, req)
		}
		return out, nil
	}
	return nil, badRequest("Invalid input for field/attribute networks. Value: %s. %s is not valid under any of the given schemas", py(v), py(v))
}

// autoNetwork is what Nova does when no network is named: the one
// network the project may use (its own or a shared one); several are
// ambiguous (Nova's NetworkAmbiguous), none cannot be chosen.
func (a *API) autoNetwork(r *http.Request, q *request) ([]compute.NetworkRequest, error) {
	ids, err := a.Networks.Usable(r.Context(), q.caller.ProjectID)
	if err != nil {
		return nil, err
	}
	switch len(ids) {
	case 0:
		return nil, badRequest("Unable to automatically allocate a network for project %s", q.caller.ProjectID)
	case 1:
		return []compute.NetworkRequest{{NetworkID: ids[0]}}, nil
	}
	return nil, conflict("Multiple possible networks found, use a Network ID to be more specific.")
}

// description is Nova's parameter_types.description: at most 255
// printable characters.
func description(d any) (string, error) {
	ds, isStr := d.(string)
	if !isStr {
		return "", badRequest("Invalid input for field/attribute description. Value: %s. %s is not of type 'string', 'null'", py(d), py(d))
	}
	if utf8.RuneCountInString(ds) > 255 {
		return "", badRequest("Invalid input for field/attribute description. Value: %s. %s is too long", ds, py(ds))
	}
	if !plain(ds) || strings.IndexFunc(ds, func(r rune) bool { return r < ' ' && r != '\n' && r != '\t' || r == 0x7f }) >= 0 {
		return "", badRequest("Invalid input for field/attribute description. Value: %s. %s does not match the description pattern (printable characters)", strings.ToValidUTF8(ds, "?"), py(strings.ToValidUTF8(ds, "?")))
	}
	return ds, nil
}

// hostnamePattern is Nova's parameter_types.hostname (2.90).
var hostnamePattern = regexp.MustCompile(`^[a-zA-Z0-9-._]*$`)

func checkHostname(h string) error {
	if len(h) < 2 || len(h) > 255 || !hostnamePattern.MatchString(h) {
		return badRequest("Invalid input for field/attribute hostname. Value: %s. %s does not match '^[a-zA-Z0-9-._]*$'", strings.ToValidUTF8(h, "?"), py(strings.ToValidUTF8(h, "?")))
	}
	return nil
}

func idFromHref(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func randomString(n int) string {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func (a *API) updateServer(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:update", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	s, err := topObject(v, "server")
	if err != nil {
		return err
	}
	allowed := []string{"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
	if q.at(19) {
		allowed = append(allowed, "description")
	}
	if q.at(90) {
		allowed = append(allowed, "hostname")
	}
	if err := s.only(allowed...); err != nil {
		return err
	}
	var u compute.InstanceUpdate
	if n, ok, err := s.str("name"); err != nil {
		return err
	} else if ok {
		if err := serverName(n); err != nil {
			return err
		}
		u.Name = &n
	}
	if h, ok, err := s.str("hostname"); err != nil {
		return err
	} else if ok {
		if err := checkHostname(h); err != nil {
			return err
		}
		u.Hostname = &h
	}
	if d, ok := s.m["description"]; ok {
		var desc *string
		if d != nil {
			ds, err := description(d)
			if err != nil {
				return err
			}
			desc = &ds
		}
		u.Description = &desc
	}
	i, err = a.Store.UpdateInstance(r.Context(), q.viewer(), i.UUID, u)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"server": a.serverView(r, q, i)})
	return nil
}

func (a *API) deleteServer(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:delete", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	if i.TaskState != compute.Deleting {
		if i, err = a.Store.StartAction(r.Context(), q.viewer(), i.UUID, "delete"); err != nil {
			return err
		}
	}
	// No host will delete what no host has: the controller ends it (also
	// when asked again after a delete that stopped half-way). What it
	// holds goes first, so a failure here leaves it to the next try.
	if i.Host == "" {
		if err := a.release(r, i); err != nil {
			return err
		}
		if _, err := a.Store.DeleteUnplaced(r.Context(), i.UUID); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// serverActions maps the action bodies served to Nova's policy rules
// and compute.Actions names.
var serverActions = map[string]struct{ rule, action string }{
	"os-start": {"os_compute_api:servers:start", "start"},
	"os-stop":  {"os_compute_api:servers:stop", "stop"},
	"pause":    {"os_compute_api:os-pause-server:pause", "pause"},
	"unpause":  {"os_compute_api:os-pause-server:unpause", "unpause"},
	"suspend":  {"os_compute_api:os-suspend-server:suspend", "suspend"},
	"resume":   {"os_compute_api:os-suspend-server:resume", "resume"},
	"reboot":   {"os_compute_api:servers:reboot", "reboot"},
}

// serverAction is POST /servers/{id}/action. As Nova's wsgi, the body
// is read and its action found before the server is looked up; the
// os-resetState schema is checked then too (Nova's validation runs
// before the controller's method).
func (a *API) serverAction(w http.ResponseWriter, r *http.Request, q *request) error {
	data, err := readBodyData(w, r)
	if err != nil {
		return err
	}
	v, err := decodeBody(data)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return badRequest("There is no such action: %s", py(v))
	}
	var name string
	for k := range m {
		name = k
	}
	if name == "os-resetState" {
		return a.resetState(w, r, q, data)
	}
	switch name {
	case "createImage":
		return a.createImage(w, r, q, m[name])
	case "resize":
		return a.resize(w, r, q, m[name])
	case "migrate":
		return a.migrate(w, r, q, m[name])
	case "confirmResize":
		return a.confirmResize(w, r, q)
	case "revertResize":
		return a.revertResize(w, r, q)
	}
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if name == "os-getConsoleOutput" {
		return a.consoleOutput(w, r, q, i, m[name])
	}
	act, ok := serverActions[name]
	if !ok {
		return badRequest("There is no such action: %s", name)
	}
	if err := a.authorize(r.Context(), q, act.rule, map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	action := act.action
	if name == "reboot" {
		body, ok := m[name].(map[string]any)
		if !ok {
			return badRequest("Invalid input for field/attribute reboot. Value: %s. %s is not of type 'object'", py(m[name]), py(m[name]))
		}
		switch t, _ := body["type"].(string); strings.ToUpper(t) {
		case "HARD":
			action = "reboot_hard"
		case "SOFT":
		default:
			return badRequest("Invalid input for field/attribute type. Value: %s. %s is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']", pyBare(body["type"]), py(body["type"]))
		}
	}
	if _, err := a.Store.StartAction(r.Context(), q.viewer(), i.UUID, action); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *API) consoleOutput(w http.ResponseWriter, r *http.Request, q *request, i compute.Instance, arg any) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-console-output", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	length := -1
	if m, ok := arg.(map[string]any); ok {
		if l, ok := m["length"]; ok && l != nil {
			var s string
			switch x := l.(type) {
			case json.Number:
				s = x.String()
			case string:
				s = x
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < -1 {
				return badRequest("Invalid input for field/attribute length. Value: %s. %s is not valid under any of the given schemas", pyBare(l), py(l))
			}
			length = n
		}
	}
	if i.VMState == compute.Building || i.Host == "" {
		return conflict("Instance %s is not ready", i.UUID)
	}
	data, err := a.Store.Console(r.Context(), q.viewer(), i.UUID)
	if err != nil {
		return err
	}
	out := strings.ToValidUTF8(string(data), "\uFFFD")
	if length >= 0 {
		lines := strings.SplitAfter(out, "\n")
		if len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > length {
			lines = lines[len(lines)-length:]
		}
		out = strings.Join(lines, "")
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"output": out})
	return nil
}

// release gives back what instance i holds: its ports, its claim, its
// place in its server group.
func (a *API) release(r *http.Request, i compute.Instance) error {
	// Every port bound to it: an unplaced instance records none, but a
	// try cut by a controller's death may have made some.
	if err := compute.ReleasePorts(r.Context(), a.Networks, i); err != nil {
		return err
	}
	// Its volumes are detached (their attachments deleted), and those
	// asked for deleted with it.
	if a.Volumes != nil {
		for _, x := range i.Volumes {
			if err := a.Volumes.Release(r.Context(), x.AttachmentID); err != nil {
				return err
			}
			if x.DeleteOnTermination {
				if err := a.Volumes.Delete(r.Context(), x.VolumeID); err != nil && fault.KindOf(err) != fault.NotFound {
					httpapi.Logger(r.Context()).Warn("compute: a volume to delete with its server was not deleted", "volume", x.VolumeID, "err", err)
				}
			}
		}
		if err := a.Volumes.ReleaseInstance(r.Context(), i.UUID); err != nil {
			return err
		}
	}
	if err := a.Store.DeleteAllocations(r.Context(), i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
		return err
	}
	if i.ServerGroup != "" {
		if _, err := a.Store.RemoveServerGroupMember(r.Context(), i.ServerGroup, i.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	return nil
}

// volumesAttached is os-extended-volumes:volumes_attached: the volumes'
// ids, with delete_on_termination from 2.3.
func volumesAttached(q *request, i compute.Instance) []any {
	out := []any{}
	for _, x := range i.Volumes {
		v := map[string]any{"id": x.VolumeID}
		if q.at(3) {
			v["delete_on_termination"] = x.DeleteOnTermination
		}
		out = append(out, v)
	}
	return out
}
