package api

import (
	"net/http"

	"github.com/gostack/gostack/kit/httpapi"
)

func (a *API) schemaRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2/schemas/image", a.authed(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, a.imageSchema())
	}))
	rt.HandleFunc("GET /v2/schemas/images", a.authed(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, collectionSchema("images", a.imageSchema()))
	}))
	rt.HandleFunc("GET /v2/schemas/member", a.authed(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, memberSchema())
	}))
	rt.HandleFunc("GET /v2/schemas/members", a.authed(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, collectionSchema("members", memberSchema()))
	}))
}

type obj = map[string]any

func str(desc string, extra ...any) obj {
	o := obj{"type": "string", "description": desc}
	for i := 0; i+1 < len(extra); i += 2 {
		o[extra[i].(string)] = extra[i+1]
	}
	return o
}

func nullable(typ, desc string, extra ...any) obj {
	o := str(desc, extra...)
	o["type"] = []string{"null", typ}
	return o
}

func enumOf(vals []string) []any {
	out := []any{nil}
	for _, v := range vals {
		out = append(out, v)
	}
	return out
}

// imageSchema is /v2/schemas/image: Glance's base properties (with the
// formats this API accepts) and string extra properties.
func (a *API) imageSchema() obj {
	props := obj{
		"id":               str("An identifier for the image", "pattern", uuidPattern.String()),
		"name":             nullable("string", "Descriptive name for the image", "maxLength", 255),
		"status":           str("Status of the image", "readOnly", true, "enum", []string{"queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"}),
		"visibility":       str("Scope of image accessibility", "enum", []string{"community", "public", "private", "shared"}),
		"protected":        obj{"type": "boolean", "description": "If true, image will not be deletable."},
		"os_hidden":        obj{"type": "boolean", "description": "If true, image will not appear in default image list response."},
		"checksum":         nullable("string", "md5 hash of image contents.", "readOnly", true, "maxLength", 32),
		"os_hash_algo":     nullable("string", "Algorithm to calculate the os_hash_value", "readOnly", true, "maxLength", 64),
		"os_hash_value":    nullable("string", "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", "readOnly", true, "maxLength", 128),
		"owner":            nullable("string", "Owner of the image", "maxLength", 255),
		"size":             obj{"type": []string{"null", "integer"}, "readOnly": true, "description": "Size of image file in bytes"},
		"virtual_size":     obj{"type": []string{"null", "integer"}, "readOnly": true, "description": "Virtual size of image in bytes"},
		"container_format": nullable("string", "Format of the container", "enum", enumOf(a.containerFormats())),
		"disk_format":      nullable("string", "Format of the disk", "enum", enumOf(a.diskFormats())),
		"created_at":       str("Date and time of image registration", "readOnly", true),
		"updated_at":       str("Date and time of the last image modification", "readOnly", true),
		"tags":             obj{"type": "array", "description": "List of strings related to the image", "items": obj{"type": "string", "maxLength": 255}},
		"min_ram":          obj{"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
		"min_disk":         obj{"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
		"self":             str("An image self url", "readOnly", true),
		"file":             str("An image file url", "readOnly", true),
		"schema":           str("An image schema url", "readOnly", true),
		"direct_url":       str("URL to access the image file kept in external store", "readOnly", true),
		"locations":        locationsSchema(),
	}
	return obj{"name": "image", "properties": props, "additionalProperties": obj{"type": "string"},
		"links": []obj{{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"}, {"rel": "describedby", "href": "{schema}"}}}
}

// locationsSchema is the image schema's locations, as Glance writes it.
func locationsSchema() obj {
	validation := obj{
		"description": "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
		"type":        "object", "writeOnly": true, "additionalProperties": false,
		"properties": obj{
			"checksum":      obj{"type": "string", "minLength": 32, "maxLength": 32},
			"os_hash_algo":  obj{"type": "string", "maxLength": 64},
			"os_hash_value": obj{"type": "string", "maxLength": 128},
		},
		"required": []string{"os_hash_algo", "os_hash_value"},
	}
	return obj{"type": "array", "description": "A set of URLs to access the image file kept in external store",
		"items": obj{"type": "object", "required": []string{"url", "metadata"}, "properties": obj{
			"url":             obj{"type": "string", "maxLength": 255},
			"metadata":        obj{"type": "object"},
			"validation_data": validation,
		}}}
}

func memberSchema() obj {
	return obj{"name": "member", "properties": obj{
		"created_at": str("Date and time of image member creation"),
		"image_id":   str("An identifier for the image", "pattern", uuidPattern.String()),
		"member_id":  str("An identifier for the image member (tenantId)"),
		"status":     str("The status of this image member", "enum", []string{"pending", "accepted", "rejected"}),
		"updated_at": str("Date and time of last modification of image member"),
		"schema":     str("", "readOnly", true),
	}}
}

func collectionSchema(name string, item obj) obj {
	return obj{"name": name, "properties": obj{
		name:     obj{"type": "array", "items": item},
		"schema": obj{"type": "string"}, "first": obj{"type": "string"}, "next": obj{"type": "string"},
	}, "links": []obj{{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}}}
}
