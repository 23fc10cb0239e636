package secgroup

import "errors"

// ErrInvalidRule is wrapped by Rule.Check for a rule Flows cannot use.
var ErrInvalidRule = errors.New("secgroup: invalid rule")
