package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Pools (Designate's PoolsController, admin by default): Designate's
// deprecated pool writes, taking besides the API adapter's fields the
// ones its pool manager reads from pools.yaml (nameservers,
// also_notifies, targets), so that pools are managed through the API.
func (a *API) poolRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/pools", a.authed(a.createPool))
	rt.HandleFunc("GET /v2/pools", a.authed(a.listPools))
	rt.HandleFunc("GET /v2/pools/{pool_id}", a.authed(a.showPool))
	rt.HandleFunc("PATCH /v2/pools/{pool_id}", a.authed(a.updatePool))
	rt.HandleFunc("DELETE /v2/pools/{pool_id}", a.authed(a.deletePool))
}

// poolSchema is PoolAPIv2Adapter's fields and PoolYAMLAdapter's
// nameservers, also_notifies and targets.
var poolSchema = schema{resource: "pool", fields: map[string]access{
	"id": readOnly, "project_id": immutable, "name": writable, "description": writable, "attributes": writable,
	"ns_records": writable, "nameservers": writable, "also_notifies": writable, "targets": writable,
	"created_at": readOnly, "updated_at": readOnly,
}}

// hostPortView is a pool nameserver or also-notify as pools.yaml has it.
type hostPortView struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

type poolTargetView struct {
	Type        string            `json:"type"`
	Description *string           `json:"description"`
	Masters     []hostPortView    `json:"masters"`
	Options     map[string]string `json:"options"`
	TSIGKeyID   *string           `json:"tsigkey_id"`
}

type poolView struct {
	ID           string            `json:"id"`
	ProjectID    *string           `json:"project_id"`
	Name         string            `json:"name"`
	Description  *string           `json:"description"`
	Attributes   map[string]string `json:"attributes"`
	NSRecords    []dns.NSRecord    `json:"ns_records"`
	Nameservers  []hostPortView    `json:"nameservers"`
	AlsoNotifies []hostPortView    `json:"also_notifies"`
	Targets      []poolTargetView  `json:"targets"`
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    *string           `json:"updated_at"`
	Links        selfLink          `json:"links"`
}

func hostPortViews(list []string) []hostPortView {
	out := make([]hostPortView, 0, len(list))
	for _, s := range list {
		host, port, _ := net.SplitHostPort(s) // stored as host:port
		n, _ := strconv.Atoi(port)
		out = append(out, hostPortView{Host: host, Port: n})
	}
	return out
}

func renderPool(r *http.Request, p dns.Pool) poolView {
	ns := p.NSRecords
	if ns == nil {
		ns = []dns.NSRecord{}
	}
	attrs := p.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	targets := make([]poolTargetView, 0, len(p.Targets))
	for _, t := range p.Targets {
		targets = append(targets, poolTargetView{Type: t.Type, Description: nullable(t.Description), Masters: hostPortViews(t.Masters),
			Options: t.Options, TSIGKeyID: nullable(t.TSIGKeyID)})
	}
	return poolView{
		ID: p.ID, ProjectID: nullable(p.ProjectID), Name: p.Name, Description: nullable(p.Description), Attributes: attrs,
		NSRecords: ns, Nameservers: hostPortViews(p.Nameservers), AlsoNotifies: hostPortViews(p.AlsoNotifies), Targets: targets,
		CreatedAt: timestamp(p.CreatedAt), UpdatedAt: updatedAt(p.CreatedAt, p.UpdatedAt), Links: selfLink{href(r, "pools", p.ID)},
	}
}

// member reads raw as a JSON object with only the keys allowed, each a
// value of field path.
func member(path string, raw json.RawMessage, allowed ...string) (object, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return object{}, invalidObject(path, "%s is not of type 'object'", strings.TrimSpace(string(raw)))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) {
			return object{}, invalidObject(path, "Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	return object{resource: path, raw: m}, nil
}

// items reads o[k] as an array (null: empty) and returns its elements.
func (o object) items(k string) ([]json.RawMessage, error) {
	if o.isNull(k) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(o.raw[k], &items); err != nil || items == nil {
		return nil, o.typeError(k, "array")
	}
	return items, nil
}

// hostPorts reads an array of {"host": ..., "port": ...} (port 53 when
// left out) as "host:port" strings for the store to check.
func hostPorts(o object, k string) ([]string, error) {
	items, err := o.items(k)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		m, err := member(k, it, "host", "port")
		if err != nil {
			return nil, err
		}
		host, err := m.requiredStr("host")
		if err != nil {
			return nil, invalidObject(k, "%s", err.(*fault.Error).Message)
		}
		port := 53
		if m.has("port") {
			p, err := m.integer("port", false)
			if err != nil {
				return nil, invalidObject(k, "%s", err.(*fault.Error).Message)
			}
			port = *p
		}
		if port < 1 || port > 65535 {
			return nil, invalidObject(k, "port %d is not between 1 and 65535", port)
		}
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			host = "[" + host + "]"
		}
		out = append(out, host+":"+strconv.Itoa(port))
	}
	return out, nil
}

// nsRecords reads ns_records: [{"hostname": ..., "priority": ...}], both
// required (PoolNsRecord).
func nsRecords(o object) ([]dns.NSRecord, error) {
	items, err := o.items("ns_records")
	if err != nil {
		return nil, err
	}
	out := make([]dns.NSRecord, 0, len(items))
	for _, it := range items {
		m, err := member("ns_records", it, "hostname", "priority")
		if err != nil {
			return nil, err
		}
		h, err := m.requiredStr("hostname")
		if err != nil {
			return nil, invalidObject("ns_records", "%s", err.(*fault.Error).Message)
		}
		if !m.has("priority") {
			return nil, invalidObject("ns_records", "'priority' is a required property")
		}
		p, err := m.integer("priority", false)
		if err != nil {
			return nil, invalidObject("ns_records", "%s", err.(*fault.Error).Message)
		}
		out = append(out, dns.NSRecord{Hostname: h, Priority: *p})
	}
	return out, nil
}

// targets reads targets as pools.yaml has them: type, description,
// masters, options (strings or numbers) and tsigkey_id.
func targets(o object) ([]dns.PoolTarget, error) {
	items, err := o.items("targets")
	if err != nil {
		return nil, err
	}
	out := make([]dns.PoolTarget, 0, len(items))
	for _, it := range items {
		m, err := member("targets", it, "type", "description", "masters", "options", "tsigkey_id")
		if err != nil {
			return nil, err
		}
		var t dns.PoolTarget
		wrap := func(err error) error { return invalidObject("targets", "%s", err.(*fault.Error).Message) }
		if t.Type, err = m.requiredStr("type"); err != nil {
			return nil, wrap(err)
		}
		if m.has("description") {
			if t.Description, err = m.str("description", true); err != nil {
				return nil, wrap(err)
			}
		}
		if m.has("masters") {
			if t.Masters, err = hostPorts(m, "masters"); err != nil {
				return nil, wrap(err)
			}
		}
		if m.has("tsigkey_id") {
			if t.TSIGKeyID, err = m.str("tsigkey_id", true); err != nil {
				return nil, wrap(err)
			}
			if t.TSIGKeyID != "" && !uuidPattern.MatchString(t.TSIGKeyID) {
				return nil, invalidObject("targets", "'%s' is not a 'uuid'", t.TSIGKeyID)
			}
		}
		if m.has("options") && !m.isNull("options") {
			var opts map[string]any
			if err := json.Unmarshal(m.raw["options"], &opts); err != nil || opts == nil {
				return nil, invalidObject("targets", "options %s is not of type 'object'", strings.TrimSpace(string(m.raw["options"])))
			}
			t.Options = map[string]string{}
			for k, v := range opts {
				switch v := v.(type) {
				case string:
					t.Options[k] = v
				case float64:
					t.Options[k] = strconv.FormatFloat(v, 'f', -1, 64)
				default:
					return nil, invalidObject("targets", "option %s: %v is not a string or a number", k, v)
				}
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// setPool reads a body into p: name (required on create), description,
// attributes, ns_records, nameservers, also_notifies, targets.
func setPool(o object, p *dns.Pool, create bool) error {
	var err error
	if o.has("name") || create {
		if p.Name, err = o.requiredStr("name"); err != nil {
			return err
		}
	}
	if o.has("description") {
		if p.Description, err = o.str("description", true); err != nil {
			return err
		}
	}
	if create && o.has("project_id") {
		if p.ProjectID, err = o.str("project_id", true); err != nil {
			return err
		}
	}
	if o.has("attributes") {
		if p.Attributes, err = o.stringMap("attributes", true); err != nil {
			return err
		}
	}
	if o.has("ns_records") {
		if p.NSRecords, err = nsRecords(o); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{{"nameservers", &p.Nameservers}, {"also_notifies", &p.AlsoNotifies}} {
		if o.has(f.key) {
			if *f.dst, err = hostPorts(o, f.key); err != nil {
				return err
			}
		}
	}
	if o.has("targets") {
		if p.Targets, err = targets(o); err != nil {
			return err
		}
	}
	return nil
}

func (a *API) createPool(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	o, err := decode(w, r, poolSchema, nil)
	if err != nil {
		fail(w, r, err)
		return
	}
	var p dns.Pool
	if err := setPool(o, &p, true); err != nil {
		fail(w, r, err)
		return
	}
	if p.ProjectID == "" {
		p.ProjectID = q.project // central's create_pool: the caller's project
	}
	if err := a.enforce(ctx, q, "create_pool", nil); err != nil {
		fail(w, r, err)
		return
	}
	if p, err = a.Store.CreatePool(ctx, p); err != nil {
		fail(w, r, err)
		return
	}
	v := renderPool(r, p)
	writeCreated(w, http.StatusCreated, v.Links.Self, v)
}

func (a *API) listPools(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := a.enforce(ctx, q, "find_pools", nil); err != nil {
		fail(w, r, err)
		return
	}
	lq, err := parseList(r, q, poolSortKeys, "name")
	if err != nil {
		fail(w, r, err)
		return
	}
	pools, err := a.Store.ListPools(ctx)
	if err != nil {
		fail(w, r, err)
		return
	}
	var match []dns.Pool
	for _, p := range pools {
		if wildcard(lq.filters["name"], p.Name) {
			match = append(match, p)
		}
	}
	writeMemoryList(w, r, lq, "pools", false, match, func(p dns.Pool) taskKeys {
		return taskKeys{id: p.ID, created: p.CreatedAt, updated: p.UpdatedAt, name: p.Name}
	}, func(r *http.Request, p dns.Pool) any { return renderPool(r, p) })
}

// loadPool checks rule, then reads the pool of the path.
func (a *API) loadPool(r *http.Request, q *request, rule string) (dns.Pool, error) {
	ids, err := pathIDs(r, "pool_id")
	if err != nil {
		return dns.Pool{}, err
	}
	if err := a.enforce(r.Context(), q, rule, map[string]any{"pool_id": ids[0]}); err != nil {
		return dns.Pool{}, err
	}
	return a.Store.GetPool(r.Context(), ids[0])
}

func (a *API) showPool(w http.ResponseWriter, r *http.Request, q *request) {
	p, err := a.loadPool(r, q, "get_pool")
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderPool(r, p))
}

// updatePool is patch_one: 202 with the pool. The NS records and NOTIFY
// targets of API.PinnedPool come from the configuration and are refused.
func (a *API) updatePool(w http.ResponseWriter, r *http.Request, q *request) {
	ctx := r.Context()
	if err := jsonPatch(r); err != nil {
		fail(w, r, err)
		return
	}
	cur, err := a.loadPool(r, q, "get_pool")
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decode(w, r, poolSchema, asMap(renderPool(r, cur)))
	if err != nil {
		fail(w, r, err)
		return
	}
	p := cur
	if err := setPool(o, &p, false); err != nil {
		fail(w, r, err)
		return
	}
	if err := a.enforce(ctx, q, "update_pool", map[string]any{"pool_id": p.ID}); err != nil {
		fail(w, r, err)
		return
	}
	if p.ID == a.PinnedPool {
		for _, f := range []struct {
			key     string
			changed bool
		}{{"ns_records", !slices.Equal(p.NSRecords, cur.NSRecords)}, {"also_notifies", !slices.Equal(p.AlsoNotifies, cur.AlsoNotifies)}} {
			if o.has(f.key) && f.changed {
				fail(w, r, &fault.Error{Kind: fault.BadRequest, Type: "invalid_operation", Field: f.key,
					Message: fmt.Sprintf("the %s of the default pool come from the daemon's configuration (dns.nameservers, dns.also_notify), which sets them at every start: change them there", f.key)})
				return
			}
		}
	}
	if p, err = a.Store.UpdatePool(ctx, p); err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, renderPool(r, p))
}

func (a *API) deletePool(w http.ResponseWriter, r *http.Request, q *request) {
	ids, err := pathIDs(r, "pool_id")
	if err == nil {
		err = a.enforce(r.Context(), q, "delete_pool", map[string]any{"pool_id": ids[0]})
	}
	if err == nil {
		err = a.Store.DeletePool(r.Context(), ids[0])
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
