// Package apitest is what gostack's API tests share: a request (Call),
// its response read in full (Reply), a Client that sends calls to a test
// server and fails the test on transport errors, raw connections (Dial),
// and LineDiff for "nothing changed" checks. The fake identity for
// identity/middleware is public, in identity/middleware/middlewaretest.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Call is one request.
type Call struct {
	Method, Path string // Path is appended to Client.URL unless it is a whole http(s) URL
	Token        string // X-Auth-Token, when set
	Subject      string // X-Subject-Token, when set
	// Body is sent as is when it is a string or []byte, omitted when nil,
	// and JSON-encoded otherwise.
	Body any
	// Type is the Content-Type: application/json by default when there
	// is a body, none for "-".
	Type   string
	Header map[string]string // set last, over everything above
}

// Reply is a response, read in full.
type Reply struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r Reply) String() string { return fmt.Sprintf("%d %s", r.Code, r.Body) }

// JSON decodes the body as an object, failing the test otherwise.
func (r Reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%d response is not a JSON object: %v\n%s", r.Code, err, r.Body)
	}
	return m
}

// Client sends calls to one server.
type Client struct {
	URL string
	// Header is sent with every call (a call's own headers win).
	Header map[string]string
	// NoRedirect returns 3xx responses instead of following them.
	NoRedirect bool
}

// Call sends x and reads the response.
func (c *Client) Call(t testing.TB, x Call) Reply {
	t.Helper()
	var body io.Reader
	switch b := x.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(buf)
	}
	url := x.Path
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = c.URL + url
	}
	req, err := http.NewRequestWithContext(context.Background(), x.Method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	switch {
	case x.Type == "-":
	case x.Type != "":
		req.Header.Set("Content-Type", x.Type)
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if x.Token != "" {
		req.Header.Set("X-Auth-Token", x.Token)
	}
	if x.Subject != "" {
		req.Header.Set("X-Subject-Token", x.Subject)
	}
	for k, v := range x.Header {
		req.Header.Set(k, v)
	}
	client := http.DefaultClient
	if c.NoRedirect {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", x.Method, x.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", x.Method, x.Path, err)
	}
	return Reply{Code: resp.StatusCode, Header: resp.Header, Body: b}
}

// Do sends a request with a token and a body.
func (c *Client) Do(t testing.TB, method, path, token string, body any) Reply {
	t.Helper()
	return c.Call(t, Call{Method: method, Path: path, Token: token, Body: body})
}

// Must sends a request and fails the test unless it answers want; it
// returns the decoded body (nil for an empty one).
func (c *Client) Must(t testing.TB, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	r := c.Do(t, method, path, token, body)
	if r.Code != want {
		t.Fatalf("%s %s = %s, want %d", method, path, r, want)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.JSON(t)
}

// LineDiff lists the lines only in before ("- ") and only in after
// ("+ "), for "nothing changed" checks on sorted state dumps.
func LineDiff(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
