// Package watchhttp serves a watch feed over HTTP and reads one: Handler
// answers long polls (GET ...?since=REV&limit=N&timeout=S) with a JSON
// batch, 410 and the compaction horizon when the watcher must resync;
// Client is a watch.Source over such an endpoint, for agents on other
// hosts (give it an http.Client built with httpapi.ClientTLS when the
// feed is served over TLS).
//
// What it does not do: authenticate (wrap Handler with the token
// middleware; set Client.Prepare to add the token), or decide which
// project a caller may see (Handler.Scope does).
package watchhttp
