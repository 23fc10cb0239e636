package api

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gostack/gostack/identity/policy"
)

// Defaults are Neutron's default policies for networks, subnets, ports,
// security groups, routers, floating IPs and quotas (generated from
// python3-neutron by scripts/neutron-policy).
func Defaults() []policy.Rule { return append([]policy.Rule(nil), neutronRules...) }

// NewEnforcer returns an enforcer with Neutron's defaults and its field:
// check kind; load an operator's overrides into it.
func NewEnforcer() (*policy.Enforcer, error) {
	e := policy.New()
	if err := e.Register(Defaults()...); err != nil {
		return nil, err
	}
	if err := e.RegisterCheck("field", fieldCheck); err != nil {
		return nil, err
	}
	return e, nil
}

// fieldCheck is Neutron's FieldCheck: "resource:field=value" compares the
// target's field with value (True and False are booleans; "~re" is a
// regular expression). A networks:shared check on a subnet or a port
// reads its network's shared flag, which the API puts in the target as
// "network:shared".
func fieldCheck(target map[string]any, _ *policy.Creds, match string) bool {
	resource, fv, ok := strings.Cut(match, ":")
	if !ok {
		return false
	}
	field, want, ok := strings.Cut(fv, "=")
	if !ok {
		return false
	}
	got, ok := target[field]
	if !ok && resource == "networks" && field == "shared" {
		got, ok = target["network:shared"]
	}
	if !ok || got == nil {
		return false
	}
	if expr, isRE := strings.CutPrefix(want, "~"); isRE {
		s, isStr := got.(string)
		re, err := regexp.Compile("^(?:" + expr + ")") // Python's re.match anchors at the start
		return isStr && err == nil && re.MatchString(s)
	}
	switch want {
	case "True", "true":
		return got == true
	case "False", "false":
		return got == false
	}
	return fmt.Sprint(got) == want
}
