// Package measure times objects of a live API server for the end-to-end
// test and benchmark: a Tracker watches a kind through an informer and
// records, per object, when it was first seen, when each named condition
// (a Mark) first held, and when it was deleted; Summarize turns durations
// into p50, p99 and max. It measures; it asserts nothing.
package measure

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Names of the marks every Tracker records.
const (
	// Added is when the watch first saw the object.
	Added = "added"
	// Deleted is when the watch saw it deleted.
	Deleted = "deleted"
)

// A Mark is a condition of an object whose first time a Tracker records.
type Mark func(u *unstructured.Unstructured) bool

// A Tracker records, per object name, the first time each mark held.
type Tracker struct {
	marks map[string]Mark

	mu      sync.Mutex
	times   map[string]map[string]time.Time
	created map[string]time.Time
	changed chan struct{}
}

// Track starts watching objects of gvr in namespace ns (all if empty) and
// recording marks, until ctx is done. It returns once the watch has synced.
func Track(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string, marks map[string]Mark) (*Tracker, error) {
	t := &Tracker{marks: marks, times: map[string]map[string]time.Time{}, created: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	inf := f.ForResource(gvr).Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.see(o, false) },
		UpdateFunc: func(_, o any) { t.see(o, false) },
		DeleteFunc: func(o any) { t.see(o, true) },
	}); err != nil {
		return nil, errors.Wrapf(err, "cannot watch %s", gvr.Resource)
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, errors.Errorf("cannot sync the watch of %s", gvr.Resource)
	}
	return t, nil
}

func (t *Tracker) see(o any, deleted bool) {
	now := time.Now()
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	name := u.GetName()
	m := t.times[name]
	if m == nil {
		m = map[string]time.Time{Added: now}
		t.times[name] = m
		t.created[name] = u.GetCreationTimestamp().Time
	}
	if deleted {
		m[Deleted] = now
	}
	for k, mark := range t.marks {
		if _, seen := m[k]; !seen && mark(u) {
			m[k] = now
		}
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// Time returns when mark first held for object name.
func (t *Tracker) Time(name, mark string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.times[name][mark]
	return at, ok
}

// Created returns object name's creationTimestamp (one-second resolution).
func (t *Tracker) Created(name string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.created[name]
}

// Count returns how many of names have mark.
func (t *Tracker) Count(names []string, mark string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, name := range names {
		if _, ok := t.times[name][mark]; ok {
			n++
		}
	}
	return n
}

// Wait waits until every one of names has mark, for at most timeout.
func (t *Tracker) Wait(ctx context.Context, names []string, mark string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for t.Count(names, mark) < len(names) {
		select {
		case <-ctx.Done():
			return errors.Errorf("%d of %d objects reached %q within %s", t.Count(names, mark), len(names), mark, timeout)
		case <-t.changed:
		case <-time.After(time.Second):
		}
	}
	return nil
}

// Durations returns, for each of names that has both, the time from mark
// from to mark to.
func (t *Tracker) Durations(names []string, from, to string) []time.Duration {
	ds := make([]time.Duration, 0, len(names))
	for _, n := range names {
		a, okA := t.Time(n, from)
		b, okB := t.Time(n, to)
		if okA && okB {
			ds = append(ds, b.Sub(a))
		}
	}
	return ds
}

// A Summary of durations, in seconds.
type Summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_s"`
	P99 float64 `json:"p99_s"`
	Max float64 `json:"max_s"`
}

// Summarize returns the p50, p99 and max of ds (nearest rank).
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Summary{N: len(s), P50: Percentile(s, 0.50).Seconds(), P99: Percentile(s, 0.99).Seconds(), Max: s[len(s)-1].Seconds()}
}

// Percentile returns the q-quantile of sorted by nearest rank.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Gone waits until list reports no objects left, polling every 200ms for
// at most timeout, and returns when that was.
func Gone(ctx context.Context, timeout time.Duration, list func(ctx context.Context) (int, error)) (time.Time, error) {
	var left int
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		n, err := list(ctx)
		if err != nil {
			return false, nil //nolint:nilerr // Try again.
		}
		left = n
		return n == 0, nil
	})
	return time.Now(), errors.Wrapf(err, "%d objects left after %s", left, timeout)
}

// Changes counts the changes (watch MODIFIED events, i.e. writes that
// changed an object) of objects of gvr in namespace ns from when it is
// started until ctx is done.
type Changes struct {
	mu sync.Mutex
	n  int
}

// CountChanges starts counting changes of gvr in ns; it returns once the
// watch has synced.
func CountChanges(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string) (*Changes, error) {
	c := &Changes{}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	inf := f.ForResource(gvr).Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, _ any) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}}); err != nil {
		return nil, errors.Wrapf(err, "cannot watch %s", gvr.Resource)
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, errors.Errorf("cannot sync the watch of %s", gvr.Resource)
	}
	return c, nil
}

// N returns the changes counted so far.
func (c *Changes) N() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
