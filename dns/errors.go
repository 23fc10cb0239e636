package dns

import (
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// Errors carry Designate's error type (fault.Error.Type), which the API
// edge puts in the body's "type" field.

// notFound is Designate's "Could not find <What>" (404), e.g. zone_not_found.
func notFound(what, typ string) error {
	return &fault.Error{Kind: fault.NotFound, Type: typ, Message: "Could not find " + what}
}

func zoneNotFound() error      { return notFound("Zone", "zone_not_found") }
func recordSetNotFound() error { return notFound("RecordSet", "recordset_not_found") }

// invalid is a 400 naming the offending field (Designate's invalid_object).
func invalid(field, format string, args ...any) error {
	e := fault.Invalid(field, format, args...)
	e.Type = "invalid_object"
	return e
}

// invalidZoneName is Designate's InvalidZoneName (400 invalid_zone_name),
// which names no field.
func invalidZoneName(format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "invalid_zone_name", Message: fmt.Sprintf(format, args...)}
}

// badLocation is Designate's InvalidRecordSetLocation (400).
func badLocation(format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Field: "name", Type: "invalid_recordset_location", Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// invalidOperation is Designate's InvalidOperation (400).
func invalidOperation(format string, args ...any) error {
	return &fault.Error{Kind: fault.BadRequest, Type: "invalid_operation", Message: fmt.Sprintf(format, args...)}
}

func conflict(typ, format string, args ...any) error {
	return &fault.Error{Kind: fault.Conflict, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// staleVersion is a lost compare-and-swap.
func staleVersion(what, id string, version int) error {
	return conflict("conflict", "%s %s is no longer at version %d: someone changed it", what, id, version)
}

func forbidden(typ, format string, args ...any) error {
	return &fault.Error{Kind: fault.Forbidden, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// overQuota is Designate's OverQuota (413).
func overQuota(resource string) error {
	return &fault.Error{Kind: fault.TooLarge, Type: "over_quota", Message: "Quota exceeded for " + resource + "."}
}
