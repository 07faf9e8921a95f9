//go:build !unix

package install

// lockFile cannot lock here: the caller then uses a module cache of its own.
func lockFile(name string) (unlock func(), ok bool) { return nil, false }
