package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// jsonFilter is Nova's JsonFilter: the scheduler hint "query" is a JSON
// expression in prefix form over the host's HostState attributes:
//
//	["and", [">=", "$free_ram_mb", 1024], ["=", "$hypervisor_type", "QEMU"]]
//
// Operators: = < > <= >= (the first operand against each of the others),
// in (the first is one of the others), not (negates each operand), or,
// and. "$name" is an attribute, "$name.key" a key of a dict attribute
// (stats, service); a missing one is dropped from the operands, as Nova
// drops None. The query is checked once per request; one that Nova would
// fail on at every host (not a list, an unknown operator) fails the
// request.
type jsonFilter struct{}

var _ PreFilter = jsonFilter{}

func (jsonFilter) Name() string { return "JsonFilter" }

func (f jsonFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	hint := st.req.hint("query")
	if len(hint) == 0 || hint[0] == "" {
		return nil, NewStatus(Skip, "")
	}
	q, err := pyJSON(hint[0])
	if err != nil {
		return nil, AsError(fmt.Errorf("%w: query hint: %v", ErrInvalidRequest, err))
	}
	if !pyTruthy(q) {
		// Nova passes every host for an empty query.
		return nil, NewStatus(Skip, "")
	}
	list, ok := q.([]any)
	if !ok {
		return nil, AsError(fmt.Errorf("%w: query hint must be a JSON list", ErrInvalidRequest))
	}
	if err := checkQuery(list); err != nil {
		return nil, AsError(fmt.Errorf("%w: query hint: %v", ErrInvalidRequest, err))
	}
	st.Write(f.Name(), list)
	return nil, nil
}

func checkQuery(q []any) error {
	if len(q) == 0 {
		return nil
	}
	op, ok := q[0].(string)
	if !ok || !jsonOps[op] {
		return fmt.Errorf("unknown operator %s", pyStr(q[0]))
	}
	for _, a := range q[1:] {
		if l, ok := a.([]any); ok {
			if err := checkQuery(l); err != nil {
				return err
			}
		}
	}
	return nil
}

var jsonOps = map[string]bool{"=": true, "<": true, ">": true, "in": true, "<=": true, ">=": true, "not": true, "or": true, "and": true}

func (f jsonFilter) Filter(st *State, h *Host) *Status {
	q, _ := st.Read(f.Name()).([]any)
	v, err := evalQuery(q, h)
	if err != nil {
		return Rejectf("query: %v", err)
	}
	if l, ok := v.([]any); ok {
		v = false
		for _, x := range l {
			if pyTruthy(x) {
				v = true
				break
			}
		}
	}
	if !pyTruthy(v) {
		return Reject("query is false for this host")
	}
	return nil
}

// evalQuery is Nova's _process_filter: every operand is evaluated (no
// short cut), then the operator applies.
func evalQuery(q []any, h *Host) (any, error) {
	if len(q) == 0 {
		return true, nil
	}
	args := make([]any, 0, len(q)-1)
	for _, a := range q[1:] {
		var err error
		switch x := a.(type) {
		case []any:
			a, err = evalQuery(x, h)
		case string:
			a, err = queryString(x, h)
		}
		if err != nil {
			return nil, err
		}
		if a != nil {
			args = append(args, a)
		}
	}
	switch op := q[0].(string); op {
	case "not":
		out := make([]any, len(args))
		for i, a := range args {
			out[i] = !pyTruthy(a)
		}
		return out, nil
	case "or", "and":
		for _, a := range args {
			if pyTruthy(a) == (op == "or") {
				return op == "or", nil
			}
		}
		return op == "and", nil
	default:
		return compareAll(op, args)
	}
}

// compareAll is Nova's _op_compare: the first operand against every
// other; false with fewer than two.
func compareAll(op string, args []any) (bool, error) {
	if len(args) < 2 {
		return false, nil
	}
	first := args[0]
	if op == "in" {
		for _, a := range args[1:] {
			if pyEqual(first, a) {
				return true, nil
			}
		}
		return false, nil
	}
	for _, a := range args[1:] {
		if op == "=" {
			if !pyEqual(first, a) {
				return false, nil
			}
			continue
		}
		c, err := pyCompare(first, a)
		if err != nil {
			return false, fmt.Errorf("%s %s %s: %w", pyStr(first), op, pyStr(a), err)
		}
		ok := (op == "<" && c == -1) || (op == ">" && c == 1) ||
			(op == "<=" && (c == -1 || c == 0)) || (op == ">=" && (c == 1 || c == 0))
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

var errNotDict = errors.New("is not a dict")

// queryString is Nova's _parse_string: "" is None, "$a.b" looks up
// attribute a and key b, anything else is itself.
func queryString(s string, h *Host) (any, error) {
	if s == "" {
		return nil, nil
	}
	path, ok := strings.CutPrefix(s, "$")
	if !ok {
		return s, nil
	}
	names := strings.Split(path, ".")
	v, _ := hostAttr(h, names[0])
	for _, k := range names[1:] {
		if v == nil {
			return nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %s %w", s, strings.Join(names[:1], "."), errNotDict)
		}
		v = m[k]
	}
	return v, nil
}
