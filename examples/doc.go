// Package examples holds runnable programs, one folder each, that show how
// to use gostack's building blocks from your own code. Every building
// block gets one as it lands.
//
//   - examples/watchfeed: a store with an embedded migration, writes that
//     append to the watch feed, and an agent that follows the feed — the
//     broker-less pattern every gostack agent uses.
package examples
