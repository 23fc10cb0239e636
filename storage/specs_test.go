package storage_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/storage"
)

// TestMatchSpecCinderCases are the cases of Cinder's
// ExtraSpecsOpsTestCase (cinder/tests/unit/scheduler/test_host_filters.py).
func TestMatchSpecCinderCases(t *testing.T) {
	for _, c := range []struct {
		value any
		req   string
		want  bool
	}{
		{"4", "> 2", false},
		{"1", "1", true}, {"", "1", false}, {"3", "1", false}, {"222", "2", false},
		{"123", "= 123", true}, {"124", "= 123", true}, {"34", "= 234", false}, {"34", "=", false},
		{"2", "<= 10", true}, {"3", "<= 2", false}, {"3", ">= 1", true}, {"2", ">= 3", false},
		{"123", "s== 123", true}, {"1234", "s== 123", false}, {"1234", "s!= 123", true}, {"123", "s!= 123", false},
		{"1000", "s>= 234", false}, {"1234", "s<= 1000", false}, {"2", "s< 12", false}, {"12", "s> 2", false},
		{"12311321", "<in> 11", true}, {"12311321", "<in> 12311321", true}, {"12311321", "<in> 12311321 <in>", true},
		{"12310321", "<in> 11", false}, {"12310321", "<in> 11 <in>", false},
		{true, "<is> True", true}, {false, "<is> False", true}, {false, "<is> Nonsense", true},
		{true, "<is> False", false}, {false, "<is> True", false},
		{"12", "<or> 11 <or> 12", true}, {"12", "<or> 11 <or> 12 <or>", true}, {"13", "<or> 11 <or> 12", false},
		{"13", "<or> 11 <or> 12 <or>", false},
	} {
		if got := storage.MatchSpec(c.value, c.req); got != c.want {
			t.Errorf("MatchSpec(%#v, %q) = %v, Cinder's test says %v", c.value, c.req, got, c.want)
		}
	}
}

// TestMatchSpecDifferential runs Cinder's extra_specs_ops.match
// (python3-cinder) and MatchSpec over every pair of generated values and
// requirements. Where Cinder raises (an operator on a value it cannot
// take, a bare "<or>") the requirement is not met here.
func TestMatchSpecDifferential(t *testing.T) {
	testenv.RequirePython(t, "cinder.scheduler.filters.extra_specs_ops", "python3-cinder")
	values := `["1", "12", "abc", " 12 ", "1_000", "1__0", "inf", "-Infinity", "nan", "True", "false", "on", "", "12311321",
		"1e3", "1.", ".5", "+-1", "0x10", "  yes ", true, false, 1, 0, 10, 1.0, 2.5, 0.0, -3, null, ["a", "b"], ["12", 12],
		{"a": 1}, {}]`
	reqs := []string{"1", "12", "abc", "<is> True", "<is> False", "<is> yes", "<in> 1", "<in> a", "<in> 12", "= 10", "= 1e3",
		">= 2", "<= 2", "== 1", "== 1.0", "!= 1", "!= nan", "s== 12", "s!= 12", "s< 2", "s<= 2", "s> 2", "s>= 2",
		"<or> a <or> b", "<or> 12 <or> abc <or>", "<or> 12", "<or>", "", "   ", "> 2", "=", "<in>", "True", "inf", "s==", "<is>"}
	dec := json.NewDecoder(bytes.NewReader([]byte(values)))
	dec.UseNumber()
	var vs []any
	if err := dec.Decode(&vs); err != nil {
		t.Fatal(err)
	}
	var pairs [][2]any
	for _, v := range vs {
		for _, r := range reqs {
			pairs = append(pairs, [2]any{v, r})
		}
	}
	answers := testenv.PythonJSON(t, "testdata/cinder_specs.py", pairs)
	for i, p := range pairs {
		var want any
		if err := json.Unmarshal(answers[i], &want); err != nil {
			t.Fatal(err)
		}
		got := storage.MatchSpec(p[0], p[1].(string))
		if b, ok := want.(bool); ok && b != got || !ok && got {
			t.Errorf("MatchSpec(%#v, %q) = %v, Cinder %v", p[0], p[1], got, want)
		}
	}
	t.Logf("%d pairs", len(pairs))
}
