package pyjson_test

import (
	"encoding/json"
	"testing"

	"github.com/gostack/gostack/kit/pyjson"
)

// Expected values are what CPython 3.11 prints for json.loads(text).
func TestParseRepr(t *testing.T) {
	for _, tc := range []struct {
		text, repr, str string
	}{
		{`{"b": 1, "a": [true, false, null]}`, `{'b': 1, 'a': [True, False, None]}`, ""},
		{`{"a": 1, "b": 2, "a": 3}`, `{'a': 3, 'b': 2}`, ""},
		{`"it's"`, `"it's"`, `it's`},
		{`"caf\u00e9\n"`, `'café\n'`, "café\n"},
		{`1.0`, `1.0`, ""},
		{`1e400`, `inf`, ""},
		{`100000000000000000000000`, `100000000000000000000000`, ""},
		{`-0.00001`, `-1e-05`, ""},
		{`[]`, `[]`, ""},
		{`{}`, `{}`, ""},
	} {
		t.Run(tc.text, func(t *testing.T) {
			v, err := pyjson.Parse([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Repr(); got != tc.repr {
				t.Errorf("Repr() = %s, want %s", got, tc.repr)
			}
			str := tc.str
			if str == "" {
				str = tc.repr
			}
			if got := v.Str(); got != str {
				t.Errorf("Str() = %q, want %q", got, str)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"not UTF-8":   "\"\xff\"",
		"trailing":    `{} {}`,
		"truncated":   `{"a": `,
		"not JSON":    `{'a': 1}`,
		"empty":       ``,
		"bare word":   `True`,
		"trailing ,":  `[1,]`,
		"garbage end": `1 x`,
	} {
		t.Run(name, func(t *testing.T) {
			if v, err := pyjson.Parse([]byte(text)); err == nil {
				t.Errorf("Parse(%q) = %s, want an error", text, v.Repr())
			}
		})
	}
}

func TestDuplicateKeys(t *testing.T) {
	v, err := pyjson.Parse([]byte(`{"x": 1, "y": 2, "x": {"z": 3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Keys) != 2 || v.Keys[0] != "x" || v.Keys[1] != "y" {
		t.Fatalf("Keys = %q, want [x y]", v.Keys)
	}
	if got := v.Get("x").Get("z").Repr(); got != "3" {
		t.Errorf("x.z = %s, want 3", got)
	}
	if !v.Has("y") || v.Has("z") || v.Get("y").Get("a") != nil {
		t.Error("Has/Get of absent keys")
	}
}

func TestIs(t *testing.T) {
	for _, tc := range []struct {
		text string
		is   []string
	}{
		{`{}`, []string{"object"}},
		{`[]`, []string{"array"}},
		{`""`, []string{"string"}},
		{`1`, []string{"integer", "number"}},
		{`1.0`, []string{"number"}},
		{`1e2`, []string{"number"}},
		{`true`, []string{"boolean"}},
		{`null`, []string{"null"}},
	} {
		v, _ := pyjson.Parse([]byte(tc.text))
		for _, typ := range []string{"object", "array", "string", "integer", "number", "boolean", "null", "other"} {
			want := false
			for _, w := range tc.is {
				want = want || w == typ
			}
			if got := v.Is(typ); got != want {
				t.Errorf("%s is %s = %v, want %v", tc.text, typ, got, want)
			}
		}
	}
}

func TestTruthyLenNull(t *testing.T) {
	for text, want := range map[string]bool{
		`0`: false, `0.0`: false, `""`: false, `[]`: false, `{}`: false, `null`: false, `false`: false,
		`1`: true, `-0.5`: true, `"0"`: true, `[0]`: true, `{"a": null}`: true, `true`: true,
	} {
		v, _ := pyjson.Parse([]byte(text))
		if got := v.Truthy(); got != want {
			t.Errorf("bool(%s) = %v, want %v", text, got, want)
		}
	}
	v, _ := pyjson.Parse([]byte(`["é€", [1, 2, 3]]`))
	if n := v.Items[0].Len(); n != 2 {
		t.Errorf(`len("é€") = %d, want 2`, n)
	}
	if n := v.Items[1].Len(); n != 3 {
		t.Errorf("len([1, 2, 3]) = %d, want 3", n)
	}
	var absent *pyjson.Value
	if !absent.Null() || !(&pyjson.Value{Kind: 'n'}).Null() || v.Null() {
		t.Error("Null")
	}
}

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`1`, `1.0`, true}, {`1`, `2`, false}, {`"a"`, `"a"`, true}, {`"1"`, `1`, false},
		{`true`, `true`, true}, {`true`, `1`, false}, {`null`, `null`, true},
		{`{"a": [1]}`, `{"a": [1]}`, true}, {`{"a": 1, "b": 2}`, `{"b": 2, "a": 1}`, false},
	} {
		a, _ := pyjson.Parse([]byte(tc.a))
		b, _ := pyjson.Parse([]byte(tc.b))
		if got := a.Equal(b); got != tc.want {
			t.Errorf("%s == %s: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		ok         bool
	}{
		{`true`, "1", true}, {`false`, "0", true}, {`12`, "12", true}, {`1.9`, "1", true}, {`-1.9`, "-1", true},
		{`1e400`, "", false}, {`" 1_000 "`, "1000", true}, {`"2.5"`, "2.5", true}, {`"Infinity"`, "inf", true},
		{`"-inf"`, "-inf", true}, {`"nan"`, "", false}, {`"x"`, "", false}, {`null`, "", false}, {`[]`, "", false},
	} {
		v, _ := pyjson.Parse([]byte(tc.text))
		_, got, ok := v.Number()
		if got != tc.want || ok != tc.ok {
			t.Errorf("Number(%s) = %q, %v, want %q, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
}

func TestInt(t *testing.T) {
	for s, want := range map[string]string{
		"12": "12", " -7\n": "-7", "+1_000": "1000", "007": "7",
		"1__0": "", "_1": "", "1_": "", "": "", "-": "", "1.0": "", "0x10": "",
	} {
		n, ok := pyjson.Int(s)
		if got := ""; ok {
			got = n.String()
			if got != want {
				t.Errorf("int(%q) = %s, want %s", s, got, want)
			}
		} else if want != "" {
			t.Errorf("int(%q) failed, want %s", s, want)
		}
	}
}

func TestBool(t *testing.T) {
	for s, want := range map[string][2]bool{
		"1": {true, true}, " Yes ": {true, true}, "ON": {true, true}, "t": {true, true},
		"0": {false, true}, "No": {false, true}, "off": {false, true}, "F": {false, true},
		"2": {false, false}, "": {false, false}, "truthy": {false, false},
	} {
		if b, ok := pyjson.Bool(s); b != want[0] || ok != want[1] {
			t.Errorf("Bool(%q) = %v, %v, want %v, %v", s, b, ok, want[0], want[1])
		}
	}
}

func TestMarshalJSON(t *testing.T) {
	for text, want := range map[string]string{
		`{"b": [1, 2.50, 1e400], "a": {"x": null, "y": true}}`: `{"b":[1,2.5,1e400],"a":{"x":null,"y":true}}`,
		`"caf\u00e9"`: `"café"`,
		`1E2`:         `100.0`,
	} {
		v, _ := pyjson.Parse([]byte(text))
		got, err := json.Marshal(v)
		if err != nil || string(got) != want {
			t.Errorf("Marshal(%s) = %s, %v, want %s", text, got, err, want)
		}
	}
}
