package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) memberRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/images/{id}/members", a.authed(a.listMembers))
	rt.HandleFunc("POST /v2/images/{id}/members", a.authed(a.addMember))
	rt.HandleFunc("GET /v2/images/{id}/members/{member}", a.authed(a.showMember))
	rt.HandleFunc("PUT /v2/images/{id}/members/{member}", a.authed(a.updateMember))
	rt.HandleFunc("DELETE /v2/images/{id}/members/{member}", a.authed(a.deleteMember))
}

func renderMember(m image.Member) map[string]any {
	return map[string]any{"image_id": m.ImageID, "member_id": m.Member, "status": m.Status,
		"created_at": isoTime(m.CreatedAt), "updated_at": isoTime(m.UpdatedAt), "schema": "/v2/schemas/member"}
}

// members returns the members the caller may see: all of them for the
// owner and admins, its own membership for a member.
func (a *API) members(r *http.Request, img image.Image) ([]image.Member, error) {
	ms, err := a.Service.Store.Members(r.Context(), img.ID)
	if err != nil {
		return nil, err
	}
	p := caller(r.Context()).ProjectID
	if img.Owner == p || a.enforce(r.Context(), "context_is_admin", nil) == nil {
		return ms, nil
	}
	var own []image.Member
	for _, m := range ms {
		if m.Member == p {
			own = append(own, m)
		}
	}
	return own, nil
}

// sharedOnly refuses member calls on images that are not shared, as
// Glance's _check_visibility_and_ownership does (image_members.py).
func sharedOnly(img image.Image) error {
	if img.Visibility != image.Shared {
		return &fault.Error{Kind: fault.Forbidden, Message: "Only shared images have members."}
	}
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) {
	img, ok := a.load(w, r, "get_members")
	if !ok {
		return
	}
	if err := sharedOnly(img); err != nil {
		a.fail(w, r, err)
		return
	}
	ms, err := a.members(r, img)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		out[i] = renderMember(m)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"members": out, "schema": "/v2/schemas/members"})
}

func (a *API) findMember(w http.ResponseWriter, r *http.Request, img image.Image) (image.Member, bool) {
	ms, err := a.members(r, img)
	if err != nil {
		a.fail(w, r, err)
		return image.Member{}, false
	}
	for _, m := range ms {
		if m.Member == r.PathValue("member") {
			return m, true
		}
	}
	a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Member %s not found for image %s.", r.PathValue("member"), img.ID)})
	return image.Member{}, false
}

// showMember answers every refusal with 404, as Glance's show turns
// Forbidden into HTTPNotFound (image_members.py).
func (a *API) showMember(w http.ResponseWriter, r *http.Request) {
	img, ok := a.load(w, r, "get_image")
	if !ok {
		return
	}
	if sharedOnly(img) != nil || a.enforce(r.Context(), "get_member", a.target(r.Context(), img)) != nil {
		a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Member %s not found for image %s.", r.PathValue("member"), img.ID)})
		return
	}
	if m, ok := a.findMember(w, r, img); ok {
		httpapi.WriteJSON(w, http.StatusOK, renderMember(m))
	}
}

// memberBody is Glance's RequestDeserializer.create for members: the
// project to add, checked before the image is looked up.
func memberBody(w http.ResponseWriter, r *http.Request) (string, error) {
	form := fault.New(fault.BadRequest, `Expected a member in the form: {"member": "image_id"}`)
	body, err := readObject(w, r, func(json.RawMessage) error { return form })
	if err != nil {
		return "", err
	}
	raw, ok := body["member"]
	if !ok {
		return "", fault.New(fault.BadRequest, "Member to be added not specified")
	}
	var member string
	switch {
	case string(raw) == "null":
	case json.Unmarshal(raw, &member) != nil:
		return "", form
	case len(member) > image.MaxNameLength:
		return "", fault.Invalid("member", "a member must have 1 to %d characters", image.MaxNameLength)
	}
	if member == "" {
		return "", fault.New(fault.BadRequest, "Member can't be empty")
	}
	return member, nil
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	member, err := memberBody(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	img, ok := a.load(w, r, "add_member")
	if !ok {
		return
	}
	if img.Visibility != image.Shared {
		a.fail(w, r, &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Image %s is %s: only shared images have members.", img.ID, img.Visibility)})
		return
	}
	m, err := a.Service.Store.AddMember(r.Context(), img, member)
	if err != nil {
		a.fail(w, r, capWrap(err, "Image member limit exceeded for image %s: %s:", img.ID))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, renderMember(m))
}

func (a *API) updateMember(w http.ResponseWriter, r *http.Request) {
	form := fault.New(fault.BadRequest, `Expected a status in the form: {"status": "status"}`)
	body, err := readObject(w, r, func(json.RawMessage) error { return form })
	var status string
	if raw, ok := body["status"]; err == nil && ok && json.Unmarshal(raw, &status) != nil {
		err = form
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	img, ok := a.load(w, r, "get_member")
	if !ok {
		return
	}
	if err := sharedOnly(img); err != nil {
		a.fail(w, r, err)
		return
	}
	m, ok := a.findMember(w, r, img)
	if !ok {
		return
	}
	t := a.target(r.Context(), img)
	t["member_id"] = nil
	if m.Member == caller(r.Context()).ProjectID {
		t["member_id"] = m.Member
	}
	if err := a.enforce(r.Context(), "modify_member", t); err != nil {
		a.fail(w, r, err)
		return
	}
	m, err = a.Service.Store.SetMemberStatus(r.Context(), img.ID, m.Member, status)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ms, _ := a.Service.Store.Members(r.Context(), img.ID)
	for _, full := range ms {
		if full.Member == m.Member {
			m = full
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, renderMember(m))
}

func (a *API) deleteMember(w http.ResponseWriter, r *http.Request) {
	img, ok := a.load(w, r, "delete_member")
	if !ok {
		return
	}
	if err := sharedOnly(img); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.Service.Store.RemoveMember(r.Context(), img.ID, r.PathValue("member")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
