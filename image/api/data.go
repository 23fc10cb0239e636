package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) dataRoutes(rt *httpapi.Router) {
	rt.HandleFunc("PUT /v2/images/{id}/file", a.authed(a.upload))
	rt.HandleFunc("GET /v2/images/{id}/file", a.authed(a.download))
	rt.HandleFunc("PUT /v2/images/{id}/stage", a.authed(a.stage))
	rt.HandleFunc("POST /v2/images/{id}/import", a.authed(a.doImport))
	rt.HandleFunc("GET /v2/info/import", a.authed(a.importInfo))
}

// dataRequest checks what upload and stage share: the media type, the
// announced size, and upload_image on the image.
func (a *API) dataRequest(w http.ResponseWriter, r *http.Request) (image.Image, int64, bool) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/octet-stream" {
		a.fail(w, r, &fault.Error{Kind: fault.UnsupportedMedia, Message: "Content-Type must be application/octet-stream"})
		return image.Image{}, 0, false
	}
	size := int64(-1)
	if v := r.Header.Get("x-openstack-image-size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			a.fail(w, r, fault.Invalid("x-openstack-image-size", "x-openstack-image-size must be a non-negative integer"))
			return image.Image{}, 0, false
		}
		size = n
	}
	img, ok := a.load(w, r, "upload_image")
	return img, size, ok
}

func (a *API) upload(w http.ResponseWriter, r *http.Request) {
	img, size, ok := a.dataRequest(w, r)
	if !ok {
		return
	}
	if _, err := a.Service.Upload(r.Context(), img.ID, r.Body, size); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) stage(w http.ResponseWriter, r *http.Request) {
	img, size, ok := a.dataRequest(w, r)
	if !ok {
		return
	}
	if _, err := a.Service.Stage(r.Context(), img.ID, r.Body, size); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) doImport(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Method *struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"method"`
	}
	if err := httpapi.DecodeJSON(w, r, &body, httpapi.MaxBytes(maxBody), httpapi.AnyMediaType()); err != nil {
		a.fail(w, r, err)
		return
	}
	if body.Method == nil {
		a.fail(w, r, fault.Invalid("method", "Import request requires a 'method' field."))
		return
	}
	img, ok := a.load(w, r, "upload_image")
	if !ok {
		return
	}
	if _, err := a.Service.Import(r.Context(), img.ID, body.Method.Name, body.Method.URI); err != nil {
		a.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{})
}

func (a *API) importInfo(w http.ResponseWriter, r *http.Request) {
	m := a.Service.ImportMethods()
	if m == nil {
		m = []string{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"import-methods": map[string]any{
		"description": "Import methods available.", "type": "array", "value": m}})
}

// download streams the data, whole or one byte range (Range: bytes=a-b,
// a-, or -n), with Content-MD5 (hex, as Glance) on whole answers.
func (a *API) download(w http.ResponseWriter, r *http.Request) {
	img, ok := a.load(w, r, "download_image")
	if !ok {
		return
	}
	size := deref(img.Size)
	offset, length, partial, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", max(size, 0)))
		a.fail(w, r, err)
		return
	}
	admin := a.enforce(r.Context(), "context_is_admin", nil) == nil
	rc, err := a.Service.Download(r.Context(), img, offset, length, admin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if rc == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, size))
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	} else {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		if img.Checksum != "" {
			h.Set("Content-MD5", img.Checksum)
		}
	}
	w.WriteHeader(status)
	io.Copy(w, rc)
}

// parseRange reads a single-range Range header against size; multiple
// ranges are refused, as Glance does.
func parseRange(h string, size int64) (offset, length int64, partial bool, err error) {
	if h == "" {
		return 0, -1, false, nil
	}
	bad := &fault.Error{Kind: fault.RangeNotSatisfiable, Message: "Requested range not satisfiable: " + h}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") || size <= 0 {
		return 0, 0, false, bad
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false, bad
	}
	if first == "" { // suffix: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, bad
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false, bad
	}
	end := size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return 0, 0, false, bad
		}
		end = min(end, size-1)
	}
	return start, end - start + 1, true, nil
}
