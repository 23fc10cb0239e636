package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gostack/gostack/kit/fault"
)

// Rule is a policy default, as oslo.policy's (Documented)RuleDefault.
type Rule struct {
	Name        string      // e.g. "identity:list_projects"
	Check       string      // the rule in the policy language; "" allows everyone
	Description string      // what the rule protects, for generated docs
	ScopeTypes  []string    // token scopes the API is meant for: "system", "domain", "project"
	Operations  []Operation // the API calls the rule protects, for generated docs
}

// Operation is one API call a rule protects.
type Operation struct {
	Method string // "GET", "HEAD", ...
	Path   string // "/v3/projects/{project_id}"
}

// Enforcer holds the registered defaults, the overrides loaded from a
// policy file, and enforces them. The zero Enforcer is ready to use and
// holds no rules; an Enforcer is safe for concurrent use, and there is no
// global one: two can live in one process.
type Enforcer struct {
	// EnforceScope makes Enforce deny a rule whose ScopeTypes do not
	// include the caller's scope (Creds.Scope), as oslo.policy's
	// [oslo_policy] enforce_scope = True. It is off by default, as in
	// oslo.policy 4.0 and Keystone 22. Set it before first use.
	EnforceScope bool

	mu        sync.Mutex // serialises writers; readers use snap
	defaults  map[string]entry
	overrides map[string]*node
	checks    map[string]CheckFunc
	snap      atomic.Pointer[snapshot]
}

// entry is a registered default.
type entry struct {
	rule Rule
	node *node
}

// snapshot is an immutable view used by Enforce: the registered rules and
// the effective check of every known rule name.
type snapshot struct {
	registered map[string]*Rule
	rules      map[string]*node
	checks     map[string]CheckFunc
}

// New returns an empty Enforcer. It is the same as the zero value.
func New() *Enforcer { return &Enforcer{} }

// Register adds rule defaults. It fails, registering nothing, when a name
// is empty or already registered (wrapping ErrDuplicate), when a check
// string does not parse cleanly, or when it uses something Enforce cannot
// evaluate (http: checks, unsupported check kinds or substitutions).
func (e *Enforcer) Register(rules ...Rule) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	added := make(map[string]entry, len(rules))
	for _, r := range rules {
		if r.Name == "" {
			errs = append(errs, errors.New("policy: register: rule with no name"))
			continue
		}
		if _, dup := e.defaults[r.Name]; dup || added[r.Name].node != nil {
			errs = append(errs, fmt.Errorf("policy: register %q: %w", r.Name, ErrDuplicate))
			continue
		}
		if err := checkScopeTypes(r.ScopeTypes); err != nil {
			errs = append(errs, fmt.Errorf("policy: register %q: %w", r.Name, err))
			continue
		}
		c, err := Parse(r.Check)
		if err == nil {
			err = errors.Join(unsupported(r.Check, c.root)...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("policy: register %q: %w", r.Name, err))
			continue
		}
		r.ScopeTypes = append([]string(nil), r.ScopeTypes...)
		r.Operations = append([]Operation(nil), r.Operations...)
		added[r.Name] = entry{rule: r, node: c.root}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if e.defaults == nil {
		e.defaults = make(map[string]entry, len(added))
	}
	for name, en := range added {
		e.defaults[name] = en
	}
	e.publish()
	return nil
}

func checkScopeTypes(types []string) error {
	seen := make(map[string]bool, len(types))
	for _, t := range types {
		if t == "" || seen[t] {
			return errors.New("scope types must be unique, non-empty strings")
		}
		seen[t] = true
	}
	return nil
}

// publish rebuilds the snapshot. Callers hold e.mu.
func (e *Enforcer) publish() {
	s := &snapshot{
		registered: make(map[string]*Rule, len(e.defaults)),
		rules:      make(map[string]*node, len(e.defaults)+len(e.overrides)),
	}
	for name, en := range e.defaults {
		r := en.rule
		s.registered[name] = &r
		s.rules[name] = en.node
	}
	for name, n := range e.overrides {
		s.rules[name] = n
	}
	s.checks = e.checks
	e.snap.Store(s)
}

// CheckFunc decides a check of a kind a service adds to the policy
// language, as oslo.policy's register(kind) does: Neutron's
// "field:networks:shared=True", for instance. match is the text after
// "kind:", its %(...)s substitutions done (a substitution the target
// cannot fill makes the check false before fn is called).
type CheckFunc func(target map[string]any, creds *Creds, match string) bool

// RegisterCheck makes every kind:match check call fn, in the defaults and
// in overrides alike, instead of the generic kind:match comparison. The
// kinds rule, role, http and https are the language's own and cannot be
// replaced. Register checks before first use.
func (e *Enforcer) RegisterCheck(kind string, fn CheckFunc) error {
	switch kind {
	case "", "rule", "role", "http", "https":
		return fmt.Errorf("policy: check kind %q cannot be registered", kind)
	}
	if fn == nil {
		return fmt.Errorf("policy: check kind %q: nil function", kind)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	checks := make(map[string]CheckFunc, len(e.checks)+1)
	for k, f := range e.checks {
		checks[k] = f
	}
	checks[kind] = fn
	e.checks = checks
	e.publish()
	return nil
}

// Enforce decides whether creds may perform the registered rule on target.
// It returns nil when allowed, and otherwise a *fault.Error of kind
// Forbidden with Keystone's message ("You are not authorized to perform
// the requested action: identity:list_projects."). When the evaluation
// had to stop (something oslo.policy would raise on, such as a cyclic
// rule: reference), the denial's Err says why. An unregistered rule is a
// programming error: an Internal *fault.Error wrapping ErrNotRegistered
// (Keystone itself answers such calls with a 403).
//
// target holds the values for %(key)s substitutions, typically built
// with Flatten. Enforce does not block; ctx is accepted for tracing and
// future remote checks.
func (e *Enforcer) Enforce(ctx context.Context, rule string, target map[string]any, creds Creds) error {
	s := e.snap.Load()
	if s == nil || s.registered[rule] == nil {
		return &fault.Error{Kind: fault.Internal,
			Message: "Policy " + rule + " has not been registered", Err: ErrNotRegistered}
	}
	if e.EnforceScope && !inScope(s.registered[rule].ScopeTypes, creds.Scope()) {
		return forbidden(rule, fmt.Errorf("policy: %s requires a scope of %v, request was made with %s scope",
			rule, s.registered[rule].ScopeTypes, creds.Scope()))
	}
	ev := evaluator{rules: s.rules, checks: s.checks, target: target, creds: &creds}
	if ev.eval(s.rules[rule]) {
		return nil
	}
	if ev.fail != "" {
		return forbidden(rule, errors.New("policy: "+rule+": evaluation failed closed: "+ev.fail))
	}
	return forbidden(rule, nil)
}

func inScope(types []string, scope string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if t == scope {
			return true
		}
	}
	return false
}

func forbidden(rule string, cause error) error {
	return &fault.Error{Kind: fault.Forbidden,
		Message: "You are not authorized to perform the requested action: " + rule + ".", Err: cause}
}

// Rules returns the registered defaults, sorted by name.
func (e *Enforcer) Rules() []Rule {
	s := e.snap.Load()
	if s == nil {
		return nil
	}
	out := make([]Rule, 0, len(s.registered))
	for _, r := range s.registered {
		c := *r
		c.ScopeTypes = append([]string(nil), r.ScopeTypes...)
		c.Operations = append([]Operation(nil), r.Operations...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// unsupported lists what in a parsed rule Enforce cannot evaluate: http:
// checks (always false), check kinds that are neither literals nor dotted
// names, and %-conversions other than %(name)s (both fail closed).
func unsupported(rule string, root *node) []error {
	var errs []error
	root.walk(func(n *node) {
		var why string
		switch {
		case n.op == opExternal:
			why = n.kind + ": checks are not supported; " + quote(n.kind+":"+n.match) + " is always false"
		case n.op == opGeneric && n.kinfo.class == kindUnsupported:
			why = "check kind " + quote(n.kind) + " is neither a Python literal nor a dotted name; it fails closed"
		case n.op == opRole || n.op == opGeneric:
			if p := n.tmpl.problem(); p != "" {
				why = "match " + quote(n.match) + ": " + p + "; it fails closed"
			}
		}
		if why != "" {
			errs = append(errs, &ParseError{Rule: rule, Reason: why})
		}
	})
	return errs
}
