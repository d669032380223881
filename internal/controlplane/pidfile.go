package controlplane

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Identify returns "<pid> <start>" for the running process pid, where start
// is when it started (clock ticks after boot, field 22 of /proc/<pid>/stat).
// A PID alone may name another process by the time it is read back: the
// kernel reuses PIDs of processes that ended. Identified reads it back.
func Identify(pid int) (string, error) {
	start, err := startTime(pid)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %s", pid, start), nil
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
	now, err := startTime(pid)
	return pid, err == nil && now == start
}

// Exited reports whether the process cmd started has ended, waited for or
// not: a child that ended and was not waited for yet is a zombie, which
// cmd.ProcessState does not show until someone calls Wait.
func Exited(cmd *exec.Cmd) bool {
	if cmd.ProcessState != nil {
		return true
	}
	f, err := stat(cmd.Process.Pid)
	return err != nil || f[0] == "Z" || f[0] == "X"
}

// startTime is field 22 of /proc/<pid>/stat.
func startTime(pid int) (string, error) {
	f, err := stat(pid)
	if err != nil {
		return "", err
	}
	return f[19], nil
}

// stat returns the fields of /proc/<pid>/stat from the third, the state, on.
// The second field, the command in parentheses, may hold spaces and
// parentheses itself: fields are counted after its last ')'.
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, errors.Wrapf(err, "cannot read the status of PID %d", pid)
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 20 {
		return nil, errors.Errorf("cannot parse the status of PID %d: %q", pid, b)
	}
	return f, nil
}
