package nova

import "github.com/gostack/gostack/identity/policy"

// Defaults are Nova's default policies (generated from python3-nova by
// scripts/nova-policy).
func Defaults() []policy.Rule { return append([]policy.Rule(nil), novaRules...) }

// NewEnforcer returns an enforcer with Nova's defaults; load an
// operator's overrides into it.
func NewEnforcer() (*policy.Enforcer, error) {
	e := policy.New()
	if err := e.Register(Defaults()...); err != nil {
		return nil, err
	}
	return e, nil
}
