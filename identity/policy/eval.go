package policy

// maxDepth bounds rule: references. oslo.policy recurses until Python's
// RecursionError; a legitimate policy nests a handful of levels.
const maxDepth = 64

// defaultRule is oslo.policy's policy_default_rule: a rule: reference to an
// undefined rule evaluates the rule of this name, when one is defined.
const defaultRule = "default"

// evaluator evaluates one check tree for one request. Where oslo.policy
// would raise (and the enforcement would fail with an exception) it sets
// fail and stops: the whole evaluation is then a denial.
type evaluator struct {
	rules  map[string]*node
	checks map[string]CheckFunc // kinds the service registered
	target map[string]any
	creds  *Creds
	depth  int
	fail   string // why evaluation stopped; "" while fine
}

// failed records why evaluation stops and returns false.
func (e *evaluator) failed(why string) bool {
	if e.fail == "" {
		e.fail = why
	}
	return false
}

// eval reports whether n allows. After a failure it returns false and the
// callers return at once, as an exception would unwind.
func (e *evaluator) eval(n *node) bool {
	switch n.op {
	case opTrue:
		return true
	case opNot:
		r := e.eval(n.kids[0])
		return !r && e.fail == ""
	case opAnd:
		for _, k := range n.kids {
			if !e.eval(k) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if e.eval(k) {
				return true
			}
			if e.fail != "" {
				return false
			}
		}
		return false
	case opRule:
		return e.rule(n.match)
	case opRole:
		return e.role(n)
	case opGeneric:
		return e.generic(n)
	case opBroken:
		return e.failed("the rule did not parse to a check")
	}
	return false // opFalse, and opExternal: http: checks are not supported
}

func (e *evaluator) rule(name string) bool {
	n, ok := e.rules[name]
	if !ok {
		if n, ok = e.rules[defaultRule]; !ok {
			return false
		}
	}
	if e.depth++; e.depth > maxDepth {
		return e.failed("rule: references nest too deep (is there a cycle?)")
	}
	r := e.eval(n)
	e.depth--
	return r
}

func (e *evaluator) role(n *node) bool {
	match, res := n.tmpl.expand(e.target)
	switch res {
	case substMissing:
		return false
	case substFailed:
		return e.failed("unsupported %-substitution or target value in " + quote(n.match))
	}
	for _, r := range e.creds.Roles {
		if equalLower(match, r) {
			return true
		}
	}
	return false
}

func (e *evaluator) generic(n *node) bool {
	match, res := n.tmpl.expand(e.target)
	switch res {
	case substMissing:
		return false
	case substFailed:
		return e.failed("unsupported %-substitution or target value in " + quote(n.match))
	}
	if fn := e.checks[n.kind]; fn != nil {
		return fn(e.target, e.creds, match)
	}
	switch n.kinfo.class {
	case kindLiteral:
		return match == n.kinfo.lit
	case kindPath:
		return e.findCreds(n.kinfo.path, match)
	}
	return e.failed("check kind " + quote(n.kind) + " is neither a Python literal nor a dotted name")
}

// findCreds is GenericCheck._find_in_dict on the creds dict, reading the
// Creds fields directly so that nothing is allocated.
func (e *evaluator) findCreds(path []string, match string) bool {
	c := e.creds
	key, rest := path[0], path[1:]
	if p := c.stringField(key); p != nil {
		return e.leaf(*p, *p == "", rest, match)
	}
	switch key {
	case "roles":
		return e.findStrings(c.Roles, rest, match)
	case "service_roles":
		return e.findStrings(c.ServiceRoles, rest, match)
	case "is_admin_project":
		return e.leafBool(c.IsAdminProject, rest, match)
	case "system":
		return c.SystemScope != "" && e.leaf(c.SystemScope, false, rest, match)
	case "is_admin":
		return c.IsAdmin && e.leafBool(true, rest, match)
	}
	v, ok := c.Extra[key]
	if !ok {
		return false
	}
	return e.findAny(v, rest, match)
}

// leaf compares a string (or None) value, or fails if the path goes on:
// Python cannot index a str or None with a key.
func (e *evaluator) leaf(s string, isNone bool, rest []string, match string) bool {
	if len(rest) > 0 {
		return e.failed("a dotted creds path goes through a value that is not a dict")
	}
	if isNone {
		return match == "None"
	}
	return match == s
}

func (e *evaluator) leafBool(b bool, rest []string, match string) bool {
	if b {
		return e.leaf("True", false, rest, match)
	}
	return e.leaf("False", false, rest, match)
}

// findStrings fans out over a list of strings.
func (e *evaluator) findStrings(list []string, rest []string, match string) bool {
	for _, s := range list {
		if e.leaf(s, false, rest, match) {
			return true
		}
		if e.fail != "" {
			return false
		}
	}
	return false
}

// findAny walks path through dicts, fanning out over lists.
func (e *evaluator) findAny(v any, path []string, match string) bool {
	if len(path) == 0 {
		s, ok := pyStr(v)
		if !ok {
			return e.failed("a creds value has a type with no Python equivalent")
		}
		return s == match
	}
	var x any
	var found bool
	switch m := v.(type) {
	case map[string]any:
		x, found = m[path[0]]
	case map[string]string:
		var s string
		if s, found = m[path[0]]; found {
			return e.leaf(s, false, path[1:], match)
		}
	default:
		return e.failed("a dotted creds path goes through a value that is not a dict")
	}
	if !found {
		return false
	}
	rest := path[1:]
	switch l := x.(type) {
	case []string:
		return e.findStrings(l, rest, match)
	case []any:
		for _, el := range l {
			if e.findAny(el, rest, match) {
				return true
			}
			if e.fail != "" {
				return false
			}
		}
		return false
	}
	return e.findAny(x, rest, match)
}
