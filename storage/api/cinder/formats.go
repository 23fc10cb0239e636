package cinder

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/kit/pyrepr"
	"github.com/gostack/gostack/storage"
)

// formatKeyword is a format as Cinder's FormatChecker checks it
// (cinder/api/validation/validators.py): a checker that returns False is
// jsonschema's "%r is not a %r"; one that raises an exception Cinder
// registered it with (InvalidName) shows that exception's message; one
// that raises another (InvalidInput, InvalidParameterValue,
// HTTPBadRequest) ends the validation with that exception's message.
// Formats Cinder does not check are no check.
func formatKeyword(name string) keyword {
	check, ok := formats[name]
	if !ok {
		return func(*checkEnv, *pyjson.Value, []string) *schemaError { return nil }
	}
	return func(env *checkEnv, v *pyjson.Value, path []string) *schemaError {
		switch r := check(env, v); {
		case r == nil:
			return nil
		case r.raised:
			return &schemaError{path: path, value: v, msg: r.msg, whole: true, escape: true}
		case r.msg != "":
			return &schemaError{path: path, value: v, msg: r.msg, whole: true}
		default:
			return &schemaError{path: path, value: v, msg: v.Repr() + " is not a " + pyrepr.String(name)}
		}
	}
}

// formatResult is a checker's refusal: msg empty for a plain False.
type formatResult struct {
	msg    string
	raised bool // an exception Cinder did not register: it escapes the validation
}

var formatFalse = &formatResult{}

func raised(format string, args ...any) *formatResult {
	return &formatResult{msg: fmt.Sprintf(format, args...), raised: true}
}

// invalidName is Cinder's InvalidName, registered with the name formats.
func invalidName(reason string) *formatResult {
	return &formatResult{msg: "An invalid 'name' value was provided. " + reason}
}

// formats are Cinder's format checkers by name.
var formats = map[string]func(*checkEnv, *pyjson.Value) *formatResult{
	"name": nameFormat,
	"name_skip_leading_trailing_spaces": func(_ *checkEnv, v *pyjson.Value) *formatResult {
		if r := nameFormat(nil, v); r != nil {
			return r
		}
		if v.Kind == '"' && utf8.RuneCountInString(pyStrip(v.Text)) > 255 {
			return invalidName("The 'name' can not be greater than 255 characters.")
		}
		return nil
	},
	"uuid": func(_ *checkEnv, v *pyjson.Value) *formatResult {
		return falseUnless(v.Kind == '"' && uuidLike(v.Text))
	},
	"volume_status":              statusFormat("Volume status", volumeStatuses),
	"volume_attach_status":       statusFormat("Volume attach status", []string{"attached", "detached"}),
	"volume_migration_status":    statusFormat("Volume migration status", migrationStatuses),
	"validate_volume_reset_body": resetBodyFormat,
	"snapshot_status":            snapshotStatusFormat,
	"backup_status":              backupStatusFormat,
	"quota_set":                  quotaSetFormat,
	// _validate_base64_format: False for a non-string; base64's decode
	// error is not registered, so it ends the validation.
	"base64": func(_ *checkEnv, v *pyjson.Value) *formatResult {
		if v.Kind != '"' {
			return formatFalse
		}
		if _, err := storage.DecodeBase64(v.Text); err != nil {
			return raised("Incorrect padding")
		}
		return nil
	},
	"disabled_reason": func(_ *checkEnv, v *pyjson.Value) *formatResult {
		// Registered with InvalidInput: its refusal is jsonschema's own.
		if stringLength(v, "disabled_reason", false, 1, 255, true) != nil {
			return formatFalse
		}
		return nil
	},
	"name_non_mandatory_remove_white_spaces": func(_ *checkEnv, v *pyjson.Value) *formatResult {
		return stringLength(v, "name", false, 0, 255, true)
	},
	"description_non_mandatory_remove_white_spaces": func(_ *checkEnv, v *pyjson.Value) *formatResult {
		return stringLength(v, "description", false, 0, 255, true)
	},
}

func falseUnless(ok bool) *formatResult {
	if ok {
		return nil
	}
	return formatFalse
}

// nameFormat is Cinder's 'name' format (_validate_name).
func nameFormat(_ *checkEnv, v *pyjson.Value) *formatResult {
	switch {
	case !v.Truthy():
		return invalidName("The 'name' can not be None.")
	case v.Kind == '"' && strings.TrimSpace(pyStrip(v.Text)) == "":
		return invalidName("The 'name' can not be empty.")
	}
	return nil
}

// pyStrip is Python's str.strip(): white space as Python's isspace
// knows it.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// stringLength is Cinder's _validate_string_length: nothing to check
// when not mandatory and falsy; lengths checked (after stripping) as
// oslo's check_string_length, whose refusal is Cinder's InvalidInput.
func stringLength(v *pyjson.Value, name string, mandatory bool, minLen, maxLen int, strip bool) *formatResult {
	if !mandatory && !v.Truthy() {
		return nil
	}
	if mandatory && !v.Truthy() {
		return raised("The '%s' can not be None.", name)
	}
	if v.Kind != '"' {
		return raised("Invalid input received: %s is not a string or unicode", name)
	}
	s := v.Text
	if strip {
		s = pyStrip(s)
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen:
		return raised("Invalid input received: %s has %d characters, less than %d.", name, n, minLen)
	case maxLen > 0 && n > maxLen:
		return raised("Invalid input received: %s has %d characters, more than %d.", name, n, maxLen)
	}
	return nil
}

// uuidLike is oslo's is_uuid_like: 32 hex digits once "urn:", "uuid:",
// braces at the ends and dashes are taken out.
func uuidLike(s string) bool {
	t := strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	t = strings.ReplaceAll(strings.Trim(t, "{}"), "-", "")
	return len(t) == 32 && strings.Trim(strings.ToLower(t), "0123456789abcdef") == ""
}

// Cinder's VolumeStatus.ALL and VolumeMigrationStatus.ALL
// (cinder/objects/fields.py), in their order.
var (
	volumeStatuses = []string{"creating", "available", "deleting", "error", "error_deleting", "error_managing", "managing",
		"attaching", "in-use", "detaching", "maintenance", "restoring-backup", "error_restoring", "reserved",
		"awaiting-transfer", "backing-up", "error_backing-up", "error_extending", "downloading", "uploading", "retyping", "extending"}
	migrationStatuses = []string{"migrating", "error", "success", "completing", "none", "starting"}
)

// pyTuple is Python's repr of a tuple (or, list true, a list) of strings.
func pyTuple(items []string, list bool) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = pyrepr.String(s)
	}
	if list {
		return "[" + strings.Join(q, ", ") + "]"
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// statusFormat is one of Cinder's status formats: a truthy value that is
// not (lowercased) one of valid raises InvalidParameterValue.
func statusFormat(what string, valid []string) func(*checkEnv, *pyjson.Value) *formatResult {
	shown := pyTuple(valid, len(valid) == 2) // the attach statuses are a list
	return func(_ *checkEnv, v *pyjson.Value) *formatResult {
		if !v.Truthy() || v.Kind == '"' && containsFold(valid, v.Text) {
			return nil
		}
		return raised("%s: %s is invalid, valid statuses are: %s.", what, v.Str(), shown)
	}
}

// snapshotStatuses are Cinder's SnapshotStatus.ALL, in its order.
var snapshotStatuses = []string{"error", "available", "creating", "deleting", "deleted", "updating", "error_deleting",
	"unmanaging", "backing-up", "restoring"}

// snapshotStatusFormat is _validate_snapshot_status: unlike the volume
// statuses, an empty status is refused too (InvalidParameterValue).
func snapshotStatusFormat(_ *checkEnv, v *pyjson.Value) *formatResult {
	if v.Kind != '"' || v.Text != "" && containsFold(snapshotStatuses, v.Text) {
		return nil
	}
	return raised("Snapshot status: %s is invalid, valid statuses are: %s.", v.Text, pyTuple(snapshotStatuses, false))
}

// backupStatusFormat is _validate_backup_status: available or error,
// any case; anything else (an empty status too) is
// InvalidParameterValue.
func backupStatusFormat(_ *checkEnv, v *pyjson.Value) *formatResult {
	valid := []string{"available", "error"}
	if v.Kind != '"' && v.Truthy() || v.Kind == '"' && v.Text != "" && containsFold(valid, v.Text) {
		return nil
	}
	return raised("Backup status: %s is invalid, valid statuses are: %s.", v.Str(), pyTuple(valid, true))
}

// containsFold reports whether Python's s.lower() is in list.
func containsFold(list []string, s string) bool {
	for _, x := range list {
		if x == strings.ToLower(s) {
			return true
		}
	}
	return false
}

// resetBodyFormat is validate_volume_reset_body.
func resetBodyFormat(_ *checkEnv, v *pyjson.Value) *formatResult {
	if v.Kind != '{' {
		return nil
	}
	for _, k := range []string{"status", "attach_status", "migration_status"} {
		if x := v.Get(k); x != nil && x.Truthy() {
			return nil
		}
	}
	return raised("Must specify 'status', 'attach_status' or 'migration_status' for update.")
}

// quotaSetFormat is Cinder's quota_set format: each key a quota resource
// (or tenant_id, id), each quota's value an integer from -1 as oslo's
// validate_integer reads it.
func quotaSetFormat(env *checkEnv, v *pyjson.Value) *formatResult {
	if v.Kind != '{' {
		return nil
	}
	var bad []string
	for i, k := range v.Keys {
		if k == "tenant_id" || k == "id" {
			continue
		}
		if env.quotaKey == nil || !env.quotaKey(k) {
			bad = append(bad, k)
			continue
		}
		if r := validateInteger(v.Items[i], k, -1, math.MaxInt32); r != nil {
			return r
		}
	}
	if len(bad) > 0 {
		return raised("Invalid input received: Bad key(s) in quota set: %s", strings.Join(bad, ", "))
	}
	return nil
}

// validateInteger is oslo's strutils.validate_integer(value, name, min,
// max): int(str(value)), whose ValueError Cinder answers as a 400 with
// its text.
func validateInteger(v *pyjson.Value, name string, minV, maxV int64) *formatResult {
	n, ok := pyjson.Int(v.Str())
	switch {
	case !ok:
		return raised("%s must be an integer", name)
	case n.Cmp(big.NewInt(minV)) < 0:
		return raised("%s must be >= %d", name, minV)
	case n.Cmp(big.NewInt(maxV)) > 0:
		return raised("%s must be <= %d", name, maxV)
	}
	return nil
}
