package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/image"
	"github.com/gostack/gostack/kit/fault"
)

// Attribute classes, as Glance's RequestDeserializer names them.
var (
	readOnly = map[string]bool{"created_at": true, "updated_at": true, "status": true, "checksum": true, "size": true,
		"virtual_size": true, "direct_url": true, "self": true, "file": true, "schema": true, "id": true,
		"os_hash_algo": true, "os_hash_value": true, "stores": true, "locations": true}
	reserved = map[string]bool{"location": true, "deleted": true, "deleted_at": true}
	// base are the attributes that are not extra properties.
	base = map[string]bool{"checksum": true, "created_at": true, "container_format": true, "disk_format": true,
		"id": true, "min_disk": true, "min_ram": true, "name": true, "size": true, "virtual_size": true, "status": true,
		"tags": true, "owner": true, "updated_at": true, "visibility": true, "protected": true, "os_hidden": true,
		"os_hash_algo": true, "os_hash_value": true, "direct_url": true, "self": true, "file": true, "schema": true,
		"stores": true, "locations": true}
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkKey refuses attributes a client may never write (403, as Glance).
func checkKey(key string) error {
	switch {
	case readOnly[key]:
		return &fault.Error{Kind: fault.Forbidden, Field: key, Message: fmt.Sprintf("Attribute '%s' is read-only.", key)}
	case reserved[key] || strings.HasPrefix(key, "os_glance"):
		return &fault.Error{Kind: fault.Forbidden, Field: key, Message: fmt.Sprintf("Attribute '%s' is reserved.", key)}
	case len(key) > image.MaxNameLength:
		return fault.New(fault.BadRequest, "Custom property should not be greater than %d characters.", image.MaxNameLength)
	case key == "":
		return fault.Invalid(key, "Property names must not be empty.")
	}
	return nil
}

func schemaErr(key, format string, args ...any) error {
	for i, a := range args {
		args[i] = clip(a)
	}
	return fault.Invalid(key, "Provided object does not match schema 'image': "+format, args...)
}

// clip cuts a value a message repeats (Glance's schema errors quote the
// input) to 64 bytes, so an error never carries a megabyte of the
// client's body back, nor into the logs.
func clip(v any) any {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.RawMessage:
		s = string(x)
	case []byte:
		s = string(x)
	default:
		return v
	}
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// set applies one attribute with Glance's schema rules. A JSON null
// clears the nullable strings. Extra properties must be strings.
func (a *API) set(img *image.Image, key string, raw json.RawMessage) error {
	if err := checkKey(key); err != nil {
		return err
	}
	null := string(raw) == "null"
	switch key {
	case "name", "owner":
		s, err := nullableString(key, raw, image.MaxNameLength)
		if err != nil {
			return err
		}
		if key == "name" {
			img.Name = s
		} else if s != "" {
			img.Owner = s
		}
	case "container_format", "disk_format":
		s, err := nullableString(key, raw, image.MaxNameLength)
		if err != nil {
			return err
		}
		allowed := a.containerFormats()
		if key == "disk_format" {
			allowed = a.diskFormats()
		}
		if !null && !slices.Contains(allowed, s) {
			return schemaErr(key, "'%s' is not one of %s", s, strings.Join(allowed, ", "))
		}
		if key == "disk_format" {
			img.DiskFormat = s
		} else {
			img.ContainerFormat = s
		}
	case "visibility":
		var s string
		if json.Unmarshal(raw, &s) != nil || !slices.Contains([]string{image.Public, image.Private, image.Shared, image.Community}, s) {
			return schemaErr(key, "%s is not one of public, private, shared, community", raw)
		}
		img.Visibility = s
	case "protected", "os_hidden":
		var b bool
		if json.Unmarshal(raw, &b) != nil || null {
			return schemaErr(key, "%s is not of type 'boolean'", raw)
		}
		if key == "protected" {
			img.Protected = b
		} else {
			img.Hidden = b
		}
	case "min_ram", "min_disk":
		var n int64
		if json.Unmarshal(raw, &n) != nil || null || n < 0 {
			return schemaErr(key, "%s is not a non-negative integer", raw)
		}
		if key == "min_ram" {
			img.MinRAM = n
		} else {
			img.MinDisk = n
		}
	case "tags":
		tags, err := parseTags(raw)
		if err != nil {
			return err
		}
		img.Tags = tags
	default:
		var s string
		if json.Unmarshal(raw, &s) != nil || null {
			return schemaErr(key, "%s is not of type 'string'", raw)
		}
		if len(s) > image.MaxValueLength {
			return schemaErr(key, "value is longer than %d characters", image.MaxValueLength)
		}
		img.Properties[key] = s
	}
	return nil
}

func nullableString(key string, raw json.RawMessage, max int) (string, error) {
	if string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", schemaErr(key, "%s is not of type 'null', 'string'", raw)
	}
	if len(s) > max {
		return "", schemaErr(key, "'%s' is too long", s)
	}
	return s, nil
}

func parseTags(raw json.RawMessage) ([]string, error) {
	var tags []string
	if string(raw) == "null" || json.Unmarshal(raw, &tags) != nil {
		return nil, schemaErr("tags", "%s is not of type 'array' of strings", raw)
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if err := checkTag(t); err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func checkTag(t string) error {
	if len(t) > image.MaxNameLength || t == "" {
		return schemaErr("tags", "a tag must have 1 to %d characters", image.MaxNameLength)
	}
	return nil
}

func (a *API) diskFormats() []string {
	if a.DiskFormats != nil {
		return a.DiskFormats
	}
	return DefaultDiskFormats
}

func (a *API) containerFormats() []string {
	if a.ContainerFormats != nil {
		return a.ContainerFormats
	}
	return DefaultContainerFormats
}

// render is an image as Glance shows it: every base attribute (unset
// strings as null), the extra properties flat beside them, and links.
func render(img image.Image) map[string]any {
	m := make(map[string]any, 24+len(img.Properties))
	for k, v := range img.Properties {
		m[k] = v
	}
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	m["id"], m["name"], m["status"], m["visibility"] = img.ID, null(img.Name), img.Status, img.Visibility
	m["protected"], m["os_hidden"], m["owner"] = img.Protected, img.Hidden, null(img.Owner)
	m["checksum"], m["os_hash_algo"], m["os_hash_value"] = null(img.Checksum), null(img.HashAlgo), null(img.HashValue)
	m["size"], m["virtual_size"] = img.Size, img.VirtualSize
	m["container_format"], m["disk_format"] = null(img.ContainerFormat), null(img.DiskFormat)
	m["min_ram"], m["min_disk"], m["tags"] = img.MinRAM, img.MinDisk, img.Tags
	m["created_at"], m["updated_at"] = isoTime(img.CreatedAt), isoTime(img.UpdatedAt)
	m["self"], m["file"], m["schema"] = "/v2/images/"+img.ID, "/v2/images/"+img.ID+"/file", "/v2/schemas/image"
	return m
}
