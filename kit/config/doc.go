// Package config is the one configuration loader for every gostack daemon.
//
// A daemon declares its configuration as a Go struct with yaml tags,
// fills in the defaults, and calls Load. Values are applied in order of
// precedence: defaults < config file < environment < flags. Then, if the
// struct has a Validate method (see Validator), Load calls it.
//
//	cfg := daemon.Config{DataDir: "/var/lib/gostack"}
//	var sets config.SetFlag
//	sets.Register(fs, "set", "override a config key: key=value (repeatable)")
//	sets.Bind(fs, "data-dir", "data_dir", "directory for state")
//	fs.Parse(os.Args[1:])
//	err := config.Load(*path, &cfg, config.EnvPrefix("GOSTACK"), config.Flags(&sets))
//
// The file is decoded strictly by walking the YAML tree against the struct:
// unknown keys, duplicate keys, wrong types and a top level that is not a
// mapping are errors, each one line naming the file, the line and the
// dotted key:
//
//	config gostack.yaml: line 4: unknown key "log.formatt"
//	config gostack.yaml: line 7: watch.max_changes: cannot use "lots" as an integer
//
// Keys are matched by yaml tag (the lowercased field name without one);
// sections may be structs or pointers to structs, and ",inline" structs
// are flattened. Leaves may be strings, bools, integers, floats, Duration,
// time.Duration, encoding.TextUnmarshaler types, lists, maps with string
// keys, and interface{} for free-form YAML. A null value keeps the default.
// Maps are merged into the defaults; lists replace them.
//
// Each leaf can be overridden by the env var PREFIX_PATH, where PATH is
// the dotted key uppercased with "." and "-" turned into "_":
// GOSTACK_LOG_FORMAT sets log.format. An entry of a map is set by
// PREFIX_PATH_KEY (GOSTACK_LISTEN_IDENTITY sets listen.identity; new keys
// are lowercased) unless another leaf has that name. Flags go through Set
// and SetFlag with the same syntax: "-set log.level=debug". In both, a
// list of scalars is comma separated and any other list or map is YAML.
//
// Describe and WriteReference document the keys with their defaults, env
// vars and help:"..." tags; Dump prints the effective configuration, with
// fields tagged secret:"true" shown as "***".
//
// The package does not watch files or reload configuration, does not look
// for config files in well-known places (the daemon passes the path), does
// not keep global state, and does not define any daemon's keys.
package config
