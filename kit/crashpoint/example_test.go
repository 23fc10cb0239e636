package crashpoint_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gostack/gostack/kit/crashpoint"
)

// A write path marks the point between two steps whose order matters: the
// data is in place, the record that owns it is not yet. Unarmed, Hit does
// nothing; a crash test starts the daemon with the point armed and then
// checks what a restart makes of the state the kill left.
func Example() {
	dir, _ := os.MkdirTemp("", "crashpoint-example")
	defer os.RemoveAll(dir)

	save := func(name, data string) error {
		if err := os.WriteFile(filepath.Join(dir, name+".tmp"), []byte(data), 0o600); err != nil {
			return err
		}
		crashpoint.Hit("example.save.written") // killed here when armed
		return os.Rename(filepath.Join(dir, name+".tmp"), filepath.Join(dir, name))
	}
	if err := save("a", "hello"); err != nil {
		panic(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a"))
	fmt.Println(string(b))

	// What a crash test sets in the daemon's environment to kill it the
	// second time it passes the point:
	fmt.Printf("%s=example.save.written:2\n", crashpoint.Env)
	// Output:
	// hello
	// GOSTACK_CRASHPOINT=example.save.written:2
}
