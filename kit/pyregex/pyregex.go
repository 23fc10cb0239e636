// Package pyregex compiles regular expressions written for Python's re
// module (str patterns), as OpenStack services take them from operators
// (Keystone's password_regex, Designate's blacklists), into backtracking
// matchers that read them as Python does: lookarounds, backreferences,
// Unicode \d \w \s, and Python's own spellings (?P<name>...), (?P=name),
// {,n} and \Z, which the engine (regexp2, .NET's syntax) spells
// otherwise. Every match is bounded in time, where Python's would run
// without end on a pattern that backtracks catastrophically.
package pyregex

import (
	"fmt"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

func init() {
	// regexp2 checks match deadlines on a clock that ticks this often
	// (100 ms by default), so a bound of t is really up to t plus two
	// ticks; 5 ms keeps the bounds near what they say.
	regexp2.SetTimeoutCheckPeriod(5 * time.Millisecond)
}

// Regexp is a compiled pattern. It is safe for concurrent use.
type Regexp struct {
	re *regexp2.Regexp
}

// ErrTimeout is what a match that ran past the Compile's bound returns.
var ErrTimeout = fmt.Errorf("pyregex: the match ran out of time")

// Compile compiles pattern as Python's re.compile would read it, for
// Match and Search bounded by timeout each. A pattern Python refuses
// (unbalanced parentheses, a bad escape) is an error; a few that only
// .NET's syntax has are taken.
func Compile(pattern string, timeout time.Duration) (*Regexp, error) {
	re, err := regexp2.Compile(translate(pattern))
	if err != nil {
		return nil, fmt.Errorf("not a regular expression: %w", err)
	}
	re.MatchTimeout = timeout
	return &Regexp{re: re}, nil
}

// Match reports whether the pattern matches s from its start, as
// re.match does (not necessarily to its end).
func (r *Regexp) Match(s string) (bool, error) {
	// The engine tries the starts in order, so the first match found is
	// at 0 when there is one there.
	m, err := r.re.FindStringMatch(s)
	if err != nil {
		return false, ErrTimeout // regexp2's error quotes s: never pass it on
	}
	return m != nil && m.RuneIndex == 0, nil
}

// Search reports whether the pattern matches anywhere in s, as
// re.search does.
func (r *Regexp) Search(s string) (bool, error) {
	m, err := r.re.FindStringMatch(s)
	if err != nil {
		return false, ErrTimeout
	}
	return m != nil, nil
}

// translate rewrites Python's spellings that .NET reads otherwise, outside
// character classes: (?P<name> → (?<name>, (?P=name) → \k<name>, {,n} →
// {0,n} and {,} → {0,} (.NET takes them as text), \Z → \z (the end of the text; .NET's
// \Z also matches before a final newline).
func translate(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			if !inClass && p[i+1] == 'Z' {
				b.WriteString(`\z`)
			} else {
				b.WriteByte(c)
				b.WriteByte(p[i+1])
			}
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' first in the class (after an optional '^') is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case strings.HasPrefix(p[i:], "(?P<"):
			b.WriteString("(?<")
			i += 3
			continue
		case strings.HasPrefix(p[i:], "(?P="):
			if end := strings.IndexByte(p[i:], ')'); end > 0 {
				b.WriteString(`\k<` + p[i+4:i+end] + `>`)
				i += end
				continue
			}
		case c == '{' && strings.HasPrefix(p[i:], "{,"):
			j := i + 2
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			if j < len(p) && p[j] == '}' { // {,n} and {,}: from 0
				b.WriteString("{0," + p[i+2:j+1])
				i = j
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
