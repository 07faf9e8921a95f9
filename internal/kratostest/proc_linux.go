package kratostest

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the kernel kill cmd's process when the process that starts it exits,
// however it exits: a test binary that panics or is killed by `go test -timeout` runs no
// cleanup, and its Kratos (or proxy, or helper) would otherwise live on. The signal comes
// when the starting OS thread exits; the Go runtime ends a thread only when a goroutine
// locked to it exits still locked, which nothing that starts these processes does.
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
