package compose

import (
	"fmt"
	"net/http"

	kitagent "github.com/gostack/gostack/kit/agent"
	"github.com/gostack/gostack/kit/config"
	"github.com/gostack/gostack/kit/httpapi"
)

// RemoteAgent is how a host agent run alone on a host with no
// controller (`gostack network-agent`, `gostack compute-agent`) reaches
// its controller: the settings of its section's agent keys.
type RemoteAgent struct {
	Section, Command                      string // "network", "network-agent"
	AuthURL, Username, Password, WatchURL string
}

// AgentSession checks ra's settings (a missing one is a FieldError
// naming its key) and returns a session of its service user in the
// service project, with the daemon's TLS settings.
func (c *Config) AgentSession(ra RemoteAgent) (*kitagent.Session, error) {
	key := func(k string) string { return ra.Section + ".agent." + k }
	switch {
	case ra.AuthURL == "":
		return nil, &config.FieldError{Key: key("auth_url"), Problem: "is required to run " + ra.Command}
	case ra.Username == "" || ra.Password == "":
		return nil, &config.FieldError{Key: key("username"), Problem: "a username and a password are required to run " + ra.Command}
	case ra.WatchURL == "":
		return nil, &config.FieldError{Key: key("watch_url"), Problem: "is required to run " + ra.Command}
	}
	sess := kitagent.NewSession(kitagent.Credentials{AuthURL: ra.AuthURL, Username: ra.Username, Password: ra.Password,
		Project: "service", Region: c.Region})
	if c.TLS.On() {
		tc, err := httpapi.ClientTLS(c.TLS.CA())
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		sess.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	return sess, nil
}
