package fault_test

import (
	"errors"
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// Domain code says what kind of failure it is, without HTTP; the API edge
// (kit/httpapi.WriteError) turns the kind into a status and an OpenStack
// error body.
func Example() {
	// Wrap a sentinel: the kind is kept, the text is the client's message.
	err := fmt.Errorf("project %q: %w", "p1", fault.ErrNotFound)
	fmt.Println(fault.KindOf(err), errors.Is(err, fault.ErrNotFound), "|", fault.Message(err))

	// An *Error names the offending field of bad input.
	err = fault.Invalid("name", "name must be at most %d characters", 64)
	fmt.Println(fault.KindOf(err), fault.FieldOf(err), "|", fault.Message(err))

	// Anything else is Internal, and its text never reaches a client.
	err = fmt.Errorf("open /var/lib/gostack/db: permission denied")
	fmt.Println(fault.KindOf(err), "|", fault.Message(err))
	// Output:
	// not found true | project "p1": not found
	// bad request name | name must be at most 64 characters
	// internal | The server has either erred or is incapable of performing the requested operation.
}

// An *Error of a kind matches that kind's sentinel, however it was built.
func ExampleError_Is() {
	err := fmt.Errorf("update: %w", fault.New(fault.Conflict, "image %s is %s", "i1", "saving"))
	fmt.Println(errors.Is(err, fault.ErrConflict), errors.Is(err, fault.ErrNotFound))
	fmt.Println(fault.Message(err))
	// Output:
	// true false
	// image i1 is saving
}
