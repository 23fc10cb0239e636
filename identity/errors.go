package identity

import (
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// notFound is Keystone's "Could not find <what>: <id>." (404).
func notFound(what, id string) error {
	return &fault.Error{Kind: fault.NotFound, Message: fmt.Sprintf("Could not find %s: %s.", what, id)}
}

// conflict is Keystone's "Conflict occurred attempting to store <what> -
// Duplicate entry found with name <name>." (409).
func conflict(what, detail string) error {
	return &fault.Error{Kind: fault.Conflict, Message: fmt.Sprintf("Conflict occurred attempting to store %s - %s.", what, detail)}
}

// forbidden is a 403 with a message.
func forbidden(format string, args ...any) error {
	return &fault.Error{Kind: fault.Forbidden, Message: fmt.Sprintf(format, args...)}
}
