// Package fault is the closed set of error kinds that domain code returns
// and the API edge turns into HTTP status codes and OpenStack error bodies.
//
// Domain packages never import net/http. They wrap one of the sentinels
// (fmt.Errorf("project %q: %w", id, fault.ErrNotFound)) or build an *Error
// with a user-facing message and, where it helps, the offending field.
// The mapping to a status code lives in exactly one place:
// kit/httpapi.WriteError.
package fault
