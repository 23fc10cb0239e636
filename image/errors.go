package image

import (
	"fmt"

	"github.com/gostack/gostack/kit/fault"
)

// CapError is a write refused because the image would hold more
// properties, tags or members than its Caps allow (Glance's
// ImagePropertyLimitExceeded, ImageTagLimitExceeded,
// ImageMemberLimitExceeded). It is of kind fault.TooLarge: a 413.
type CapError struct {
	What      string // "properties", "tags" or "members"
	Attempted int    // how many the write would have left
	Maximum   int    // the cap
}

// Error is Glance's message.
func (e *CapError) Error() string {
	what := e.What
	if what == "members" {
		what = "members for this image"
	}
	return fmt.Sprintf("The limit has been exceeded on the number of allowed image %s. Attempted: %d, Maximum: %d", what, e.Attempted, e.Maximum)
}

// Is makes the error fault.ErrTooLarge.
func (e *CapError) Is(target error) bool { return target == fault.ErrTooLarge }
