package image

import (
	"strings"

	"github.com/gostack/gostack/kit/fault"
)

// Caps bound what one image may hold: Glance's per-image quotas
// image_property_quota, image_tag_quota, image_member_quota and
// image_location_quota. A negative value is unlimited and 0 allows none,
// as in Glance.
//
// Store checks them on every write that adds to an image — Create,
// Update when it adds a property, a tag or a location, AddMember — and refuses one
// that would go over with a *CapError, changing nothing. An image over
// caps lowered since it was written may still be updated as long as it
// gains no property and no tag (Glance checks properties the same way;
// its tag check is stricter, refusing any new tag list over the cap).
type Caps struct {
	Properties int // extra properties; Glance's own os_glance_* keys do not count
	Tags       int
	Members    int
	Locations  int
}

// DefaultCaps are Glance's defaults: 128 properties, tags and members,
// 10 locations.
func DefaultCaps() Caps { return Caps{Properties: 128, Tags: 128, Members: 128, Locations: 10} }

// Glance's column sizes (glance/db/sqlalchemy/models.py: String(255) for
// names, tags, property names and member ids; Text for property values).
// Every write is held to them, in bytes; the API checks them first with
// the image schema's messages.
const (
	MaxNameLength  = 255   // an image's name, a tag, an extra property's name, a member's project
	MaxValueLength = 65535 // an extra property's value
)

// glanceNamespace prefixes the properties Glance keeps for itself; they
// do not count against Caps.Properties.
const glanceNamespace = "os_glance"

func countProperties(props map[string]string) int {
	n := 0
	for k := range props {
		if !strings.HasPrefix(k, glanceNamespace) {
			n++
		}
	}
	return n
}

// over reports whether img holds more tags, properties or locations than
// c allows, whatever it held before.
func (c Caps) over(img Image) bool {
	return (c.Tags >= 0 && len(img.Tags) > c.Tags) || (c.Properties >= 0 && countProperties(img.Properties) > c.Properties) ||
		c.locationsOver(len(img.Locations)) != nil
}

// locationsOver refuses n locations when the cap is below it.
func (c Caps) locationsOver(n int) error {
	if c.Locations >= 0 && n > c.Locations {
		return &CapError{What: "locations", Attempted: n, Maximum: c.Locations}
	}
	return nil
}

// check refuses img when it holds more tags or extra properties than c
// allows and gained some: old is the stored record, nil for a new image.
// Tags are checked first, as Glance's image factory (tags) runs before
// its repository (properties).
func (c Caps) check(img Image, old *Image) error {
	if n := len(img.Tags); c.Tags >= 0 && n > c.Tags && (old == nil || gainsTag(img.Tags, old.Tags)) {
		return &CapError{What: "tags", Attempted: n, Maximum: c.Tags}
	}
	if n := countProperties(img.Properties); c.Properties >= 0 && n > c.Properties && (old == nil || gainsProperty(img.Properties, old.Properties)) {
		return &CapError{What: "properties", Attempted: n, Maximum: c.Properties}
	}
	if old == nil || len(img.Locations) > len(old.Locations) {
		return c.locationsOver(len(img.Locations))
	}
	return nil
}

func gainsTag(tags, old []string) bool {
	have := make(map[string]bool, len(old))
	for _, t := range old {
		have[t] = true
	}
	for _, t := range tags {
		if !have[t] {
			return true
		}
	}
	return false
}

func gainsProperty(props, old map[string]string) bool {
	for k := range props {
		if _, ok := old[k]; !ok && !strings.HasPrefix(k, glanceNamespace) {
			return true
		}
	}
	return false
}

// checkLengths holds img to Glance's column sizes.
func checkLengths(img Image) error {
	if len(img.Name) > MaxNameLength {
		return fault.Invalid("name", "longer than %d bytes", MaxNameLength)
	}
	for _, t := range img.Tags {
		if t == "" || len(t) > MaxNameLength {
			return fault.Invalid("tags", "a tag must have 1 to %d bytes", MaxNameLength)
		}
	}
	for k, v := range img.Properties {
		if k == "" || len(k) > MaxNameLength {
			return fault.Invalid("properties", "a property name must have 1 to %d bytes", MaxNameLength)
		}
		if len(v) > MaxValueLength {
			return fault.Invalid(k, "longer than %d bytes", MaxValueLength)
		}
	}
	for _, l := range img.Locations {
		if err := l.check(); err != nil {
			return err
		}
	}
	return nil
}

// checkMember holds a member's project id to Glance's column size.
func checkMember(project string) error {
	if project == "" || len(project) > MaxNameLength {
		return fault.Invalid("member", "a member must have 1 to %d bytes", MaxNameLength)
	}
	return nil
}
