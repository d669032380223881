// Package poll waits, in the tests that run against real components (the
// integration and end-to-end suites), for what those components do in
// their own time.
package poll

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// interval is how often Until checks.
const interval = 250 * time.Millisecond

// A Check reports whether what a test waits for is done, and what it saw;
// an error ends the wait at once.
type Check func(ctx context.Context) (done bool, said string, err error)

// Until runs check every 250ms, for at most timeout, until it reports done,
// and fails t with what check last said if it never does; an error from
// check fails t at once. It logs how long the wait took.
func Until(t testing.TB, what string, timeout time.Duration, check Check) {
	t.Helper()
	var last string
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(ctx context.Context) (bool, error) {
		done, said, err := check(ctx)
		last = said
		return done, err
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %s)", what, err, last)
		return
	}
	t.Logf("%s: took %s", what, time.Since(start).Round(10*time.Millisecond))
}

// SyncedFalse returns a check, reading mr with c, that is done once mr is
// Synced=False with a message that contains msg. It says mr's Synced
// condition, or why mr cannot be read; an error reading mr does not end the
// wait.
func SyncedFalse(c client.Reader, mr resource.Managed, msg string) Check {
	return func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(mr), mr); err != nil {
			return false, err.Error(), nil
		}
		s := mr.GetCondition(xpv2.TypeSynced)
		return s.Status == corev1.ConditionFalse && strings.Contains(s.Message, msg), fmt.Sprintf("%s: %s", s.Status, s.Message), nil
	}
}
