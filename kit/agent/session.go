package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Credentials name a service user in Keystone v3: an agent's only
// secret. By default the user is in the Default domain and the token is
// scoped to the "service" project, as OpenStack's service users are.
type Credentials struct {
	AuthURL       string // Keystone v3, e.g. http://controller:5000/v3
	Username      string
	Password      string
	UserDomain    string // default "Default"
	Project       string // default "service"
	ProjectDomain string // default "Default"
	Region        string // the catalog region of Endpoint ("" = any)
}

// Session holds a token for Credentials and renews it before it expires,
// or at once after a 401. It is safe for concurrent use.
type Session struct {
	Creds Credentials
	HTTP  *http.Client // nil for http.DefaultClient
	// Timeout bounds each request, authentication included (30 s when
	// zero): a controller that accepts and never answers must not hang an
	// agent, whose silence would then move its work elsewhere.
	Timeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	catalog []catalogEntry
}

type catalogEntry struct {
	Type      string `json:"type"`
	Endpoints []struct {
		Interface string `json:"interface"`
		Region    string `json:"region_id"`
		URL       string `json:"url"`
	} `json:"endpoints"`
}

// renewBefore is how long before its expiry a token is replaced.
const renewBefore = 5 * time.Minute

// NewSession returns a session for c.
func NewSession(c Credentials) *Session { return &Session{Creds: c} }

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Session) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 30 * time.Second
}

func (s *Session) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

// Token returns a valid token, authenticating when there is none or it
// expires within five minutes.
func (s *Session) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Add(renewBefore).Before(s.expires) {
		return s.token, nil
	}
	return s.authenticate(ctx)
}

// Invalidate drops token if it is still the current one (after a 401:
// revoked, or the keys rotated past it), so the next call authenticates.
func (s *Session) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

func def(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// authenticate is POST /v3/auth/tokens with the password method; s.mu
// is held.
func (s *Session) authenticate(ctx context.Context) (string, error) {
	c := s.Creds
	if c.AuthURL == "" || c.Username == "" {
		return "", errors.New("agent: credentials need auth_url and a username")
	}
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": c.Username, "password": c.Password, "domain": map[string]string{"name": def(c.UserDomain, "Default")}}}},
		"scope": map[string]any{"project": map[string]any{
			"name": def(c.Project, "service"), "domain": map[string]string{"name": def(c.ProjectDomain, "Default")}}},
	}}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.AuthURL, "/")+"/auth/tokens", bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("agent: authenticate: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("agent: authenticate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("agent: authenticate as %s: %w", c.Username, statusError(resp))
	}
	var out struct {
		Token struct {
			ExpiresAt time.Time      `json:"expires_at"`
			Catalog   []catalogEntry `json:"catalog"`
		} `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("agent: authenticate: %w", err)
	}
	s.token, s.expires, s.catalog = resp.Header.Get("X-Subject-Token"), out.Token.ExpiresAt, out.Token.Catalog
	if s.token == "" {
		return "", errors.New("agent: authenticate: no X-Subject-Token in the answer")
	}
	return s.token, nil
}

// Endpoint returns the URL of a service from the token's catalog: its
// internal interface, else public, in Credentials.Region when set.
func (s *Session) Endpoint(ctx context.Context, serviceType string) (string, error) {
	if _, err := s.Token(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, iface := range []string{"internal", "public"} {
		for _, e := range s.catalog {
			if e.Type != serviceType {
				continue
			}
			for _, ep := range e.Endpoints {
				if ep.Interface == iface && (s.Creds.Region == "" || ep.Region == s.Creds.Region) {
					return strings.TrimSuffix(ep.URL, "/"), nil
				}
			}
		}
	}
	return "", fmt.Errorf("agent: no %q endpoint in the catalog", serviceType)
}

// Prepare adds the session's token to req: the watchhttp.Client hook. A
// request that gets no token goes without one and is refused with 401.
func (s *Session) Prepare(req *http.Request) {
	if tok, err := s.Token(req.Context()); err == nil {
		req.Header.Set("X-Auth-Token", tok)
	}
}

// Do sends in as JSON (nil: no body) to url with the token, and decodes
// a 2xx answer into out (nil: discarded). A 401 invalidates the token
// and the request is sent once more with a new one. Any other status is
// an *Error.
func (s *Session) Do(ctx context.Context, method, url string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout()) // a renewal, then the request
	defer cancel()
	for attempt := 0; ; attempt++ {
		tok, err := s.Token(ctx)
		if err != nil {
			return err
		}
		var body io.Reader
		if in != nil {
			b, err := json.Marshal(in)
			if err != nil {
				return fmt.Errorf("agent: %s %s: %w", method, url, err)
			}
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		req.Header.Set("X-Auth-Token", tok)
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := s.client().Do(req)
		if err != nil {
			return fmt.Errorf("agent: %s %s: %w", method, url, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			resp.Body.Close()
			s.Invalidate(tok)
			continue
		}
		err = decodeAnswer(resp, out)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("agent: %s %s: %w", method, url, err)
		}
		return nil
	}
}

func decodeAnswer(resp *http.Response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Error is an answer other than 2xx.
type Error struct {
	Status int
	Body   string // the first 512 bytes
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &Error{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
}

// Stream sends a request with the token through client (nil: the
// session's) and returns a 2xx answer for the caller to read and close:
// for bodies too large for Do, such as images. open makes the request's
// body and its length (nil for none); it is called again for the one
// retry after a 401, which invalidates the token. Any other status is an
// *Error. Only ctx bounds the request: the session's Timeout does not
// apply, a body may take long.
func (s *Session) Stream(ctx context.Context, client *http.Client, method, url, contentType string, open func() (io.ReadCloser, int64, error)) (*http.Response, error) {
	if client == nil {
		client = s.client()
	}
	for attempt := 0; ; attempt++ {
		tok, err := s.Token(ctx)
		if err != nil {
			return nil, err
		}
		var rd io.ReadCloser
		var size int64
		if open != nil {
			if rd, size, err = open(); err != nil {
				return nil, err
			}
		}
		var body io.Reader
		if rd != nil {
			body = rd
		}
		req, err := http.NewRequestWithContext(ctx, method, url, body)
		if err != nil {
			if rd != nil {
				rd.Close()
			}
			return nil, fmt.Errorf("agent: %w", err)
		}
		if rd != nil {
			req.ContentLength = size
		}
		req.Header.Set("X-Auth-Token", tok)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("agent: %s %s: %w", method, url, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			resp.Body.Close()
			s.Invalidate(tok)
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			err := statusError(resp)
			resp.Body.Close()
			return nil, fmt.Errorf("agent: %s %s: %w", method, url, err)
		}
		return resp, nil
	}
}

// FileBody is a Stream body: the file at path, opened again for each
// attempt, with its length.
func FileBody(path string) func() (io.ReadCloser, int64, error) {
	return func() (io.ReadCloser, int64, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, fi.Size(), nil
	}
}
