package scheduler

import (
	"errors"
	"fmt"
	"strings"
)

// specMatcher is a flavor extra spec's requirement, parsed once, in the
// grammar of Nova's extra_specs_ops: an operator word and operands, or a
// plain value that must be equal.
//
//	=  v      the value, as a number, is at least v
//	== v, != v, >= v, <= v   numeric comparisons
//	s== v, s!= v, s< v, s<= v, s> v, s>= v   string comparisons
//	<in> v    v is a substring of the value
//	<all-in> a b ...   each operand is a substring of the value
//	<or> a <or> b ...  the value is one of the operands
type specMatcher struct {
	req   string
	op    string // "" for plain equality
	words []string
}

var specOps = map[string]bool{
	"=": true, "<in>": true, "<all-in>": true, "==": true, "!=": true, ">=": true, "<=": true,
	"s==": true, "s!=": true, "s<": true, "s<=": true, "s>": true, "s>=": true, "<or>": true,
}

func parseSpec(req string) specMatcher {
	words := strings.Fields(req)
	if len(words) == 0 || !specOps[words[0]] {
		return specMatcher{req: req}
	}
	return specMatcher{req: req, op: words[0], words: words[1:]}
}

var errNoOperand = errors.New("<or> needs an operand")

// match reports whether value satisfies the requirement. An error is
// where Nova's filter would raise (a numeric operator on a value or
// operand that is not a number, a bare <or>); the filters reject the
// host with it.
func (m specMatcher) match(value string) (bool, error) {
	switch m.op {
	case "":
		return value == m.req, nil
	case "<or>":
		if len(m.words) == 0 {
			return false, errNoOperand
		}
		// Every other word is an operand; the words between are the
		// <or> keywords, whatever they say.
		for i := 0; i < len(m.words); i += 2 {
			if m.words[i] == value {
				return true, nil
			}
		}
		return false, nil
	}
	if len(m.words) == 0 {
		return false, nil
	}
	y := m.words[0]
	switch m.op {
	case "<in>":
		return strings.Contains(value, y), nil
	case "<all-in>":
		for _, w := range m.words {
			if !strings.Contains(value, w) {
				return false, nil
			}
		}
		return true, nil
	case "s==":
		return value == y, nil
	case "s!=":
		return value != y, nil
	case "s<":
		return value < y, nil
	case "s<=":
		return value <= y, nil
	case "s>":
		return value > y, nil
	case "s>=":
		return value >= y, nil
	}
	a, err := pyFloat(value)
	if err != nil {
		return false, fmt.Errorf("%q is not a number", value)
	}
	b, err := pyFloat(y)
	if err != nil {
		return false, fmt.Errorf("%q is not a number", y)
	}
	switch m.op {
	case "=", ">=":
		return a >= b, nil
	case "==":
		return a == b, nil
	case "!=":
		return a != b, nil
	}
	return a <= b, nil // "<="
}
