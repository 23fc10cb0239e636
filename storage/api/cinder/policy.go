package cinder

import "github.com/gostack/gostack/identity/policy"

// Defaults are Cinder's default policies (generated from python3-cinder
// by scripts/cinder-policy).
func Defaults() []policy.Rule { return append([]policy.Rule(nil), cinderRules...) }

// NewEnforcer returns an enforcer with Cinder's defaults; load an
// operator's overrides into it.
func NewEnforcer() (*policy.Enforcer, error) {
	e := policy.New()
	if err := e.Register(Defaults()...); err != nil {
		return nil, err
	}
	return e, nil
}
