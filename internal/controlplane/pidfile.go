package controlplane

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Identify returns "<pid> <start>" for the running process pid, where start
// is when it started (clock ticks after boot, /proc/<pid>/stat). A PID alone
// may name another process by the time it is read back: the kernel reuses
// PIDs of processes that ended. Identified reads it back.
func Identify(pid int) (string, error) {
	s, err := stat(pid)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d", pid, s.Starttime), nil
}

// Identified returns the PID that id, from Identify, names, and whether that
// same process still runs. It reports false for a PID now held by another
// process, and for an id without a start time.
func Identified(id string) (int, bool) {
	p, start, ok := strings.Cut(strings.TrimSpace(id), " ")
	pid, err := strconv.Atoi(p)
	if !ok || err != nil || pid <= 0 {
		return 0, false
	}
	s, err := stat(pid)
	return pid, err == nil && strconv.FormatUint(s.Starttime, 10) == start
}

// Exited reports whether the process cmd started has ended, waited for or
// not: a child that ended and was not waited for yet is a zombie, which
// cmd.ProcessState does not show until someone calls Wait.
func Exited(cmd *exec.Cmd) bool {
	if cmd.ProcessState != nil {
		return true
	}
	s, err := stat(cmd.Process.Pid)
	return err != nil || s.State == "Z" || s.State == "X"
}

// stat is /proc/<pid>/stat, as procfs parses it.
func stat(pid int) (procfs.ProcStat, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStat{}, errors.Wrapf(err, "cannot find PID %d", pid)
	}
	s, err := p.Stat()
	return s, errors.Wrapf(err, "cannot read the status of PID %d", pid)
}
