// Package sanitize makes text from the network safe to draw in a terminal.
//
// Anything a remote party controls (message bodies, JIDs, nicknames, status
// messages, server error texts) may carry escape sequences that would retitle
// the window, clear the screen, move the cursor or smuggle hyperlinks, C0/C1
// controls, Unicode bidi overrides that reorder what the user reads, or
// invalid UTF-8. Text and Line remove or replace all of those; the result can
// be measured and drawn without surprises. Both return their input unchanged,
// without allocating, when there is nothing to fix.
package sanitize
