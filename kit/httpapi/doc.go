// Package httpapi is the HTTP API kit shared by every OpenStack-compatible
// service in gostack: routing with OpenStack-style 404/405 answers, JSON
// decoding with client-friendly errors, the one mapping from fault kinds to
// HTTP status and per-service error bodies, request ids, access logs,
// Prometheus metrics, pagination, microversion negotiation, version
// discovery documents, a health check and panic recovery; and the server
// those handlers run in: timeouts that follow progress, a cap on open
// connections and TLS from certificate files reloaded when they change
// ([NewServer], [ServerTLS]).
//
// A service builds a [Router] with the [Style] its clients expect, registers
// handlers with Go 1.22 method patterns, and wraps the router with
// [Service] (or its pieces through [Chain]):
//
//	rt := httpapi.NewRouter(httpapi.Nova)
//	rt.HandleFunc("GET /v2.1/servers/{id}", showServer)
//	h := httpapi.Service(rt, httpapi.ServiceOptions{Style: httpapi.Nova, Metrics: m})
//
// Handlers return domain errors built with package fault and hand them to
// [WriteError]; nothing else in gostack chooses an HTTP status code.
//
// Every value here is built by the caller and holds its own state: there is
// no global registry, no init-time registration and no default metrics
// registry, so two services can live in one process.
//
// What it does not do: authentication and policy (token validation,
// keystonemiddleware's WWW-Authenticate for non-Keystone services),
// opening listeners (the caller does), rate limits, HTTP/2, XML or HTML
// bodies, request body schemas, and
// pagination of large data sets (stores page in SQL; [Paginate] is for small
// in-memory lists).
package httpapi
