package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gostack/gostack/kit/fault"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind fault.Kind
		msg  string
	}{
		{"nil", nil, fault.Internal, ""},
		{"plain", errors.New("disk on fire"), fault.Internal, ""},
		{"sentinel", fmt.Errorf("project %q: %w", "p1", fault.ErrNotFound), fault.NotFound, `project "p1": not found`},
		{"typed", fault.Invalid("name", "name must not be empty"), fault.BadRequest, "name must not be empty"},
		{"wrapped typed", fmt.Errorf("create: %w", fault.New(fault.Conflict, "duplicate name %q", "x")), fault.Conflict, `duplicate name "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fault.KindOf(tt.err); got != tt.kind {
				t.Fatalf("KindOf = %v, want %v", got, tt.kind)
			}
			if tt.err == nil {
				return
			}
			got := fault.Message(tt.err)
			if tt.kind == fault.Internal {
				if got == tt.err.Error() {
					t.Fatalf("internal error text leaked: %q", got)
				}
				return
			}
			if got != tt.msg {
				t.Fatalf("Message = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("x: %w", &fault.Error{Kind: fault.Gone, Message: "compacted"})
	if !errors.Is(err, fault.ErrGone) {
		t.Fatal("errors.Is(*Error{Gone}, ErrGone) = false")
	}
	if errors.Is(err, fault.ErrNotFound) {
		t.Fatal("errors.Is(*Error{Gone}, ErrNotFound) = true")
	}
	if k := fault.KindOf(fmt.Errorf("x: %w", claimsGone{})); k != fault.Gone {
		t.Fatalf("KindOf(error with Is(ErrGone)) = %v, want Gone", k)
	}
	if f := fault.FieldOf(fault.Invalid("limit", "bad")); f != "limit" {
		t.Fatalf("FieldOf = %q", f)
	}
}

// claimsGone is an error of another package that claims a kind through Is.
type claimsGone struct{}

func (claimsGone) Error() string        { return "compacted" }
func (claimsGone) Is(target error) bool { return target == fault.ErrGone }
