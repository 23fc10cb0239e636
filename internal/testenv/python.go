package testenv

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"
)

// SystemPython is Debian's interpreter, the one its python3-* packages
// (python3-keystone, python3-oslo.policy) install into; the python3
// first on PATH may be another.
const SystemPython = "/usr/bin/python3"

// RequirePython ends the test (skip, or fail in CI) unless SystemPython
// can import module, naming the Debian package that provides it.
func RequirePython(t testing.TB, module, pkg string) {
	t.Helper()
	if err := exec.Command(SystemPython, "-c", "import "+module).Run(); err != nil {
		Missing(t, module+" (python)", pkg)
	}
}

// PythonJSON runs a harness script with SystemPython, req as JSON on its
// stdin, and decodes its stdout as a JSON list of results.
func PythonJSON(t testing.TB, script string, req any) []json.RawMessage {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(SystemPython, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	var res []json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s output %s: %v", script, out, err)
	}
	return res
}
