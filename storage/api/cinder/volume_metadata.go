package cinder

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
)

// volumeMetadataRoutes are a volume's metadata items
// (v3/volume_metadata.py), with ETags from 3.15.
func (a *API) volumeMetadataRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /volumes/{id}/metadata", a.op(a.listVolumeMetadata))
	rt.HandleFunc("POST /volumes/{id}/metadata", a.op(a.setVolumeMetadata(false)))
	rt.HandleFunc("PUT /volumes/{id}/metadata", a.op(a.setVolumeMetadata(true)))
	rt.HandleFunc("GET /volumes/{id}/metadata/{key}", a.op(a.showVolumeMetadata))
	rt.HandleFunc("PUT /volumes/{id}/metadata/{key}", a.op(a.updateVolumeMetadataItem))
	rt.HandleFunc("DELETE /volumes/{id}/metadata/{key}", a.op(a.deleteVolumeMetadata))
}

// volumeMetadata is the metadata of the volume of the request's path,
// after Cinder's get and volume:get_volume_metadata.
func (a *API) volumeMetadata(r *http.Request, q *request) (map[string]string, error) {
	v, err := a.getVolume(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if err := a.authorize(r.Context(), q, "volume:get_volume_metadata", volumeTarget(q, v)); err != nil {
		return nil, err
	}
	if v.Metadata == nil {
		return map[string]string{}, nil
	}
	return v.Metadata, nil
}

// metadataETag is Cinder's ETag of a volume's metadata: the MD5 of
// Python's json.dumps({"metadata": md}).
func metadataETag(md map[string]string) string {
	var b strings.Builder
	b.WriteString(`{"metadata": {`)
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyJSONString(k) + ": " + pyJSONString(md[k]))
	}
	b.WriteString("}}")
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// pyJSONString is a string as Python's json.dumps writes it (ASCII
// only, non-ASCII as \u escapes).
func pyJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f:
			for _, u := range utf16(r) {
				b.WriteString(`\u` + hex4(u))
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func utf16(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + r>>10), uint16(0xdc00 + r&0x3ff)}
}

func hex4(u uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[u>>12], digits[u>>8&15], digits[u>>4&15], digits[u&15]})
}

func (a *API) listVolumeMetadata(w http.ResponseWriter, r *http.Request, q *request) error {
	md, err := a.volumeMetadata(r, q)
	if err != nil {
		return err
	}
	if q.at(15) {
		w.Header().Set("Etag", metadataETag(md))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"metadata": md})
	return nil
}

// ifMatch reports whether the request's If-Match (from 3.15) names the
// metadata's ETag; no If-Match matches.
func ifMatch(r *http.Request, q *request, md map[string]string) bool {
	h := r.Header.Get("If-Match")
	if !q.at(15) || h == "" {
		return true
	}
	tag := metadataETag(md)
	for _, t := range strings.Split(h, ",") {
		t = strings.Trim(strings.TrimSpace(t), `"`)
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

// setVolumeMetadata is POST (keys added or changed) and PUT (the whole
// metadata replaced) of /volumes/{id}/metadata.
func (a *API) setVolumeMetadata(replace bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		if body == nil {
			return errNoBody
		}
		if err := metadataCreateSchema.check(nil, body); err != nil {
			return err
		}
		md := map[string]string{}
		in := body.Get("metadata")
		for i, k := range in.Keys {
			md[k] = in.Items[i].Text
		}
		out, err := a.writeVolumeMetadata(w, r, q, md, replace)
		if err != nil || out == nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"metadata": out})
		return nil
	}
}

// writeVolumeMetadata checks the volume, the policy and the ETag, then
// writes md; nil (and a 412 written) when the ETag does not match.
func (a *API) writeVolumeMetadata(w http.ResponseWriter, r *http.Request, q *request, md map[string]string, replace bool) (map[string]string, error) {
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return nil, err
	}
	if replace || r.Method == http.MethodPut {
		if !ifMatch(r, q, v.Metadata) {
			w.WriteHeader(http.StatusPreconditionFailed)
			return nil, nil
		}
	}
	rule := "volume:update_volume_metadata"
	if r.Method == http.MethodPost {
		rule = "volume:create_volume_metadata"
	}
	if err := a.authorize(r.Context(), q, rule, volumeTarget(q, v)); err != nil {
		return nil, err
	}
	return a.Store.UpdateVolumeMetadata(r.Context(), q.viewer(), id, md, replace)
}

func (a *API) showVolumeMetadata(w http.ResponseWriter, r *http.Request, q *request) error {
	md, err := a.volumeMetadata(r, q)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	val, ok := md[key]
	if !ok {
		return notFound("Volume %s has no metadata with key %s.", r.PathValue("id"), key)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: val}})
	return nil
}

func (a *API) updateVolumeMetadataItem(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := metadataUpdateSchema.check(nil, body); err != nil {
		return err
	}
	key := r.PathValue("key")
	meta := body.Get("meta")
	if !meta.Has(key) {
		return badRequest("Request body and URI mismatch")
	}
	out, err := a.writeVolumeMetadata(w, r, q, map[string]string{key: meta.Get(key).Text}, false)
	if err != nil || out == nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: meta.Get(key).Text}})
	return nil
}

func (a *API) deleteVolumeMetadata(w http.ResponseWriter, r *http.Request, q *request) error {
	id, key := r.PathValue("id"), r.PathValue("key")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:get_volume_metadata", volumeTarget(q, v)); err != nil {
		return err
	}
	if _, ok := v.Metadata[key]; !ok {
		return notFound("Volume %s has no metadata with key %s.", id, key)
	}
	if err := a.authorize(r.Context(), q, "volume:delete_volume_metadata", volumeTarget(q, v)); err != nil {
		return err
	}
	if err := a.Store.DeleteVolumeMetadata(r.Context(), q.viewer(), id, key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
