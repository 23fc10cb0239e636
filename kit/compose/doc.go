// Package compose is the composition kit: how areas (identity, image,
// dns, and an embedder's own) plug into one process.
//
// An Area has a name, a schema and a Build method that turns the shared
// runtime (Env: the store, the watch feed, a logger, a metrics registry,
// the area's public URL) into its API and starts its controllers with
// Env.Go. An area may have a config section (Configurable), need other
// areas built first (Needer) and name a default port (Porter).
//
// Build makes a Stack from a Config and a list of areas: one store, one
// feed, one registry, the areas built in the order their needs ask for,
// their controllers running until Close. Serve its handlers on listeners
// of your own, or let Daemon do it: one listener per area on its port,
// plus the admin port (/healthcheck, /metrics, the watch feed), graceful
// shutdown, TLS and the HTTP limits of kit/httpapi.
//
//	d := compose.New(identityarea.New(), imagearea.New())
//	if err := d.Load("gostack.yaml", config.EnvPrefix("GOSTACK")); err != nil { ... }
//	err := d.Run(ctx)
//
// The configuration is the daemon's keys (data_dir, database, ports, tls,
// http, log, watch, ...) plus one section per area, read with kit/config
// through ConfigRoot.
//
// What it does not do: it holds no area logic, runs no area it is not
// given, and opens no port an area has not asked for.
package compose
