package identity

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/fault"
)

// Keystone 22's limits on what it stores: its JSON schemas (keystone/*/schema.py,
// keystone/common/validation/parameter_types.py) and, where a schema
// allows more than Keystone's SQL column holds, the column. Lengths are in
// characters, as JSON Schema counts them.
const (
	maxDomainName      = 64  // resource/schema.py _name_properties
	maxProjectName     = 64  // resource/schema.py _name_properties
	maxUserName        = 255 // identity/schema.py _identity_name
	maxGroupName       = 64  // identity/backends/sql_model.py Group.name String(64) (the schema says 255)
	maxRoleName        = 255 // parameter_types.name
	maxRoleDescription = 255 // assignment/role_backends/sql_model.py RoleTable.description String(255)
	maxTag             = 255 // resource/schema.py _project_tag_name_properties
	maxTags            = 80  // resource/schema.py _project_tags_list_properties maxItems
	maxID              = 64  // parameter_types.id_string
	maxRegionID        = 255 // catalog/backends/sql.py Region.id String(255)
	maxRegionText      = 255 // catalog/backends/sql.py Region.description String(255)
	maxServiceType     = 255 // catalog/schema.py _service_properties_type
	maxServiceName     = 255 // parameter_types.name
	maxURL             = 225 // parameter_types.url (sic)
	maxAppCredName     = 255 // parameter_types.name
)

// interfaces are the endpoint interfaces Keystone knows
// (catalog/schema.py _endpoint_properties).
var interfaces = []string{"admin", "internal", "public"}

// urlSubstitutions are the $(name)s an endpoint URL may use
// (keystone/common/utils.py WHITELISTED_PROPERTIES).
var urlSubstitutions = []string{"tenant_id", "project_id", "user_id", "public_bind_host", "admin_bind_host",
	"compute_host", "admin_port", "public_port", "public_endpoint"}

// Validate checks d against Keystone's rules for a domain; the store
// checks it on create and update.
func (d Domain) Validate() error {
	return first(
		optionalID("domain.id", d.ID),
		name("domain.name", d.Name, maxDomainName),
		text("domain.description", d.Description, 0),
	)
}

// Validate checks p against Keystone's rules for a project, tags
// included; the store checks it on create and update.
func (p Project) Validate() error {
	domainID := id("project.domain_id", p.DomainID)
	if p.IsDomain {
		domainID = optionalID("project.domain_id", p.DomainID) // none: the store refuses one
	}
	return first(
		optionalID("project.id", p.ID),
		name("project.name", p.Name, maxProjectName),
		domainID,
		optionalID("project.parent_id", p.ParentID),
		text("project.description", p.Description, 0),
		tags("project.tags", p.Tags),
	)
}

// Validate checks u against Keystone's rules for a user, its extra
// properties included.
func (u User) Validate() error {
	return first(
		optionalID("user.id", u.ID),
		name("user.name", u.Name, maxUserName),
		id("user.domain_id", u.DomainID),
		optionalID("user.default_project_id", u.DefaultProjectID),
		userExtra(u.Extra),
		u.Options.Validate(),
	)
}

// userExtra checks a user's extra properties: none named like an
// attribute, each one JSON value in valid UTF-8 (what PostgreSQL stores),
// and the description a string or null (Keystone's user schema, which
// names it although its SQL model keeps it in the extra column).
func userExtra(extra map[string]json.RawMessage) error {
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		v, field := extra[k], "user."+k
		switch {
		case IsUserAttribute(k):
			return fault.Invalid(field, "is an attribute of users, not an extra property")
		case !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0:
			return fault.Invalid("user", "has a property name that is not valid UTF-8 or holds NUL")
		case !utf8.Valid(v) || !json.Valid(v):
			return fault.Invalid(field, "is not one valid JSON value")
		}
		if k == "description" {
			var d *string
			if json.Unmarshal(v, &d) != nil {
				return fault.Invalid(field, "expected string or null")
			}
		}
	}
	return nil
}

// Validate checks g against Keystone's rules for a group.
func (g Group) Validate() error {
	return first(
		optionalID("group.id", g.ID),
		name("group.name", g.Name, maxGroupName),
		id("group.domain_id", g.DomainID),
		text("group.description", g.Description, 0),
	)
}

// Validate checks r against Keystone's rules for a role.
func (r Role) Validate() error {
	return first(
		optionalID("role.id", r.ID),
		name("role.name", r.Name, maxRoleName),
		optionalID("role.domain_id", r.DomainID),
		text("role.description", r.Description, maxRoleDescription),
	)
}

// Validate checks r against Keystone's rules for a region. An empty ID
// is one the store will choose.
func (r Region) Validate() error {
	return first(
		text("region.id", r.ID, maxRegionID),
		noSlash("region.id", r.ID),
		text("region.parent_region_id", r.ParentRegionID, maxRegionID),
		text("region.description", r.Description, maxRegionText),
	)
}

// Validate checks v against Keystone's rules for a catalog service. An
// empty Name is a service without one.
func (v Service) Validate() error {
	err := first(
		optionalID("service.id", v.ID),
		required("service.type", v.Type),
		text("service.type", v.Type, maxServiceType),
		text("service.description", v.Description, 0),
	)
	if err == nil && v.Name != "" {
		err = name("service.name", v.Name, maxServiceName)
	}
	return err
}

// Validate checks e against Keystone's rules for an endpoint: a known
// interface and a URL Keystone would accept and could fill in.
func (e Endpoint) Validate() error {
	err := first(
		optionalID("endpoint.id", e.ID),
		required("endpoint.service_id", e.ServiceID),
		text("endpoint.service_id", e.ServiceID, maxID),
		text("endpoint.region_id", e.RegionID, maxRegionID),
		endpointURL("endpoint.url", e.URL),
	)
	if err == nil && !slices.Contains(interfaces, e.Interface) {
		err = fault.Invalid("endpoint.interface", "must be one of admin, internal or public")
	}
	return err
}

// Validate checks a against Keystone's rules for an application
// credential.
func (a AppCred) Validate() error {
	err := first(
		optionalID("application_credential.id", a.ID),
		name("application_credential.name", a.Name, maxAppCredName),
		id("application_credential.user_id", a.UserID),
		id("application_credential.project_id", a.ProjectID),
		text("application_credential.description", a.Description, 0),
	)
	for _, r := range a.RoleIDs {
		if err == nil {
			err = id("application_credential.roles", r)
		}
	}
	return err
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// isSpace is Python's str.isspace, which Keystone's name pattern `[\S]+`
// and its strip() use: Unicode white space and the four separators
// U+001C-U+001F.
func isSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// strip is Python's str.strip(): Keystone stores names stripped.
func strip(s string) string { return strings.TrimFunc(s, isSpace) }

// text checks a free-text field: valid UTF-8 without NUL (PostgreSQL
// stores neither) and at most max characters (0: no limit). The message
// never repeats the value, which may be a megabyte long.
func text(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return fault.Invalid(field, "is not valid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return fault.Invalid(field, "must not contain NUL characters")
	}
	if n := utf8.RuneCountInString(v); max > 0 && n > max {
		return fault.Invalid(field, "is %d characters long, more than the %d allowed", n, max)
	}
	return nil
}

func required(field, v string) error {
	if v == "" {
		return fault.Invalid(field, "must not be empty")
	}
	return nil
}

// name is Keystone's name rule: 1 to max characters, one of them not
// white space.
func name(field, v string, max int) error {
	if err := first(required(field, v), text(field, v, max)); err != nil {
		return err
	}
	if strings.IndexFunc(v, func(r rune) bool { return !isSpace(r) }) < 0 {
		return fault.Invalid(field, "must contain a character other than white space")
	}
	return nil
}

// id is Keystone's id_string: 1 to 64 ASCII letters, digits or hyphens.
func id(field, v string) error {
	if n := len(v); n == 0 || n > maxID {
		return fault.Invalid(field, "must be an id of 1 to %d letters, digits or hyphens", maxID)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fault.Invalid(field, "must be an id of 1 to %d letters, digits or hyphens", maxID)
		}
	}
	return nil
}

func optionalID(field, v string) error {
	if v == "" {
		return nil
	}
	return id(field, v)
}

// noSlash refuses a "/" in an id that goes into URL paths.
func noSlash(field, v string) error {
	if strings.Contains(v, "/") {
		return fault.Invalid(field, "must not contain '/'")
	}
	return nil
}

// tags is Keystone's rule for project tags: at most 80, each 1 to 255
// characters without "/" or ",", no two alike.
func tags(field string, ts []string) error {
	if len(ts) > maxTags {
		return fault.Invalid(field, "has %d tags, more than the %d allowed", len(ts), maxTags)
	}
	for i, t := range ts {
		if err := first(required(field, t), text(field, t, maxTag)); err != nil {
			return fault.Invalid(field, "tag %d %s", i, fault.Message(err))
		}
		if strings.ContainsAny(t, "/,") {
			return fault.Invalid(field, "tag %d contains '/' or ','", i)
		}
		if slices.Contains(ts[:i], t) {
			return fault.Invalid(field, "tag %d repeats an earlier tag", i)
		}
	}
	return nil
}

// endpointURL is Keystone's parameter_types.url (at most 225 characters,
// a scheme, a colon and something after it) and check_endpoint_url (every
// substitution one Keystone knows).
func endpointURL(field, u string) error {
	if err := first(required(field, u), text(field, u, maxURL)); err != nil {
		return err
	}
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || scheme == "" || strings.TrimLeft(scheme, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") != "" ||
		rest == "" || rest[0] == '\n' {
		return fault.Invalid(field, "must be a URL: a scheme, a colon and the rest")
	}
	if err := substitutions(u); err != nil {
		return fault.Invalid(field, "%s", err)
	}
	return nil
}

// substitutions checks u as Keystone's check_endpoint_url does: u with
// "$(" turned into "%(" must be a Python %-format that a mapping of the
// whitelisted names to "" can fill. So "%20" is refused, as Keystone
// refuses it.
func substitutions(u string) error {
	f := strings.ReplaceAll(u, "$(", "%(")
	unkeyed := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		keyed := i < len(f) && f[i] == '('
		if keyed {
			depth, start := 1, i+1
			for i++; i < len(f) && depth > 0; i++ {
				switch f[i] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			if depth > 0 {
				return fmt.Errorf("has an unterminated substitution")
			}
			if key := f[start : i-1]; !slices.Contains(urlSubstitutions, key) {
				return fmt.Errorf("has an unknown substitution $(%s)", key)
			}
		} else if unkeyed++; unkeyed > 1 {
			return fmt.Errorf("has a '%%' that is not a substitution")
		}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		for i < len(f) && '0' <= f[i] && f[i] <= '9' {
			i++
		}
		if i < len(f) && f[i] == '.' {
			for i++; i < len(f) && '0' <= f[i] && f[i] <= '9'; i++ {
			}
		}
		if i < len(f) && strings.IndexByte("hlL", f[i]) >= 0 {
			i++
		}
		if i >= len(f) || strings.IndexByte("sra", f[i]) < 0 {
			return fmt.Errorf("has a '%%' or a substitution that is not followed by s")
		}
	}
	return nil
}
