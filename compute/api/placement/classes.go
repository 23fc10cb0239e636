package placement

import (
	"errors"
	"net/http"

	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) classRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /resource_classes", a.op(ruleClassList, 2, a.listClasses))
	rt.HandleFunc("POST /resource_classes", a.op(ruleClassCreate, 2, a.createClass))
	rt.HandleFunc("GET /resource_classes/{name}", a.op(ruleClassShow, 2, a.showClass))
	rt.HandleFunc("PUT /resource_classes/{name}", a.op(ruleClassUpdate, 2, a.putClass))
	rt.HandleFunc("DELETE /resource_classes/{name}", a.op(ruleClassDelete, 2, a.deleteClass))
}

// classJSON is a resource class with its self link.
func classJSON(r *http.Request, name string) map[string]any {
	return map[string]any{"name": name, "links": []link{{"self", prefix(r) + "/resource_classes/" + name}}}
}

func (a *API) listClasses(w http.ResponseWriter, r *http.Request, q *request) error {
	names, err := a.Store.ResourceClasses(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = classJSON(r, n)
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"resource_classes": out})
	return nil
}

// className reads {"name": "CUSTOM_..."}, the body of POST and of PUT
// before 1.7.
func className(w http.ResponseWriter, r *http.Request) (string, error) {
	o, err := readObject(w, r)
	if err != nil {
		return "", err
	}
	if err := o.check([]string{"name"}, "name"); err != nil {
		return "", err
	}
	return o.str("name", 0, 255, customPattern)
}

func (a *API) createClass(w http.ResponseWriter, r *http.Request, q *request) error {
	name, err := className(w, r)
	if err != nil {
		return err
	}
	if _, err := a.Store.CreateResourceClass(r.Context(), name, true); err != nil {
		return err
	}
	w.Header().Set("Location", location(r, "/resource_classes/"+name))
	noContent(w, http.StatusCreated)
	return nil
}

func (a *API) showClass(w http.ResponseWriter, r *http.Request, q *request) error {
	name := r.PathValue("name")
	if err := a.classExists(r, name); err != nil {
		return err
	}
	q.modified(w, q.now)
	httpapi.WriteJSON(w, http.StatusOK, classJSON(r, name))
	return nil
}

func (a *API) classExists(r *http.Request, name string) error {
	ok, err := a.Store.ResourceClassExists(r.Context(), name)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("No such resource class %s.", name)
	}
	return nil
}

// putClass is PUT /resource_classes/{name}: since 1.7 it creates the
// custom class (201) or finds it there (204); before, it renames one.
func (a *API) putClass(w http.ResponseWriter, r *http.Request, q *request) error {
	name := r.PathValue("name")
	if !q.at(7) {
		return a.renameClass(w, r, q, name)
	}
	if _, err := stringValue(name, 0, 255, customPattern); err != nil {
		return err
	}
	created, err := a.Store.CreateResourceClass(r.Context(), name, false)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(r, "/resource_classes/"+name))
	if created {
		noContent(w, http.StatusCreated)
	} else {
		noContent(w, http.StatusNoContent)
	}
	return nil
}

// renameClass is PUT /resource_classes/{name} before 1.7. The Store
// keeps inventories by class name, so the rename is a new class and the
// old one deleted, which works only while no inventory uses the old one
// (a 409 otherwise, where Placement renames a class in use).
func (a *API) renameClass(w http.ResponseWriter, r *http.Request, q *request, old string) error {
	name, err := className(w, r)
	if err != nil {
		return err
	}
	if err := a.classExists(r, old); err != nil {
		return err
	}
	if placement.IsStandardClass(old) {
		return badRequest("Cannot update standard resource class %s", old)
	}
	if name != old {
		if _, err := a.Store.CreateResourceClass(r.Context(), name, true); err != nil {
			if fault.KindOf(err) == fault.Conflict {
				return conflict("", "Resource class already exists: %s", name)
			}
			return err
		}
		if err := a.Store.DeleteResourceClass(r.Context(), old); err != nil {
			return errors.Join(err, a.Store.DeleteResourceClass(r.Context(), name))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, classJSON(r, name))
	return nil
}

func (a *API) deleteClass(w http.ResponseWriter, r *http.Request, q *request) error {
	name := r.PathValue("name")
	if err := a.classExists(r, name); err != nil {
		return err
	}
	err := a.Store.DeleteResourceClass(r.Context(), name)
	if k := fault.KindOf(err); k == fault.BadRequest || k == fault.Conflict {
		return placementError(k, "", "Error in delete resource class: %s", fault.Message(err))
	}
	if err != nil {
		return err
	}
	noContent(w, http.StatusNoContent)
	return nil
}
