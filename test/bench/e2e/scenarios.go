//go:build bench

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/gate"
	"github.com/provider-vdi/provider-vdi/internal/localenv"
	"github.com/provider-vdi/provider-vdi/test/bench/manifest"
	"github.com/provider-vdi/provider-vdi/test/measure"
)

var (
	gvrSession       = schema.GroupVersionResource{Group: "vdi.kasm.io", Version: "v1alpha1", Resource: "vdisessions"}
	gvrRaw           = schema.GroupVersionResource{Group: benchGroup, Version: "v1alpha1", Resource: "rawsessions"}
	gvrObjectSession = schema.GroupVersionResource{Group: benchGroup, Version: "v1alpha1", Resource: "objectsessions"}
	gvrPod           = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrDesktop       = schema.GroupVersionResource{Group: "vdi.m.kasm.io", Version: "v1alpha1", Resource: "desktops"}
	gvrRoute         = schema.GroupVersionResource{Group: "traefik.io", Version: "v1alpha1", Resource: "ingressroutes"}
	gvrPVC           = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	gvrService       = schema.GroupVersionResource{Version: "v1", Resource: "services"}
)

// What each kind of session leaves in its namespace until it is gone.
var leftovers = map[string][]schema.GroupVersionResource{
	"vdi": {gvrSession, gvrDesktop,
		{Group: "vdi.m.kasm.io", Version: "v1alpha1", Resource: "desktopvolumes"},
		{Group: "vdi.m.kasm.io", Version: "v1alpha1", Resource: "desktopservices"},
		{Group: "vdi.m.kasm.io", Version: "v1alpha1", Resource: "desktoproutes"},
		gvrPod, gvrPVC, gvrService, gvrRoute, {Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, {Version: "v1", Resource: "secrets"}},
	"floor":  {gvrPod, gvrPVC, gvrService, gvrRoute},
	"raw":    {gvrRaw, gvrPod, gvrPVC, gvrService, gvrRoute},
	"object": {gvrObjectSession, {Group: "kubernetes.m.crossplane.io", Version: "v1alpha1", Resource: "objects"}, gvrPod, gvrPVC, gvrService, gvrRoute},
}

// isRunning is the mark of a session, a peer's composite or a Pod whose
// status.phase is Running.
func isRunning(u *unstructured.Unstructured) bool {
	p, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	return p == "Running"
}

func readyTrue(u *unstructured.Unstructured) bool {
	ok, _ := localenv.Condition(u, "Ready")
	return ok
}

func scheduled(u *unstructured.Unstructured) bool {
	n, _, _ := unstructured.NestedString(u.Object, "spec", "nodeName")
	return n != ""
}

const running = "running"

func (b *bench) runScenarios(ctx context.Context) error {
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"single", b.single},
		{"burst20", func(ctx context.Context) error { return b.ours(ctx, "burst20", 20, false) }},
		{"burst100", func(ctx context.Context) error { return b.ours(ctx, "burst100", 100, true) }},
		{"floor", func(ctx context.Context) error { return b.floor(ctx, "floor", b.k.peerN, 0) }},
		{"floor20", func(ctx context.Context) error { return b.floor(ctx, "floor20", 20, 0) }},
		{"raw", func(ctx context.Context) error { return b.peer(ctx, "raw") }},
		{"object", func(ctx context.Context) error { return b.peer(ctx, "object") }},
		{"burst300", func(ctx context.Context) error { return b.ours(ctx, "burst300", b.k.bigN, false) }},
		{"steady", b.steady},
		{"floorsteady", func(ctx context.Context) error {
			return b.floor(ctx, "floorsteady", int(b.k.rate*b.k.steady.Seconds()), time.Duration(float64(time.Second)/b.k.rate))
		}},
	}
	for _, s := range steps {
		if !b.k.scenarios[s.name] {
			continue
		}
		// Each scenario starts on a cluster at rest: the last one's
		// teardown can leave the controller-manager deleting volumes for
		// many seconds after its objects are gone, and a floor run
		// behind that measures the backlog.
		if _, err := b.settle(ctx, "the cluster's controllers", cluster, 10*time.Second, 3*time.Minute); err != nil {
			return err
		}
		b.load = append(b.load, s.name+": "+loadavg())
		b.note("scenario %s (load average %s)", s.name, loadavg())
		start := time.Now()
		err := s.run(ctx)
		b.res.Durations = append(b.res.Durations, fmt.Sprintf("%s %s", s.name, time.Since(start).Round(time.Second)))
		b.res.Load = b.load
		if _, serr := b.save(); serr != nil {
			b.note("cannot save results so far: %v", serr)
		}
		if err == nil {
			continue
		}
		// The floor and the peers need the single session's objects.
		if s.name == "single" {
			return errors.Wrapf(err, "scenario %s", s.name)
		}
		// A scenario that fails (a timeout on a saturated machine) is
		// reported, and its sessions deleted, and the run goes on.
		b.note("scenario %s failed: %v", s.name, err)
		if b.res.Failed == nil {
			b.res.Failed = map[string]string{}
		}
		b.res.Failed[s.name] = err.Error()
		b.abandon(ctx, s.name)
	}
	return nil
}

// abandon deletes what a failed scenario left in its namespace, without
// waiting for it to go.
func (b *bench) abandon(ctx context.Context, ns string) {
	for _, gvr := range []schema.GroupVersionResource{gvrSession, gvrRaw, gvrObjectSession, gvrPod, gvrPVC, gvrService, gvrRoute} {
		_ = b.dyn.Resource(gvr).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	}
}

// namespace makes a user namespace that enforces the restricted Pod
// Security profile, as the end-to-end tests' are.
func (b *bench) namespace(ctx context.Context, name string) error {
	return localenv.CreateUserNamespace(ctx, b.kube, name)
}

// volumes makes sure n static volumes are Available for home claims: the
// storage class binds when the first consumer is scheduled, like a CSI
// driver's, and a volume released by a deleted claim is not reused.
func (b *bench) volumes(ctx context.Context, n int) error {
	l, err := b.cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return errors.Wrap(err, "cannot list volumes")
	}
	have := 0
	for _, pv := range l.Items {
		switch pv.Status.Phase {
		case corev1.VolumeAvailable:
			have++
		case corev1.VolumeReleased:
			_ = b.cs.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
		}
	}
	stamp := strconv.FormatInt(time.Now().UnixMilli(), 36)
	for i := have; i < n; i++ {
		name := fmt.Sprintf("bench-%s-%d", stamp, i)
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				StorageClassName:              "standard",
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Gi")},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/vdi/" + name}},
			},
		}
		if _, err := b.cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return errors.Wrapf(err, "cannot create volume %q", name)
		}
	}
	return nil
}

func vdiSession(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "vdi.kasm.io/v1alpha1", "kind": "VDISession",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     map[string]any{"user": "load", "template": "ubuntu-gpu"},
	}}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// tracers watch what a VDISession goes through: the session, its Desktop
// and its Pod.
type tracers struct {
	xr, desktop, pod *measure.Tracker
	// others are the session's other managed resources: DesktopVolume,
	// DesktopService, DesktopRoute, by name suffix.
	others map[string]*measure.Tracker
}

// otherMRs are the managed resources of a session besides its Desktop, by
// the suffix of their names.
var otherMRs = map[string]string{"-home": "desktopvolumes", "-service": "desktopservices", "-route": "desktoproutes"}

func (b *bench) trace(ctx context.Context, ns string) (tracers, error) {
	var t tracers
	var err error
	if t.xr, err = measure.Track(ctx, b.dyn, gvrSession, ns, map[string]measure.Mark{running: isRunning}); err != nil {
		return t, err
	}
	if t.desktop, err = measure.Track(ctx, b.dyn, gvrDesktop, ns, map[string]measure.Mark{"ready": readyTrue}); err != nil {
		return t, err
	}
	t.pod, err = measure.Track(ctx, b.dyn, gvrPod, ns, map[string]measure.Mark{"scheduled": scheduled, running: isRunning})
	if err != nil {
		return t, err
	}
	t.others = map[string]*measure.Tracker{}
	for suffix, res := range otherMRs {
		gvr := schema.GroupVersionResource{Group: "vdi.m.kasm.io", Version: "v1alpha1", Resource: res}
		if t.others[suffix], err = measure.Track(ctx, b.dyn, gvr, ns, map[string]measure.Mark{"ready": readyTrue}); err != nil {
			return t, err
		}
	}
	return t, nil
}

// lastReady is when the last of a session's four managed resources became
// Ready, and which it was.
func (t tracers) lastReady(s string) (time.Time, string) {
	last, ok := t.desktop.Time(s+"-desktop", "ready")
	if !ok {
		return time.Time{}, ""
	}
	which := "Desktop"
	for suffix, tr := range t.others {
		at, ok := tr.Time(s+suffix, "ready")
		if !ok {
			return time.Time{}, ""
		}
		if at.After(last) {
			last, which = at, otherMRs[suffix]
		}
	}
	return last, which
}

// sessions are the n sessions of one scenario in namespace ns, named
// s000, s001 …, and their tracers.
type sessions struct {
	ns    string
	names []string
	t     tracers
	// stop ends the tracers.
	stop func()
}

// prepare makes namespace ns with n home volumes and traces its sessions
// and their objects until stop is called.
func (b *bench) prepare(ctx context.Context, ns string, n int) (*sessions, error) {
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	if err := b.volumes(ctx, n); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithCancel(ctx)
	t, err := b.trace(tctx, ns)
	if err != nil {
		cancel()
		return nil, err
	}
	return &sessions{ns: ns, names: names("s", n), t: t, stop: cancel}, nil
}

// single runs one session alone, for its hops, and keeps the four objects
// provider-vdi made as what the floor and peers create.
func (b *bench) single(ctx context.Context) error {
	ns := "single"
	sc, err := b.prepare(ctx, ns, 1)
	if err != nil {
		return err
	}
	defer sc.stop()
	t := sc.t
	if err := b.kube.Create(ctx, vdiSession(ns, placeholder)); err != nil {
		return errors.Wrap(err, "cannot create session")
	}
	if err := t.xr.Wait(ctx, []string{placeholder}, running, 3*time.Minute); err != nil {
		return err
	}
	b.res.Single = b.hops(t, ns, []string{placeholder})
	if err := b.capture(ctx, ns); err != nil {
		return err
	}
	if b.k.scenarios["raw"] || b.k.scenarios["object"] {
		if err := b.peerCompositions(ctx); err != nil {
			return err
		}
	}
	_, err = b.teardown(ctx, "vdi", ns, []string{placeholder})
	return err
}

// capture keeps the Pod, PVC, Service and IngressRoute of the single
// session, as they would be written by a user who creates them: no
// status, nothing the API server or controllers filled in.
func (b *bench) capture(ctx context.Context, ns string) error {
	b.objects = map[string]map[string]any{}
	for rn, o := range map[string]struct {
		gvr  schema.GroupVersionResource
		name string
	}{
		"pod": {gvrPod, placeholder + "-desktop"}, "pvc": {gvrPVC, placeholder + "-home"},
		"service": {gvrService, placeholder + "-service"}, "route": {gvrRoute, placeholder + "-route"},
	} {
		u, err := b.dyn.Resource(o.gvr).Namespace(ns).Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			return errors.Wrapf(err, "cannot get %s %q of the single session", o.gvr.Resource, o.name)
		}
		clean := &unstructured.Unstructured{Object: map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "spec": u.Object["spec"]}}
		clean.SetName(u.GetName())
		clean.SetLabels(u.GetLabels())
		for _, f := range [][]string{{"spec", "nodeName"}, {"spec", "clusterIP"}, {"spec", "clusterIPs"}, {"spec", "volumeName"}} {
			unstructured.RemoveNestedField(clean.Object, f...)
		}
		b.objects[rn] = clean.Object
	}
	return nil
}

// ours applies n VDISessions at once and waits until all are Running; with
// idle and teardown asked for (the 100-burst), it then measures the idle
// window and the teardown of the same sessions.
func (b *bench) ours(ctx context.Context, name string, n int, keep bool) error {
	sc, err := b.prepare(ctx, name, n)
	if err != nil {
		return err
	}
	defer sc.stop()
	ns, ss, t := sc.ns, sc.names, sc.t
	c, start := b.snapshot(), time.Now()
	b.createAll(ctx, ss, func(s string) error { return b.kube.Create(ctx, vdiSession(ns, s)) })
	// A burst that does not finish is still reported: how many got to
	// Running, and what it cost meanwhile.
	werr := t.xr.Wait(ctx, ss, running, 12*time.Minute)
	r := b.burstResult(name, "vdi", t.xr, ss, start)
	r.Cost = b.cost(c, start, n)
	r.Hops = b.hops(t, ns, ss)
	b.res.Bursts = append(b.res.Bursts, r)
	b.heapProfile(ctx, name)
	if werr != nil {
		return werr
	}
	b.note("%s: claim→Running p50 %.2fs p99 %.2fs max %.2fs, all Running after %.2fs", name, r.ClaimToRunning.P50, r.ClaimToRunning.P99, r.ClaimToRunning.Max, r.AllRunningS)
	if keep && b.k.scenarios["idle"] {
		if err := b.idle(ctx, ns, n); err != nil {
			return err
		}
	}
	d, err := b.teardown(ctx, "vdi", ns, ss)
	if keep && b.k.scenarios["teardown"] {
		b.res.TeardownS = d.Seconds()
		b.note("teardown of %d sessions: %.2fs", n, d.Seconds())
	}
	return err
}

// heapProfile saves the provider's heap profile, with its n sessions
// Running, as _output/bench/provider-heap-<name>.pb.gz, for
// `go tool pprof`: what the provider's memory holds.
func (b *bench) heapProfile(ctx context.Context, name string) {
	f := filepath.Join(b.root, "_output", "bench", "provider-heap-"+name+".pb.gz")
	if err := fetch(ctx, "http://"+b.env.ProviderPprof+"/debug/pprof/heap", f); err != nil {
		b.note("cannot save the provider's heap profile: %v", err)
		return
	}
	b.note("%s: the provider's heap profile is %s", name, f)
}

// fetch saves what url answers in file f.
func fetch(ctx context.Context, url, f string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer rsp.Body.Close() //nolint:errcheck // Only read.
	if rsp.StatusCode != http.StatusOK {
		return errors.Errorf("%s answered %s", url, rsp.Status)
	}
	body, err := io.ReadAll(rsp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(f, body, 0o600)
}

// createAll runs create for every name at once.
func (b *bench) createAll(ctx context.Context, ss []string, create func(string) error) {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := create(s); err != nil && ctx.Err() == nil {
				b.note("cannot create %s: %v", s, err)
			}
		}()
	}
	wg.Wait()
}

// burstResult summarises claim→Running: claim is the session's creation as
// the watch saw it (its ADDED event), Running the first watch event with
// status.phase Running.
func (b *bench) burstResult(name, kind string, t *measure.Tracker, ss []string, start time.Time) burst {
	ds := t.Durations(ss, measure.Added, running)
	var byTS []time.Duration
	last := start
	for _, s := range ss {
		at, ok := t.Time(s, running)
		if !ok {
			continue
		}
		if at.After(last) {
			last = at
		}
		byTS = append(byTS, at.Sub(t.Created(s)))
	}
	r := burst{Name: name, Kind: kind, N: len(ss), Running: len(byTS), ClaimToRunning: measure.Summarize(ds), ClaimToRunningByCreationTimestamp: measure.Summarize(byTS), AllRunningS: last.Sub(start).Seconds()}
	for _, d := range ds {
		r.Seconds = append(r.Seconds, d.Seconds())
	}
	return r
}

// peer runs a peer: the same four objects per session, composed by
// Crossplane, n at once.
func (b *bench) peer(ctx context.Context, kind string) error {
	n := b.k.peerN
	ns := kind
	gvr := map[string]schema.GroupVersionResource{"raw": gvrRaw, "object": gvrObjectSession}[kind]
	t, stop, err := b.track(ctx, ns, n, gvr)
	if err != nil {
		return err
	}
	defer stop()
	ss := names("s", n)
	c := b.snapshot()
	start := time.Now()
	b.createAll(ctx, ss, func(s string) error {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": gvr.Group + "/" + gvr.Version, "kind": map[string]string{"raw": "RawSession", "object": "ObjectSession"}[kind],
			"metadata": map[string]any{"namespace": ns, "name": s}, "spec": map[string]any{},
		}}
		return b.kube.Create(ctx, u)
	})
	if err := t.Wait(ctx, ss, running, 15*time.Minute); err != nil {
		return err
	}
	r := b.burstResult(kind, kind, t, ss, start)
	r.Cost = b.cost(c, start, n)
	b.note("%s: claim→Running p50 %.2fs p99 %.2fs max %.2fs, all Running after %.2fs", kind, r.ClaimToRunning.P50, r.ClaimToRunning.P99, r.ClaimToRunning.Max, r.AllRunningS)
	d, err := b.teardown(ctx, kind, ns, ss)
	r.TeardownS = d.Seconds()
	b.res.Bursts = append(b.res.Bursts, r)
	return err
}

// floor creates the four objects of n sessions with client-go, all at once
// when every is zero, else one session every so often, and measures from
// the first create sent to the Pod's Running: what the cluster itself takes,
// which nothing composed on it can beat.
func (b *bench) floor(ctx context.Context, name string, n int, every time.Duration) error {
	ns := name
	t, stop, err := b.track(ctx, ns, n, gvrPod)
	if err != nil {
		return err
	}
	defer stop()
	ss := names("s", n)
	pods := make([]string, n)
	for i, s := range ss {
		pods[i] = s + "-desktop"
	}
	c := b.snapshot()
	start := time.Now()
	sent := make([]time.Time, n)
	var wg sync.WaitGroup
	for i, s := range ss {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		wg.Go(func() {
			sent[i] = time.Now()
			if err := b.createObjects(ctx, ns, s); err != nil && ctx.Err() == nil {
				b.note("cannot create %s: %v", s, err)
			}
		})
	}
	wg.Wait()
	if err := t.Wait(ctx, pods, running, 15*time.Minute); err != nil {
		return err
	}
	r := b.burstResult(name, "floor", t, pods, start)
	// A user of the floor applies the objects: claim is when the first
	// create was sent.
	var ds []time.Duration
	for i := range ss {
		at, _ := t.Time(pods[i], running)
		ds = append(ds, at.Sub(sent[i]))
	}
	r.ClaimToRunning, r.Seconds = measure.Summarize(ds), nil
	for _, d := range ds {
		r.Seconds = append(r.Seconds, d.Seconds())
	}
	r.Cost = b.cost(c, start, n)
	b.note("%s: claim→Running p50 %.2fs p99 %.2fs max %.2fs, all Running after %.2fs", name, r.ClaimToRunning.P50, r.ClaimToRunning.P99, r.ClaimToRunning.Max, r.AllRunningS)
	d, err := b.teardownFloor(ctx, ns, ss)
	r.TeardownS = d.Seconds()
	b.res.Bursts = append(b.res.Bursts, r)
	return err
}

// track makes namespace ns with n volumes Available for its claims and
// watches the objects of gvr in it for Running; stop ends the watch.
func (b *bench) track(ctx context.Context, ns string, n int, gvr schema.GroupVersionResource) (t *measure.Tracker, stop func(), err error) {
	if err := b.namespace(ctx, ns); err != nil {
		return nil, nil, err
	}
	if err := b.volumes(ctx, n); err != nil {
		return nil, nil, err
	}
	tctx, cancel := context.WithCancel(ctx)
	t, err = measure.Track(tctx, b.dyn, gvr, ns, map[string]measure.Mark{running: isRunning})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return t, cancel, nil
}

// createObjects creates the four objects of floor session s.
func (b *bench) createObjects(ctx context.Context, ns, s string) error {
	for _, rn := range []string{"pvc", "service", "route", "pod"} {
		u, err := manifest.Instance(b.objects[rn], placeholder, s, ns)
		if err != nil {
			return err
		}
		if err := b.kube.Create(ctx, u); err != nil {
			return errors.Wrapf(err, "cannot create %s of %s", rn, s)
		}
	}
	return nil
}

// teardown deletes the sessions and returns how long until every object
// they made is gone.
func (b *bench) teardown(ctx context.Context, kind, ns string, ss []string) (time.Duration, error) {
	gvr := map[string]schema.GroupVersionResource{"vdi": gvrSession, "raw": gvrRaw, "object": gvrObjectSession}[kind]
	start := time.Now()
	b.createAll(ctx, ss, func(s string) error {
		return b.dyn.Resource(gvr).Namespace(ns).Delete(ctx, s, metav1.DeleteOptions{})
	})
	return b.gone(ctx, kind, ns, start)
}

func (b *bench) teardownFloor(ctx context.Context, ns string, ss []string) (time.Duration, error) {
	start := time.Now()
	b.createAll(ctx, ss, func(s string) error {
		for _, rn := range []string{"pod", "pvc", "service", "route"} {
			u, err := manifest.Instance(b.objects[rn], placeholder, s, ns)
			if err != nil {
				return err
			}
			if err := b.kube.Delete(ctx, u); err != nil && !kerrors.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	return b.gone(ctx, "floor", ns, start)
}

func (b *bench) gone(ctx context.Context, kind, ns string, start time.Time) (time.Duration, error) {
	at, err := measure.Gone(ctx, 10*time.Minute, func(ctx context.Context) (int, error) {
		n := 0
		for _, gvr := range leftovers[kind] {
			l, err := b.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, err
			}
			n += len(l.Items)
		}
		return n, nil
	})
	return at.Sub(start), err
}

// steady creates sessions at the knob's rate for its duration and
// measures claim→Running of each.
func (b *bench) steady(ctx context.Context) error {
	ns := "steady"
	n := int(b.k.rate * b.k.steady.Seconds())
	sc, err := b.prepare(ctx, ns, n)
	if err != nil {
		return err
	}
	defer sc.stop()
	ss, t := sc.names, sc.t
	c, start := b.snapshot(), time.Now()
	every := time.Duration(float64(time.Second) / b.k.rate)
	var wg sync.WaitGroup
	for i, s := range ss {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.kube.Create(ctx, vdiSession(ns, s)); err != nil {
				b.note("cannot create %s: %v", s, err)
			}
		}()
	}
	wg.Wait()
	if err := t.xr.Wait(ctx, ss, running, 10*time.Minute); err != nil {
		return err
	}
	r := b.burstResult("steady", "vdi", t.xr, ss, start)
	r.Cost = b.cost(c, start, n)
	r.Hops = b.hops(t, ns, ss)
	r.Seconds = nil
	b.res.Steady = &r
	b.note("steady %.1f/s for %s: claim→Running p50 %.2fs p99 %.2fs max %.2fs", b.k.rate, b.k.steady, r.ClaimToRunning.P50, r.ClaimToRunning.P99, r.ClaimToRunning.Max)
	_, err = b.teardown(ctx, "vdi", ns, ss)
	return err
}

// settle waits until no write that counts (see ours and cluster) has been
// sent for quiet, as the audit log shows, or until limit has passed, and
// returns how long it waited. who names the writers in its notes.
func (b *bench) settle(ctx context.Context, who string, counts func(auditEvent) bool, quiet, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	var offset int64
	if fi, err := os.Stat(b.audit); err == nil {
		offset = fi.Size()
	}
	last, said := start, start
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		at, next, err := b.lastWrite(offset, counts)
		if err != nil {
			return 0, err
		}
		offset = next
		if at.After(last) {
			last = at
		}
		now := time.Now()
		switch {
		case now.Sub(last) >= quiet:
			b.note("no write by %s for %s, after %s", who, quiet, now.Sub(start).Round(time.Second))
			return now.Sub(start), nil
		case now.Sub(start) >= limit:
			b.note("%s still writing after %s (last %s ago); measuring anyway", who, limit, now.Sub(last).Round(time.Second))
			return now.Sub(start), nil
		case now.Sub(said) >= 30*time.Second:
			b.note("waiting for %s to settle: last write %s ago", who, now.Sub(last).Round(time.Second))
			said = now
		}
	}
}

// ours counts the writes of Crossplane, provider-vdi and function-vdi.
func ours(e auditEvent) bool { return isOurs(clientOf(e.UserAgent, e.User.Username)) }

// cluster counts the writes of every controller that acts on sessions or
// their objects: ours, the controller-manager's (such as the volume
// controllers still deleting the last scenario's volumes), the scheduler's
// and provider-kubernetes'; not leases and events, which controllers write
// at rest, nor kwok's node heartbeats or this benchmark's own.
func cluster(e auditEvent) bool {
	if e.ObjectRef != nil && (e.ObjectRef.Resource == "leases" || e.ObjectRef.Resource == "events") {
		return false
	}
	switch clientOf(e.UserAgent, e.User.Username) {
	case "kwok", "kube-apiserver", benchUserAgent:
		return false
	}
	return true
}

func (b *bench) lastWrite(offset int64, counts func(auditEvent) bool) (time.Time, int64, error) {
	f, err := os.Open(b.audit)
	if err != nil {
		return time.Time{}, offset, errors.Wrap(err, "cannot open the audit log")
	}
	defer f.Close() //nolint:errcheck // Read only.
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return time.Time{}, offset, errors.Wrap(err, "cannot read the audit log")
	}
	var last time.Time
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			// A partial last line is read again next time.
			return last, offset, nil
		}
		offset += int64(len(line))
		var e auditEvent
		if json.Unmarshal(line, &e) != nil || e.Stage != "ResponseComplete" || !writeVerbs[e.Verb] || !counts(e) {
			continue
		}
		if e.Received.After(last) {
			last = e.Received
		}
	}
}

// idle counts the API writes made while n sessions stay Running.
func (b *bench) idle(ctx context.Context, ns string, n int) error {
	// Let Crossplane drain what the burst queued first: after a saturated
	// 100-burst its last runs of the sessions came up to two minutes after
	// the last session went Running (a fixed 90 s wait once left 956 of
	// them in the window).
	settled, err := b.settle(ctx, "Crossplane or the provider", ours, 30*time.Second, 5*time.Minute)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := map[string]*measure.Changes{}
	for _, gvr := range leftovers["vdi"] {
		ch, err := measure.CountChanges(cctx, b.dyn, gvr, ns)
		if err != nil {
			return err
		}
		changes[gvr.Resource] = ch
	}
	c := b.snapshot()
	start := time.Now()
	b.note("idle: %d sessions Running for %s", n, b.k.idle)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.k.idle):
	}
	cost := b.cost(c, start, n)
	b.res.Idle = &idle{Sessions: n, WindowS: b.k.idle.Seconds(), Namespace: ns, SettledS: settled.Seconds(), Cost: cost, Changes: map[string]int{}}
	// Each desktop Pod's links are signed anew at the boundaries of its
	// own windows (gate.WindowStart), one Secret patch each.
	pods, err := b.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return errors.Wrap(err, "cannot list the desktop Pods")
	}
	end := time.Now()
	for _, p := range pods.Items {
		uid := string(p.UID)
		b.res.Idle.LinkBoundaries += int(gate.WindowStart(uid, end).Sub(gate.WindowStart(uid, start)) / gate.Window)
	}
	total := 0
	for r, ch := range changes {
		b.res.Idle.Changes[r] = ch.N()
		total += ch.N()
	}
	b.res.Idle.ChangesPerSessionPer10Min = float64(total) / float64(n) / (b.k.idle.Minutes() / 10)
	ours, elsewhere := 0, 0
	for client, byNamespace := range cost.Requests.WritesByNamespace {
		if !isOurs(client) {
			continue
		}
		for namespace, v := range byNamespace {
			if namespace == ns {
				ours += v
			} else {
				elsewhere += v
			}
		}
	}
	b.res.Idle.WritesPerSessionPer10Min = float64(ours) / float64(n) / (b.k.idle.Minutes() / 10)
	b.res.Idle.ElsewherePer10Min = float64(elsewhere) / (b.k.idle.Minutes() / 10)
	return nil
}

// hops breaks claim→Running of sessions down: session created (watch),
// first composing RunFunction (function log), Desktop created, Pod created
// (by the provider), Pod scheduled, Pod Running, Desktop Ready, session
// Running.
func (b *bench) hops(t tracers, ns string, ss []string) []hop {
	composed := b.functionCompose()
	points := []string{"session created", "first RunFunction composes", "Desktop MR created", "provider creates Pod", "Pod scheduled", "Pod Running", "Desktop Ready", "all four MRs Ready", "session Running"}
	at := func(s string) []time.Time {
		pod := s + "-desktop"
		get := func(tr *measure.Tracker, name, mark string) time.Time { v, _ := tr.Time(name, mark); return v }
		last, _ := t.lastReady(s)
		return []time.Time{
			get(t.xr, s, measure.Added), composed[ns+"/"+s], get(t.desktop, s+"-desktop", measure.Added),
			get(t.pod, pod, measure.Added), get(t.pod, pod, "scheduled"), get(t.pod, pod, running),
			get(t.desktop, s+"-desktop", "ready"), last, get(t.xr, s, running),
		}
	}
	out := make([]hop, 0, len(points)-1)
	for i := 1; i < len(points); i++ {
		var ds, cum []time.Duration
		for _, s := range ss {
			ts := at(s)
			if ts[i].IsZero() || ts[i-1].IsZero() || ts[0].IsZero() {
				continue
			}
			ds = append(ds, ts[i].Sub(ts[i-1]))
			cum = append(cum, ts[i].Sub(ts[0]))
		}
		out = append(out, hop{From: points[i-1], To: points[i], Hop: measure.Summarize(ds), SinceCreated: measure.Summarize(cum)})
	}
	// Which managed resource was Ready last, how often.
	lastBy := map[string]int{}
	for _, s := range ss {
		if _, which := t.lastReady(s); which != "" {
			lastBy[which]++
		}
	}
	for i := range out {
		if out[i].To == "all four MRs Ready" {
			out[i].LastReady = lastBy
		}
	}
	return out
}

// functionCompose reads, from function-vdi's debug log, when each session
// was first composed (its second RunFunction; the first only asks for the
// template).
func (b *bench) functionCompose() map[string]time.Time {
	out := map[string]time.Time{}
	f, err := os.Open(filepath.Join(b.dir, "function.log"))
	if err != nil {
		return out
	}
	defer f.Close() //nolint:errcheck // Read only.
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "Composed VDISession") {
			continue
		}
		fields := strings.Split(line, "\t")
		at, err := time.Parse("2006-01-02T15:04:05.000Z0700", fields[0])
		if err != nil {
			continue
		}
		var kv struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		}
		if json.Unmarshal([]byte(fields[len(fields)-1]), &kv) != nil {
			continue
		}
		if _, seen := out[kv.Namespace+"/"+kv.Name]; !seen {
			out[kv.Namespace+"/"+kv.Name] = at
		}
	}
	return out
}
