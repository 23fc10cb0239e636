package placement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Placement's patterns (placement/schemas/common.py) and limits.
var (
	classPattern        = regexp.MustCompile(`^[A-Z0-9_]+$`)
	customPattern       = regexp.MustCompile(`^CUSTOM_[A-Z0-9_]+$`)
	uuidPattern         = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)
	consumerTypePattern = regexp.MustCompile(`^[A-Z0-9_]+$`)
)

// maxInt is Placement's db_const.MAX_INT, the bound of inventory amounts.
const maxInt = 0x7FFFFFFF

// maxFloat is Placement's SQL_SP_FLOAT_MAX, the bound of allocation_ratio.
const maxFloat = 3.40282e+38

// readJSON reads a request body as Placement does: the media type must
// be application/json (a 415 otherwise), the body JSON (a 400); numbers
// are kept exact for the schema checks.
func readJSON(w http.ResponseWriter, r *http.Request) (any, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		if err == nil {
			ct = mt
		} else if ct == "" {
			ct = "None"
		}
		return nil, fault.New(fault.UnsupportedMedia, "The media type %s is not supported, use application/json", ct)
	}
	var raw json.RawMessage
	if err := httpapi.DecodeJSON(w, r, &raw, httpapi.AnyMediaType()); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("Malformed JSON: %v", err)
	}
	return v, nil
}

// invalid is Placement's answer to a body its JSON schema refuses.
func invalid(format string, args ...any) error {
	return badRequest("JSON does not validate: "+format, args...)
}

// object is a JSON object being held to a schema.
type object map[string]any

// asObject is v as an object, or the schema's type error.
func asObject(v any) (object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("%s is not of type 'object'", repr(v))
	}
	return m, nil
}

// check refuses keys outside allowed (additionalProperties: false) and
// missing required ones.
func (o object) check(allowed []string, required ...string) error {
	var extra []string
	for k := range o {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		return invalid("%s", unexpected(extra))
	}
	for _, k := range required {
		if _, ok := o[k]; !ok {
			return invalid("'%s' is a required property", k)
		}
	}
	return nil
}

func (o object) has(k string) bool {
	_, ok := o[k]
	return ok
}

// unexpected is jsonschema's message for additional properties.
func unexpected(extra []string) string {
	slices.Sort(extra)
	q := make([]string, len(extra))
	for i, e := range extra {
		q[i] = "'" + e + "'"
	}
	verb := "was"
	if len(extra) > 1 {
		verb = "were"
	}
	return fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(q, ", "), verb)
}

// str checks a string property: its length in characters and, when
// pattern is set, its form.
func (o object) str(k string, minLen, maxLen int, pattern *regexp.Regexp) (string, error) {
	return stringValue(o[k], minLen, maxLen, pattern)
}

func stringValue(v any, minLen, maxLen int, pattern *regexp.Regexp) (string, error) {
	s, ok := v.(string)
	switch n := len([]rune(s)); {
	case !ok:
		return "", invalid("%s is not of type 'string'", repr(v))
	case n < minLen:
		return "", invalid("%s is too short", repr(v))
	case maxLen > 0 && n > maxLen:
		return "", invalid("%s is too long", repr(v))
	case pattern != nil && !pattern.MatchString(s):
		return "", invalid("%s does not match '%s'", repr(v), pattern)
	}
	return s, nil
}

// uuidValue checks a string in the uuid format.
func uuidValue(v any) (string, error) {
	s, err := stringValue(v, 0, 0, nil)
	if err != nil {
		return "", err
	}
	if !isUUID(s) {
		return "", invalid("%s is not a 'uuid'", repr(v))
	}
	return s, nil
}

// isUUID is oslo's is_uuid_like: a uuid with or without its dashes.
func isUUID(s string) bool {
	if len(s) != 32 && len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// normalUUID is s in its canonical form (lower case, dashed).
func normalUUID(s string) string {
	u, err := uuid.Parse(s)
	if err != nil {
		return s
	}
	return u.String()
}

// integer checks an integer property within [lo, hi].
func (o object) integer(k string, lo, hi int64) (int64, error) {
	return intValue(o[k], lo, hi)
}

func intValue(v any, lo, hi int64) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, invalid("%s is not of type 'integer'", repr(v))
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		// 5.0 is an integer to jsonschema; 5.5 is not.
		f, ferr := num.Float64()
		switch {
		case ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62:
			n = int64(f)
		case ferr == nil && f == math.Trunc(f):
			n = math.MaxInt64
			if f < 0 {
				n = math.MinInt64
			}
		default:
			return 0, invalid("%s is not of type 'integer'", repr(v))
		}
	}
	if n < lo {
		return 0, invalid("%s is less than the minimum of %d", num, lo)
	}
	if n > hi {
		return 0, invalid("%s is greater than the maximum of %d", num, hi)
	}
	return n, nil
}

// nullableInt checks an integer-or-null property.
func (o object) nullableInt(k string) (*int64, error) {
	if o[k] == nil {
		return nil, nil
	}
	n, err := intValue(o[k], math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, invalid("%s is not of type 'integer', 'null'", repr(o[k]))
	}
	return &n, nil
}

// number checks a number property at most hi.
func (o object) number(k string, hi float64) (float64, error) {
	num, ok := o[k].(json.Number)
	if !ok {
		return 0, invalid("%s is not of type 'number'", repr(o[k]))
	}
	f, err := num.Float64()
	if err != nil || f > hi {
		return 0, invalid("%s is greater than the maximum of %g", num, hi)
	}
	return f, nil
}

// list checks an array property with at least minItems items.
func (o object) list(k string, minItems int) ([]any, error) {
	return listValue(o[k], minItems)
}

func listValue(v any, minItems int) ([]any, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, invalid("%s is not of type 'array'", repr(v))
	}
	if len(l) < minItems {
		return nil, invalid("%s is too short", repr(v))
	}
	return l, nil
}

// repr is a JSON value as Python's repr shows it in jsonschema's
// messages: 'text', None, True, 5.
func repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return "'" + x + "'"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return string(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// readObject reads a body that must be a JSON object.
func readObject(w http.ResponseWriter, r *http.Request) (object, error) {
	v, err := readJSON(w, r)
	if err != nil {
		return nil, err
	}
	return asObject(v)
}
