// Package logging opens xchat's log file and the optional raw XML trace.
//
// The TUI owns the terminal, so nothing here ever writes to stdout or
// stderr: the log goes to xchat.log (mode 0600) in the state directory and is
// rotated once, at open, when it has grown past MaxLogSize. The XML trace
// (xml-trace.log) is meant for debugging protocol problems; it passes through
// a TraceWriter that replaces credentials (SASL exchanges, passwords) with
// "[redacted]" before anything reaches the disk.
package logging
