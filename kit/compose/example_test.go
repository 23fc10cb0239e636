package compose_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gostack/gostack/kit/compose"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/sqlstore"
)

// hello is an area of an embedder's own: no schema, one endpoint, one
// controller.
type hello struct {
	Config struct {
		Greeting string `yaml:"greeting"`
	}
}

func (*hello) Name() string                      { return "hello" }
func (*hello) DefaultPort() int                  { return 8080 }
func (*hello) Migrations() []sqlstore.Migrations { return nil }
func (h *hello) Section() any                    { return &h.Config }

func (h *hello) Build(ctx context.Context, env *compose.Env) (http.Handler, error) {
	env.Go("janitor", func(ctx context.Context) error { <-ctx.Done(); return nil }) // waited for by Close
	rt := httpapi.NewRouter(httpapi.Plain)
	rt.HandleFunc("GET /greeting", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"greeting": h.Config.Greeting, "url": env.URL})
	})
	return rt, nil
}

// Build a stack from an area of your own and serve it on your own mux,
// under a path prefix.
func ExampleBuild() {
	dir, _ := os.MkdirTemp("", "compose-example-")
	defer os.RemoveAll(dir)

	h := &hello{}
	h.Config.Greeting = "hi"
	cfg := compose.Defaults(h)
	cfg.DataDir = dir // SQLite at <dir>/gostack.db
	stack, err := compose.Build(context.Background(), compose.Options{Config: &cfg, Areas: []compose.Area{h},
		URLs: map[string]string{"hello": "http://cloud.example/hello"}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stack.Close()

	mux := http.NewServeMux()
	mux.Handle("/hello/", httpapi.Mount("/hello", stack.Handler("hello")))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/hello/greeting")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK {"greeting":"hi","url":"http://cloud.example/hello"}
}
