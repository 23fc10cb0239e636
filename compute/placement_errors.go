package compute

import (
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// Placement's error codes (placement/errors.py), the fault.Error Type of
// the Store's Placement errors; the API renders them as "code".
const (
	CodeDefault             = "placement.undefined_code"
	CodeConcurrentUpdate    = "placement.concurrent_update"
	CodeDuplicateName       = "placement.duplicate_name"
	CodeInventoryInUse      = "placement.inventory.inuse"
	CodeProviderInUse       = "placement.resource_provider.inuse"
	CodeCannotDeleteParent  = "placement.resource_provider.cannot_delete_parent"
	CodeProviderNotFound    = "placement.resource_provider.not_found"
	CodeQueryBadValue       = "placement.query.bad_value"
	CodeQueryMissingValue   = "placement.query.missing_value"
	CodeQueryDuplicateParam = "placement.query.duplicate_key"
)

func placementError(kind fault.Kind, code, format string, args ...any) error {
	return &fault.Error{Kind: kind, Type: code, Message: fmt.Sprintf(format, args...)}
}

func providerNotFound(uuid string) error {
	return placementError(fault.NotFound, CodeProviderNotFound, "No resource provider with uuid %s found", uuid)
}

func generationConflict(uuid string) error {
	return placementError(fault.Conflict, CodeConcurrentUpdate,
		"resource provider generation conflict: the generation of resource provider %s changed; read it again and retry", uuid)
}
