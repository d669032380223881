package controlplane

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestExited: a running child has not exited; one that ended has, before
// anyone waits for it.
func TestExited(t *testing.T) {
	running := exec.Command("sleep", "60")
	ending := exec.Command("true")
	for _, c := range []*exec.Cmd{running, ending} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Process.Kill(); _, _ = c.Process.Wait() })
	}
	if Exited(running) {
		t.Error("Exited(sleep 60): got true, want false")
	}
	// true ends at once; how soon is the scheduler's business, so wait for
	// it, as long as it takes, without timing it.
	for !Exited(ending) {
		time.Sleep(10 * time.Millisecond)
	}
	if ending.ProcessState != nil {
		t.Error("true was waited for: the test shows nothing")
	}
}

// TestIdentified: a recorded process is found while it runs, and not once
// it has ended, nor under a PID recorded with another start time.
func TestIdentified(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	id, err := Identify(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if pid, ok := Identified(id); !ok || pid != cmd.Process.Pid {
		t.Errorf("Identified(%q) of a running process: got %d, %t; want %d, true", id, pid, ok, cmd.Process.Pid)
	}
	self := strconv.Itoa(os.Getpid())
	for _, other := range []string{self + " 1", self, "", "x 1", "-1 1"} {
		if pid, ok := Identified(other); ok {
			t.Errorf("Identified(%q): got %d, true; want false: not the process recorded", other, pid)
		}
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	if pid, ok := Identified(id); ok {
		t.Errorf("Identified(%q) of an ended process: got %d, true; want false", id, pid)
	}
}
