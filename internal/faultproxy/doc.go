// Package faultproxy is a TCP proxy on loopback for fault tests: it forwards
// connections to a target and can cut every connection at once, as a broken
// network would.
package faultproxy
