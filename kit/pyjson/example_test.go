package pyjson_test

import (
	"fmt"

	"github.com/gostack/gostack/kit/pyjson"
)

func Example() {
	v, err := pyjson.Parse([]byte(`{"name": "m1", "ram": 1.0, "name": "m2", "public": true}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Keys)
	fmt.Println(v.Repr())
	fmt.Println(v.Get("name").Str(), v.Get("ram").Is("integer"))
	// Output:
	// [name ram public]
	// {'name': 'm2', 'ram': 1.0, 'public': True}
	// m2 false
}
