// Package poll waits, in the tests that run against real components (the
// integration and end-to-end suites), for what those components do in
// their own time.
package poll

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Until calls fn every interval, for at most timeout, until it reports
// done, and fails t with what fn last said if it never does; an error from
// fn fails t at once. It logs how long the wait took.
func Until(t testing.TB, what string, interval, timeout time.Duration, fn func(ctx context.Context) (done bool, said string, err error)) {
	t.Helper()
	var last string
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(ctx context.Context) (bool, error) {
		done, said, err := fn(ctx)
		last = said
		return done, err
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %s)", what, err, last)
	}
	t.Logf("%s: took %s", what, time.Since(start).Round(10*time.Millisecond))
}
