package api

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/revoke"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
)

func (a *API) userRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v3/users", a.authed(a.listUsers))
	rt.HandleFunc("POST /v3/users", a.authed(a.createUser))
	rt.HandleFunc("GET /v3/users/{id}", a.authed(a.getUser))
	rt.HandleFunc("PATCH /v3/users/{id}", a.authed(a.updateUser))
	rt.HandleFunc("DELETE /v3/users/{id}", a.authed(a.deleteUser))
	rt.HandleFunc("POST /v3/users/{id}/password", a.anyone(a.changePassword))
	rt.HandleFunc("GET /v3/users/{id}/projects", a.authed(a.userProjects))
	rt.HandleFunc("GET /v3/users/{id}/groups", a.authed(a.userGroups))
	rt.HandleFunc("GET /v3/groups", a.authed(a.listGroups))
	rt.HandleFunc("POST /v3/groups", a.authed(a.createGroup))
	rt.HandleFunc("GET /v3/groups/{id}", a.authed(a.getGroup))
	rt.HandleFunc("PATCH /v3/groups/{id}", a.authed(a.updateGroup))
	rt.HandleFunc("DELETE /v3/groups/{id}", a.authed(a.deleteGroup))
	rt.HandleFunc("GET /v3/groups/{id}/users", a.authed(a.groupUsers))
	rt.HandleFunc("PUT /v3/groups/{id}/users/{uid}", a.authed(a.addMember))
	rt.HandleFunc("HEAD /v3/groups/{id}/users/{uid}", a.authed(a.checkMember))
	rt.HandleFunc("GET /v3/groups/{id}/users/{uid}", a.authed(a.checkMember))
	rt.HandleFunc("DELETE /v3/groups/{id}/users/{uid}", a.authed(a.removeMember))
}

type userBody struct {
	User *userFields `json:"user"`
}

type userFields struct {
	ID               opt[string]                     `json:"id"`
	Name             opt[string]                     `json:"name"`
	DomainID         opt[string]                     `json:"domain_id"`
	Password         opt[string]                     `json:"password"`
	Enabled          opt[bool]                       `json:"enabled"`
	DefaultProjectID opt[string]                     `json:"default_project_id"`
	Federated        opt[[]any]                      `json:"federated"`
	Options          opt[map[string]json.RawMessage] `json:"options"`
	// Extra are the members that are no attribute of users (description,
	// email, anything), in the body's order, each one compact JSON value.
	Extra []extraMember `json:"-"`
}

// extraMember is one extra property of a request body.
type extraMember struct {
	Key   string
	Value json.RawMessage
}

// UnmarshalJSON reads the attributes, then keeps every other member as
// an extra property (Keystone's user schemas allow additional
// properties, and its SQL model keeps them in the extra column).
func (f *userFields) UnmarshalJSON(b []byte) error {
	type attributes userFields
	if err := json.Unmarshal(b, (*attributes)(f)); err != nil {
		return err
	}
	obj, err := pyjson.Parse(b)
	if err != nil {
		return err
	}
	// The attributes are read again from their exact names only:
	// encoding/json matches names without regard to case, which would
	// take "OPTIONS" for options, where Keystone keeps it as an extra
	// property.
	exact := []byte{'{'}
	for i, k := range obj.Keys {
		v, err := obj.Items[i].MarshalJSON()
		if err != nil {
			return err
		}
		if !identity.IsUserAttribute(k) {
			f.Extra = append(f.Extra, extraMember{k, v})
			continue
		}
		if len(exact) > 1 {
			exact = append(exact, ',')
		}
		name, _ := json.Marshal(k)
		exact = append(append(append(exact, name...), ':'), v...)
	}
	extra := f.Extra
	*f = userFields{}
	if err := json.Unmarshal(append(exact, '}'), (*attributes)(f)); err != nil {
		return err
	}
	f.Extra = extra
	return nil
}

// apply copies the body onto u, for POST (update false) and PATCH alike;
// the store checks the values and refuses a new domain. The password is
// hashed by the caller: set tells whether the body had one (a null one
// on PATCH removes it, as in Keystone).
//
// Extra properties are set one by one, null included (Keystone keeps a
// null and shows it). On POST their names are normalized as Keystone's
// _normalize_dict does: ':' and '-' become '_'.
func (f *userFields) apply(u *identity.User, update bool) error {
	if update {
		if err := sameID(f.ID, u.ID, "user.id"); err != nil {
			return err
		}
	}
	if f.Federated.Set && len(f.Federated.V) > 0 {
		return fault.Invalid("user.federated", "federated users are not supported")
	}
	if err := first(
		set(&u.Name, f.Name, "user.name"),
		set(&u.DomainID, f.DomainID, "user.domain_id"),
		set(&u.Enabled, f.Enabled, "user.enabled"),
	); err != nil {
		return err
	}
	setNullable(&u.DefaultProjectID, f.DefaultProjectID)
	if f.Options.Set {
		if f.Options.Null {
			return fault.Invalid("user.options", "None is not of type 'object'")
		}
		if err := applyOptions(&u.Options, f.Options.V); err != nil {
			return err
		}
	}
	for _, m := range f.Extra {
		k := m.Key
		if !update {
			k = strings.NewReplacer(":", "_", "-", "_").Replace(k)
			if identity.IsUserAttribute(k) {
				return fault.Invalid("user."+m.Key, "is named like a user attribute once ':' and '-' are read as '_'")
			}
		}
		if u.Extra == nil {
			u.Extra = map[string]json.RawMessage{}
		}
		u.Extra[k] = m.Value
	}
	return nil
}

func userTarget(u identity.User) map[string]any {
	return map[string]any{"user": map[string]any{"id": u.ID, "domain_id": u.DomainID}}
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !a.allow(w, r, "identity:list_users", scopeTarget(r, "")) {
		return
	}
	domain := q.Get("domain_id")
	if d := callerDomain(r); d != "" {
		domain = d
	}
	name := q.Get("name")
	inSQL := userFilters.inStore(q, map[string]string{"domain_id": domain, "name": name}) && !userOnlyFilters(q)
	us, truncated, err := limitList(a.ListLimit, inSQL,
		func(n int) ([]identity.User, error) { return a.Store.ListUsers(r.Context(), domain, name, nil, n) },
		func(us []identity.User) ([]identity.User, error) { return userQuery(q, us) })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, us, renderUser)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "users", out), truncated))
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var b userBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.User == nil || !b.User.Name.Set {
		a.fail(w, r, fault.Invalid("user.name", "'name' is a required property"))
		return
	}
	u := identity.User{Enabled: true, DomainID: defaultDomain(caller(r.Context()))}
	if err := b.User.apply(&u, false); err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.allow(w, r, "identity:create_user", userTarget(u)) {
		return
	}
	if err := u.Validate(); err != nil { // before the costly hash
		a.fail(w, r, err)
		return
	}
	if pw := b.User.Password; pw.Set && !pw.Null {
		h, err := a.Auth.NewPasswordHash(pw.V)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		u.PasswordHash = h
	}
	u, err := a.Store.CreateUser(r.Context(), u)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"user": renderUser(r, u)})
}

func (a *API) userFor(w http.ResponseWriter, r *http.Request, rule string) (identity.User, bool) {
	return member(a, w, r, rule, "user",
		func() (identity.User, error) { return a.Store.GetUser(r.Context(), r.PathValue("id")) },
		userTarget, map[string]any{"user_id": r.PathValue("id")})
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := a.userFor(w, r, "identity:get_user"); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": renderUser(r, u)})
	}
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	u, ok := a.userFor(w, r, "identity:update_user")
	if !ok {
		return
	}
	var b userBody
	if err := decodeUpdate(w, r, "user", &b); err != nil || b.User == nil {
		a.fail(w, r, orInvalid(err, "user", "'user' is a required property"))
		return
	}
	wasEnabled := u.Enabled
	pw := b.User.Password
	hash := ""
	// The change is applied to the user as read and written only if no
	// other update came between; else the user is read again and the
	// change applied again (the password hashed once).
	for try := 1; ; try++ {
		base := u
		u = base.Clone() // apply changes u's maps and pointers, not base's
		if err := b.User.apply(&u, true); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := u.Validate(); err != nil { // before the costly hash
			a.fail(w, r, err)
			return
		}
		switch {
		case pw.Null:
			u.PasswordHash = ""
		case pw.Set && hash == "":
			h, err := a.Auth.NewPasswordHash(pw.V)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			hash = h
		}
		if pw.Set && !pw.Null {
			u.PasswordHash = hash
		}
		updated, err := a.Store.UpdateUserFrom(r.Context(), base, u)
		if errors.Is(err, identity.ErrUserChanged) && try < 5 {
			if u, err = a.Store.GetUser(r.Context(), u.ID); err != nil {
				a.fail(w, r, err)
				return
			}
			continue
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		u = updated
		break
	}
	// Keystone revokes a user's tokens when they are disabled or their
	// password is reset.
	if (wasEnabled && !u.Enabled) || (pw.Set && !pw.Null) {
		if err := a.Auth.Revoke(r.Context(), revoke.Event{UserID: u.ID}); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"user": renderUpdatedUser(r, u)})
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	u, ok := a.userFor(w, r, "identity:delete_user")
	if !ok {
		return
	}
	if err := a.Store.DeleteUser(r.Context(), u.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.Auth.Revoke(r.Context(), revoke.Event{UserID: u.ID}); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// changePassword is POST /v3/users/{id}/password as Keystone's
// UserChangePasswordResource: no policy and no token needed (a token
// sent must be valid), the original password authorizes the change, so
// an admin's token does not do without it. The body is Keystone's
// password_change schema: "user" with the strings original_password and
// password, nothing else.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var b struct {
		User map[string]json.RawMessage `json:"user"`
	}
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	original, password, err := passwordChange(b.User)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.Auth.ChangePassword(r.Context(), r.PathValue("id"), original, password); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// passwordChange reads Keystone's password_change schema: both members
// required, strings, and no other member.
func passwordChange(user map[string]json.RawMessage) (original, password string, err error) {
	for _, k := range slices.Sorted(maps.Keys(user)) {
		if k != "original_password" && k != "password" {
			return "", "", fault.Invalid("user", "Additional properties are not allowed: only original_password and password")
		}
	}
	for _, m := range []struct {
		key string
		dst *string
	}{{"original_password", &original}, {"password", &password}} {
		v, ok := user[m.key]
		if !ok {
			return "", "", fault.Invalid("user", "'%s' is a required property", m.key)
		}
		if string(v) == "null" || json.Unmarshal(v, m.dst) != nil {
			return "", "", fault.Invalid("user."+m.key, "is not of type 'string'")
		}
	}
	return original, password, nil
}

func (a *API) userProjects(w http.ResponseWriter, r *http.Request) {
	u, err := a.Store.GetUser(r.Context(), r.PathValue("id"))
	if !a.allowWith(w, r, "identity:list_user_projects", userTarget(u), map[string]any{"user_id": r.PathValue("id")}) {
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ps, err := a.scopableProjects(r, u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, userProjectFilters.apply(r.URL.Query(), ps), renderProject)
	httpapi.WriteJSON(w, http.StatusOK, collection(r, "projects", out))
}

func (a *API) userGroups(w http.ResponseWriter, r *http.Request) {
	u, ok := a.userFor(w, r, "identity:list_groups_for_user")
	if !ok {
		return
	}
	q, domain := r.URL.Query(), callerDomain(r)
	gs, truncated, err := limitList(a.ListLimit, domain == "" && userGroupFilters.inStore(q, nil),
		func(n int) ([]identity.Group, error) { return a.Store.GroupsOfUser(r.Context(), u.ID, n) },
		func(gs []identity.Group) ([]identity.Group, error) {
			gs = userGroupFilters.apply(q, gs)
			if domain != "" {
				gs = slices.DeleteFunc(gs, func(g identity.Group) bool { return g.DomainID != domain })
			}
			return gs, nil
		})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, gs, renderGroup)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "groups", out), truncated))
}

// ---- groups ----

type groupBody struct {
	Group *groupFields `json:"group"`
}

type groupFields struct {
	ID          opt[string] `json:"id"`
	Name        opt[string] `json:"name"`
	DomainID    opt[string] `json:"domain_id"`
	Description opt[string] `json:"description"`
}

// apply copies the body onto g, for POST (update false) and PATCH alike;
// the store checks the values and refuses a new domain.
func (f *groupFields) apply(g *identity.Group, update bool) error {
	if update {
		if err := sameID(f.ID, g.ID, "group.id"); err != nil {
			return err
		}
	}
	setNullable(&g.Description, f.Description)
	return first(
		set(&g.Name, f.Name, "group.name"),
		set(&g.DomainID, f.DomainID, "group.domain_id"),
	)
}

func groupTarget(g identity.Group) map[string]any {
	return map[string]any{"group": map[string]any{"id": g.ID, "domain_id": g.DomainID}}
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !a.allow(w, r, "identity:list_groups", scopeTarget(r, "group")) {
		return
	}
	domain := q.Get("domain_id")
	if d := callerDomain(r); d != "" {
		domain = d
	}
	name := q.Get("name")
	gs, truncated, err := limitList(a.ListLimit, groupFilters.inStore(q, map[string]string{"domain_id": domain, "name": name}),
		func(n int) ([]identity.Group, error) { return a.Store.ListGroups(r.Context(), domain, name, n) },
		func(gs []identity.Group) ([]identity.Group, error) { return groupFilters.apply(q, gs), nil })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, gs, renderGroup)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "groups", out), truncated))
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	var b groupBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Group == nil || !b.Group.Name.Set {
		a.fail(w, r, fault.Invalid("group.name", "'name' is a required property"))
		return
	}
	g := identity.Group{DomainID: defaultDomain(caller(r.Context()))}
	if err := b.Group.apply(&g, false); err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.allow(w, r, "identity:create_group", groupTarget(g)) {
		return
	}
	g, err := a.Store.CreateGroup(r.Context(), g)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"group": renderGroup(r, g)})
}

func (a *API) groupFor(w http.ResponseWriter, r *http.Request, rule string, extra map[string]any) (identity.Group, bool) {
	return member(a, w, r, rule, "group",
		func() (identity.Group, error) { return a.Store.GetGroup(r.Context(), r.PathValue("id")) },
		func(g identity.Group) map[string]any {
			target := groupTarget(g)
			for k, v := range extra {
				target[k] = v
			}
			return target
		}, nil)
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) {
	if g, ok := a.groupFor(w, r, "identity:get_group", nil); ok {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"group": renderGroup(r, g)})
	}
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := a.groupFor(w, r, "identity:update_group", nil)
	if !ok {
		return
	}
	var b groupBody
	if err := decodeUpdate(w, r, "group", &b); err != nil || b.Group == nil {
		a.fail(w, r, orInvalid(err, "group", "'group' is a required property"))
		return
	}
	if err := b.Group.apply(&g, true); err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := a.Store.UpdateGroup(r.Context(), g)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"group": renderGroup(r, g)})
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	g, ok := a.groupFor(w, r, "identity:delete_group", nil)
	if !ok {
		return
	}
	if err := a.Store.DeleteGroup(r.Context(), g.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) groupUsers(w http.ResponseWriter, r *http.Request) {
	g, ok := a.groupFor(w, r, "identity:list_users_in_group", nil)
	if !ok {
		return
	}
	q := r.URL.Query()
	us, truncated, err := limitList(a.ListLimit, userFilters.inStore(q, nil) && !userOnlyFilters(q),
		func(n int) ([]identity.User, error) { return a.Store.UsersInGroup(r.Context(), g.ID, n) },
		func(us []identity.User) ([]identity.User, error) { return userQuery(q, us) })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := renderAll(r, us, renderUser)
	httpapi.WriteJSON(w, http.StatusOK, limitedCollection(collection(r, "users", out), truncated))
}

func (a *API) memberTarget(r *http.Request) map[string]any {
	u, _ := a.Store.GetUser(r.Context(), r.PathValue("uid"))
	return map[string]any{"user": map[string]any{"id": r.PathValue("uid"), "domain_id": u.DomainID}}
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	g, ok := a.groupFor(w, r, "identity:add_user_to_group", a.memberTarget(r))
	if !ok {
		return
	}
	if err := a.Store.AddMember(r.Context(), g.ID, r.PathValue("uid")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) checkMember(w http.ResponseWriter, r *http.Request) {
	g, ok := a.groupFor(w, r, "identity:check_user_in_group", a.memberTarget(r))
	if !ok {
		return
	}
	in, err := a.Store.IsMember(r.Context(), g.ID, r.PathValue("uid"))
	if err == nil && !in {
		err = &fault.Error{Kind: fault.NotFound, Message: "Could not find user in group: " + r.PathValue("uid") + "."}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request) {
	g, ok := a.groupFor(w, r, "identity:remove_user_from_group", a.memberTarget(r))
	if !ok {
		return
	}
	if err := a.Store.RemoveMember(r.Context(), g.ID, r.PathValue("uid")); err != nil {
		a.fail(w, r, err)
		return
	}
	// Membership gave roles: Keystone revokes the user's tokens.
	if err := a.Auth.Revoke(r.Context(), revoke.Event{UserID: r.PathValue("uid")}); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
