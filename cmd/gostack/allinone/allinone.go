// Package allinone is gostack's all-in-one cloud: every area gostack has,
// composed with kit/compose. Adding an area is one line in Areas.
package allinone

import (
	computearea "github.com/gostack/gostack/compute/area"
	dnsarea "github.com/gostack/gostack/dns/area"
	identityarea "github.com/gostack/gostack/identity/area"
	imagearea "github.com/gostack/gostack/image/area"
	"github.com/gostack/gostack/kit/compose"
	networkarea "github.com/gostack/gostack/network/area"
	storagearea "github.com/gostack/gostack/storage/area"
)

// Areas are the areas the all-in-one cloud serves, each with its
// defaults.
func Areas() []compose.Area {
	return []compose.Area{
		identityarea.New(),
		imagearea.New(),
		dnsarea.New(),
		// Before the network area, whose in-process agent's metadata
		// proxies take its secret.
		computearea.NewMetadata(),
		networkarea.New(),
		computearea.NewPlacement(),
		computearea.NewCompute(),
		storagearea.New(),
	}
}

// New returns the all-in-one daemon with the embedded defaults.
func New() *compose.Daemon { return compose.New(Areas()...) }
