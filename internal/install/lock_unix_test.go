//go:build unix

package install

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the file name, waiting for another test run that holds
// it, and returns its release.
func lockFile(name string) (unlock func(), ok bool) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, false
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, true
}
