package testserver

import "syscall"

// procAttr puts Prosody in its own process group, so a terminal's Ctrl-C
// reaches only the test binary, and has the kernel kill it if the test binary
// dies without cleaning up.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
