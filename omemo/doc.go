// Package omemo implements legacy OMEMO (XEP-0384 v0.3, namespace
// eu.siacs.conversations.axolotl) on top of go.mau.fi/libsignal: the wire
// format (encrypted elements, device lists, bundles and the PEP IQs that
// publish and fetch them), libsignal's stores over the xchat database, one
// Manager per account that encrypts and decrypts, and trust decisions
// (blind trust before verification, or manual).
//
// The package builds and parses bytes only; sending them is the session's
// job. A session typically: opens the Manager at login; publishes
// PublishDeviceListIQ and PublishBundleIQ (on precondition-not-met,
// ConfigureNodeIQ and publish again); records contacts' device lists with
// SetDeviceList; before sending, fetches bundles (FetchBundleIQ, FindBundle)
// of devices without a session and calls ProcessBundle, then Encrypt to
// Recipients; on receipt calls Decrypt inside the transaction that stores
// the message, and after catch-up answers Plaintext.NewSession with
// EncryptKeyTransport, refills prekeys, republishes the bundle and calls
// PurgeUsedPreKeys.
//
// A Manager is confined to one goroutine, and there must be only one per
// account at a time: it caches decoded session records between calls.
//
// Storage: the tables shared by every OMEMO version (own identity and
// device id, other devices, trust) are kept apart from the legacy-specific
// ones (prekeys, signed prekeys, libsignal sessions), so that OMEMO 2 can
// later sit beside this implementation with the same identity key and trust
// decisions. Identity keys are stored as 32-byte Curve25519 keys.
//
// libsignal logs through a global logger that by default prints to stdout
// and whose Debug level leaks key material: this package installs a silent
// logger at init, and SetLogger routes libsignal's other messages to the
// application's log. libsignal panics on some malformed input; every call
// into it is guarded and the panic returned as an error.
package omemo
