package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) imageRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /v2/images", a.authed(a.create))
	rt.HandleFunc("GET /v2/images", a.authed(a.list))
	rt.HandleFunc("GET /v2/images/{id}", a.authed(a.show))
	rt.HandleFunc("PATCH /v2/images/{id}", a.authed(a.update))
	rt.HandleFunc("DELETE /v2/images/{id}", a.authed(a.remove))
	rt.HandleFunc("PUT /v2/images/{id}/tags/{tag}", a.authed(a.addTag))
	rt.HandleFunc("DELETE /v2/images/{id}/tags/{tag}", a.authed(a.deleteTag))
	rt.HandleFunc("POST /v2/images/{id}/actions/deactivate", a.authed(a.action(image.Active, image.Deactivated, "deactivate")))
	rt.HandleFunc("POST /v2/images/{id}/actions/reactivate", a.authed(a.action(image.Deactivated, image.Active, "reactivate")))
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := readObject(w, r, func(raw json.RawMessage) error { return schemaErr("", "%s is not of type 'object'", raw) })
	if err != nil {
		a.fail(w, r, err)
		return
	}
	img := image.Image{ID: uuid.NewString(), Owner: caller(ctx).ProjectID, Properties: map[string]string{}, Tags: []string{}}
	if raw, ok := body["id"]; ok {
		var id string
		if json.Unmarshal(raw, &id) != nil || !uuidPattern.MatchString(id) {
			a.fail(w, r, schemaErr("id", "%s does not match the UUID pattern", raw))
			return
		}
		img.ID = strings.ToLower(id)
		delete(body, "id")
	}
	for _, k := range sortedKeys(body) {
		if err := a.set(&img, k, body[k]); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if err := a.checkCreate(r, img); err != nil {
		a.fail(w, r, err)
		return
	}
	img, err = a.Service.Store.Create(ctx, img)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", httpapi.BaseURL(r)+"/v2/images/"+img.ID)
	if m := a.Service.ImportMethods(); len(m) > 0 {
		w.Header().Set("OpenStack-image-import-methods", strings.Join(m, ","))
	}
	httpapi.WriteJSON(w, http.StatusCreated, a.view(ctx, img))
}

// checkCreate is add_image on the proposed image (its owner may be
// another project only for admins), the visibility policies, and the
// image count quota.
func (a *API) checkCreate(r *http.Request, img image.Image) error {
	ctx := r.Context()
	vis := img.Visibility
	if vis == "" {
		vis = image.Shared
	}
	t := map[string]any{"project_id": img.Owner, "owner": img.Owner, "visibility": vis}
	if err := a.enforce(ctx, "add_image", t); err != nil {
		if img.Owner != caller(ctx).ProjectID {
			return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("You are not permitted to create images owned by '%s'", img.Owner)}
		}
		return err
	}
	if err := a.enforceVisibility(r, vis, t); err != nil {
		return err
	}
	return a.Service.CheckCount(ctx, img.Owner)
}

// enforceVisibility is Glance's extra rule for public and community.
func (a *API) enforceVisibility(r *http.Request, vis string, target map[string]any) error {
	rule := map[string]string{image.Public: "publicize_image", image.Community: "communitize_image"}[vis]
	if rule == "" {
		return nil
	}
	if err := a.enforce(r.Context(), rule, target); err != nil {
		return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("You are not authorized to complete %s action.", rule), Err: err}
	}
	return nil
}

func (a *API) show(w http.ResponseWriter, r *http.Request) {
	img, ok := a.load(w, r, "get_image")
	if ok {
		httpapi.WriteJSON(w, http.StatusOK, a.view(r.Context(), img))
	}
}

func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	img, ok := a.load(w, r, "delete_image")
	if !ok {
		return
	}
	if err := a.Service.Delete(r.Context(), img.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addTag checks the tag before looking the image up, as Glance's
// deserializer does.
func (a *API) addTag(w http.ResponseWriter, r *http.Request) {
	if err := checkTag(r.PathValue("tag")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.editTags(w, r, func(tags []string, tag string) []string {
		if slices.Contains(tags, tag) {
			return tags
		}
		return append(tags, tag)
	})
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request) {
	a.editTags(w, r, func(tags []string, tag string) []string {
		return slices.DeleteFunc(tags, func(t string) bool { return t == tag })
	})
}

func (a *API) editTags(w http.ResponseWriter, r *http.Request, edit func([]string, string) []string) {
	img, ok := a.load(w, r, "modify_image")
	if !ok {
		return
	}
	tag := r.PathValue("tag")
	if r.Method == http.MethodDelete && !slices.Contains(img.Tags, tag) {
		a.fail(w, r, &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Tag %s not found", tag)})
		return
	}
	img.Tags = edit(slices.Clone(img.Tags), tag)
	if _, err := a.Service.Store.Update(r.Context(), img, img.Status); err != nil {
		a.fail(w, r, capWrap(err, "Image tag limit exceeded for image %s: %s:", img.ID))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// action is deactivate or reactivate: from → to, a no-op when the image
// is already there, as in Glance.
func (a *API) action(from, to image.Status, rule string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		img, ok := a.load(w, r, rule)
		if !ok {
			return
		}
		if img.Status != to {
			if img.Status != from {
				a.fail(w, r, &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf("Not allowed to %s image in status '%s'", rule, img.Status)})
				return
			}
			if _, err := a.Service.Store.Transition(r.Context(), img.ID, to, nil); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
