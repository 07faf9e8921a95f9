//go:build !linux

package kratostest

import "os/exec"

// DieWithParent is a no-op outside Linux, which has no parent-death signal.
func DieWithParent(cmd *exec.Cmd) {}
