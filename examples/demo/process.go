package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

var syscallEADDRINUSE = syscall.EADDRINUSE

// process is a child process the demo started and stops.
type process struct {
	name     string
	cmd      *exec.Cmd
	exited   chan struct{}
	stopping atomic.Bool
	logFile  *os.File
}

// startProcess starts bin with args in dir, appending env to the demo's environment. Output
// goes to the file logPath, or else to out. The child gets its own process group, so Ctrl-C
// in the terminal reaches only the demo, which then stops its children in order.
func startProcess(name, bin string, args, env []string, dir, logPath string, out io.Writer) (*process, error) {
	p := &process{name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = sysProcAttr()
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		p.logFile = f
		out = f
	}
	p.cmd.Stdout = out
	p.cmd.Stderr = out
	if err := p.cmd.Start(); err != nil {
		if p.logFile != nil {
			p.logFile.Close()
		}
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		if p.logFile != nil {
			p.logFile.Close()
		}
		close(p.exited)
	}()
	return p, nil
}

// stop asks the process to end (SIGTERM), kills it after five seconds, and waits for it.
func (p *process) stop() {
	if p == nil {
		return
	}
	p.stopping.Store(true)
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
