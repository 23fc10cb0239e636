package api

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Reverse DNS of floating IPs needs the network service, which gostack
// does not have yet: the list is empty and every floating IP is not
// found. Keys and bodies are still checked as Designate checks them, so
// clients see the errors they will see once the network area lands.
func (a *API) reverseRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/reverse/floatingips", a.authed(a.listFloatingIPs))
	rt.HandleFunc("GET /v2/reverse/floatingips/{fip_key}", a.authed(a.showFloatingIP))
	rt.HandleFunc("PATCH /v2/reverse/floatingips/{fip_key}", a.authed(a.setFloatingIP))
}

// fipKey is Designate's RE_FIP: "<region>:<floating IP uuid>".
var fipKey = regexp.MustCompile(`^([A-Za-z0-9.\-_]{1,100}):([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)

// floatingIPSchema is FloatingIPAPIv2Adapter's fields.
var floatingIPSchema = schema{resource: "floatingip", fields: map[string]access{
	"id": readOnly, "description": writable, "address": readOnly, "ptrdname": writable, "ttl": writable,
	"action": readOnly, "status": readOnly,
}}

func (a *API) listFloatingIPs(w http.ResponseWriter, r *http.Request, q *request) {
	if err := a.enforce(r.Context(), q, "find_records", projectTarget(q.project)); err != nil {
		fail(w, r, err)
		return
	}
	// FloatingIPListAPIv2Adapter: no pagination, so no "next".
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"floatingips": []any{}, "links": collectionLinks{Self: selfCollection(r)}})
}

// floatingIP checks the key of the path and answers that the project has
// no such floating IP, as central's _get_floatingip does.
func (a *API) floatingIP(r *http.Request, q *request) error {
	key := r.PathValue("fip_key")
	m := fipKey.FindStringSubmatch(key)
	if m == nil {
		return &fault.Error{Kind: fault.BadRequest, Type: "bad_request",
			Message: fmt.Sprintf("Floating IP %s is not in the format of <region>:<uuid>", key)}
	}
	if err := a.enforce(r.Context(), q, "find_records", projectTarget(q.project)); err != nil {
		return err
	}
	return &fault.Error{Kind: fault.NotFound, Type: "not_found",
		Message: fmt.Sprintf("FloatingIP %s in %s is not associated for project \"%s\"", m[2], m[1], q.project)}
}

func (a *API) showFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	fail(w, r, a.floatingIP(r, q))
}

// setFloatingIP is FloatingIPController.patch_one: the body
// {"ptrdname": "...", "ttl": ..., "description": ...} is checked, then
// the floating IP is looked up.
func (a *API) setFloatingIP(w http.ResponseWriter, r *http.Request, q *request) {
	if !fipKey.MatchString(r.PathValue("fip_key")) {
		fail(w, r, a.floatingIP(r, q))
		return
	}
	o, err := decode(w, r, floatingIPSchema, nil)
	if err == nil && o.has("ptrdname") {
		_, err = o.str("ptrdname", true)
	}
	if err == nil && o.has("description") {
		_, err = o.str("description", true)
	}
	if err == nil && o.has("ttl") {
		_, err = o.integer("ttl", true)
	}
	if err == nil {
		err = a.floatingIP(r, q)
	}
	fail(w, r, err)
}
