package dhcp

import "errors"

// ErrInvalid is wrapped by every error Apply returns for a Config or a
// Server it refuses; nothing on the host has been changed then.
var ErrInvalid = errors.New("dhcp: invalid config")
