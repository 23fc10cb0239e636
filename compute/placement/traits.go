package placement

import (
	_ "embed"
	"slices"
	"strings"
)

//go:embed traits.txt
var traitsText string

// standardTraits are os-traits' names, sorted.
var standardTraits = func() []string {
	var out []string
	for _, l := range strings.Split(traitsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}()

// StandardTraits returns os-traits' standard traits, sorted.
func StandardTraits() []string { return slices.Clone(standardTraits) }

// IsStandardTrait reports whether name is a standard trait.
func IsStandardTrait(name string) bool {
	_, ok := slices.BinarySearch(standardTraits, name)
	return ok
}
