//go:build !linux

package testserver

import "syscall"

// procAttr returns the default attributes; Pdeathsig is Linux-only.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
