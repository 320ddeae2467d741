// Package config loads, validates and writes xchat's TOML configuration
// file, and runs the first-run setup that creates it.
//
// The file has an optional [ui] section and one [[account]] section per
// XMPP account:
//
//	[ui]
//	theme = "auto"                              # auto | dark | light
//	notify = false                              # terminal bell on new messages
//
//	[[account]]
//	jid = "alice@example.org"                   # bare JID, required
//	password_command = "pass show xmpp/alice"   # first line of its stdout
//	# password = "..."                          # or stored in the file
//	# ask_password = true                       # or typed at start-up (default)
//	server = "xmpp.example.org:5222"            # optional; skips SRV lookup
//	tls = "starttls"                            # starttls (default) | direct
//	ca_file = "/path/ca.pem"                    # optional extra CA (PEM)
//	pin_sha256 = "base64 or hex"                # optional SPKI pin, see TLSConfig
//	resource = "xchat"                          # default "xchat"
//	nick = "alice"                              # default: the JID's localpart
//
// Unknown keys are errors. Every error names the file, line, key and, for
// accounts, the index and JID, e.g.
//
//	config.toml:7: account[0].tls (alice@example.org): must be "starttls" or "direct", got "plain"
//
// A relative ca_file is relative to the configuration file's directory and
// "~/" is expanded.
package config
