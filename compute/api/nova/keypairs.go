package nova

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) keypairRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-keypairs", a.op(a.listKeypairs))
	rt.HandleFunc("POST /os-keypairs", a.op(a.createKeypair))
	rt.HandleFunc("GET /os-keypairs/{name}", a.op(a.showKeypair))
	rt.HandleFunc("DELETE /os-keypairs/{name}", a.op(a.deleteKeypair))
}

// keypairView is Nova's views/keypairs.py: the fields each call shows
// (type from 2.2).
func keypairView(q *request, k compute.KeyPair, fields ...string) map[string]any {
	all := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint, "user_id": k.UserID,
		"created_at": k.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000"), "deleted": false, "deleted_at": nil,
		"id": k.ID, "updated_at": nil, "type": k.Type}
	out := map[string]any{}
	for _, f := range fields {
		out[f] = all[f]
	}
	if q.at(2) {
		out["type"] = k.Type
	}
	return out
}

// keypairUser is whose key pairs a call is about: the caller's, or
// (from 2.10) the user_id query parameter's, which the policy lets only
// admins name.
func keypairUser(r *http.Request, q *request) string {
	if q.at(10) {
		if u, ok := r.URL.Query()["user_id"]; ok {
			return u[0]
		}
	}
	return q.caller.UserID
}

// checkQuery refuses unknown query parameters from 2.75, as Nova's
// query schemas do (additionalProperties false).
func checkQuery(r *http.Request, q *request, allowed ...string) error {
	if !q.at(75) {
		return nil
	}
	return strictQuery(r, allowed...)
}

func (a *API) listKeypairs(w http.ResponseWriter, r *http.Request, q *request) error {
	allowed := []string{}
	if q.at(10) {
		allowed = append(allowed, "user_id")
	}
	if q.at(35) {
		allowed = append(allowed, "limit", "marker")
	}
	if err := checkQuery(r, q, allowed...); err != nil {
		return err
	}
	user := keypairUser(r, q)
	if err := a.authorize(r.Context(), q, "os_compute_api:os-keypairs:index", map[string]any{"user_id": user}); err != nil {
		return err
	}
	// Before 2.35 every key pair; from it pages, where limit=0 is an
	// empty page (Nova's query applies the limit as given).
	limit, marker := 0, ""
	if q.at(35) {
		var err error
		if limit, marker, err = pageLimit(r); err != nil {
			return err
		}
	}
	var kps []compute.KeyPair
	if !q.at(35) || limit > 0 {
		var err error
		if kps, err = a.Store.KeyPairs(r.Context(), user, marker, limit); err != nil {
			return err
		}
	}
	list := make([]any, len(kps))
	for i, k := range kps {
		list[i] = map[string]any{"keypair": keypairView(q, k, "name", "public_key", "fingerprint")}
	}
	body := map[string]any{"keypairs": list}
	if q.at(35) && len(kps) > 0 {
		if l := nextLinks(r, "os-keypairs", len(kps), kps[len(kps)-1].Name); l != nil {
			body["keypairs_links"] = l
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// keypairName is Nova's keypair_name_special_chars (2.92 adds '@' and
// '.'): a name as parameter_types.name has it, of those characters only.
func keypairName(name string, at292 bool) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return badRequest("Invalid input for field/attribute name. Value: %s. %s is too short", name, py(name))
	case n > 255:
		return badRequest("Invalid input for field/attribute name. Value: %s. %s is too long", name, py(name))
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	printable := !unicode.IsSpace(first) && !unicode.IsSpace(last)
	for _, r := range name {
		printable = printable && (unicode.IsPrint(r) || unicode.Is(unicode.Zs, r))
	}
	if !printable {
		return badRequest("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
	}
	safe := "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	if at292 {
		safe = "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	for _, r := range name {
		if !strings.ContainsRune(safe, r) {
			return badRequest("An invalid 'name' value was provided. The name must be: Only expected characters: [%s]", safe)
		}
	}
	return nil
}

func (a *API) createKeypair(w http.ResponseWriter, r *http.Request, q *request) error {
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	kp, err := topObject(v, "keypair")
	if err != nil {
		return err
	}
	allowed := []string{"name", "public_key"}
	if q.at(2) {
		allowed = append(allowed, "type")
	}
	if q.at(10) {
		allowed = append(allowed, "user_id")
	}
	if err := kp.only(allowed...); err != nil {
		return err
	}
	required := []string{"name"}
	if q.at(92) {
		required = append(required, "public_key")
	}
	if err := kp.required(required...); err != nil {
		return err
	}
	name, _, err := kp.str("name")
	if err != nil {
		return err
	}
	if err := keypairName(name, q.at(92)); err != nil {
		return err
	}
	pub, havePub, err := kp.str("public_key")
	if err != nil {
		return err
	}
	typ, haveType, err := kp.str("type")
	if err != nil {
		return err
	}
	if haveType && typ != compute.KeyPairSSH && typ != compute.KeyPairX509 {
		return badRequest("Invalid input for field/attribute type. Value: %s. %s is not one of ['ssh', 'x509']", typ, py(typ))
	}
	user, haveUser, err := kp.str("user_id")
	if err != nil {
		return err
	}
	if !haveUser {
		user = q.caller.UserID
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-keypairs:create", map[string]any{"user_id": user}); err != nil {
		return err
	}
	var private string
	if !havePub {
		if private, pub, err = compute.GenerateKeyPair(typ, user); err != nil {
			return err
		}
	}
	k, err := a.Store.ImportKeyPair(r.Context(), compute.NewKeyPair{UserID: user, Name: name, Type: typ, PublicKey: pub})
	if err != nil {
		return err
	}
	out := keypairView(q, k, "name", "public_key", "fingerprint", "user_id")
	if !havePub {
		out["private_key"] = private
	}
	status := http.StatusOK
	if q.at(2) {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, map[string]any{"keypair": out})
	return nil
}

func (a *API) showKeypair(w http.ResponseWriter, r *http.Request, q *request) error {
	allowed := []string{}
	if q.at(10) {
		allowed = append(allowed, "user_id")
	}
	if err := checkQuery(r, q, allowed...); err != nil {
		return err
	}
	user := keypairUser(r, q)
	if err := a.authorize(r.Context(), q, "os_compute_api:os-keypairs:show", map[string]any{"user_id": user}); err != nil {
		return err
	}
	k, err := a.Store.KeyPair(r.Context(), user, r.PathValue("name"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"keypair": keypairView(q, k,
		"name", "public_key", "fingerprint", "user_id", "created_at", "deleted", "deleted_at", "id", "updated_at")})
	return nil
}

func (a *API) deleteKeypair(w http.ResponseWriter, r *http.Request, q *request) error {
	allowed := []string{}
	if q.at(10) {
		allowed = append(allowed, "user_id")
	}
	if err := checkQuery(r, q, allowed...); err != nil {
		return err
	}
	user := keypairUser(r, q)
	if err := a.authorize(r.Context(), q, "os_compute_api:os-keypairs:delete", map[string]any{"user_id": user}); err != nil {
		return err
	}
	if err := a.Store.DeleteKeyPair(r.Context(), user, r.PathValue("name")); err != nil {
		return err
	}
	if q.at(2) {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}
