package agent

import "errors"

// ErrVIFTimeout is a port that did not become ACTIVE within
// Config.VIFTimeout (Nova's VirtualInterfaceCreateException): the build
// fails.
var ErrVIFTimeout = errors.New("compute agent: virtual interface creation failed")
