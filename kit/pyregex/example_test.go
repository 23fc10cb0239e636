package pyregex_test

import (
	"fmt"
	"time"

	"github.com/gostack/gostack/kit/pyregex"
)

// Keystone's documented password_regex, read as Python reads it.
func Example() {
	re, err := pyregex.Compile(`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`, 100*time.Millisecond)
	if err != nil {
		panic(err)
	}
	for _, pw := range []string{"abc1234", "abcdefg"} {
		ok, _ := re.Match(pw)
		fmt.Println(pw, ok)
	}
	// Output:
	// abc1234 true
	// abcdefg false
}
