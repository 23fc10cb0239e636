// Package area plugs the identity service (Keystone v3) into a
// kit/compose daemon: its config section ("identity"), its schema, its
// API and its controllers (the Fernet key reloader and the revocation
// follower), and the keystone-manage-like commands (bootstrap,
// fernet_setup, fernet_rotate).
//
// Areas built after it get its token validator with Validator, and
// register their catalog endpoints with Register:
//
//	d := compose.New(area.New(), imagearea.New())
//
// It bootstraps the admin user on every start with the password kept in
// <data_dir>/admin-password and writes <data_dir>/openrc.
package area
