//go:build bench

package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/test/measure"
)

type results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Commit   string    `json:"commit"`
	Machine  string    `json:"machine"`
	// Load is the load average before each scenario.
	Load   []string `json:"load"`
	Knobs  string   `json:"knobs"`
	Single []hop    `json:"single_hops,omitempty"`
	Bursts []burst  `json:"bursts,omitempty"`
	Steady *burst   `json:"steady,omitempty"`
	Idle   *idle    `json:"idle,omitempty"`
	// TeardownS is how long until every object of the 100 sessions
	// deleted at once is gone.
	TeardownS float64 `json:"teardown_100_s,omitempty"`
	// Durations are how long each scenario took, teardown included.
	Durations []string `json:"durations"`
	// Failed are the scenarios that did not finish, with why.
	Failed map[string]string `json:"failed,omitempty"`
}

type burst struct {
	Name string `json:"name"`
	// Kind is vdi (ours), floor, raw (Crossplane composing the objects
	// themselves) or object (provider-kubernetes Objects).
	Kind string `json:"kind"`
	N    int    `json:"n"`
	// Running is how many reached Running (N unless the scenario failed).
	Running int `json:"running"`
	// ClaimToRunning is from the session's ADDED watch event to the first
	// watch event with status.phase Running; for the floor, from the first
	// create sent to the Pod's Running.
	ClaimToRunning measure.Summary `json:"claim_to_running"`
	// ClaimToRunningByCreationTimestamp counts from creationTimestamp,
	// which has one-second resolution.
	ClaimToRunningByCreationTimestamp measure.Summary `json:"claim_to_running_by_creation_timestamp"`
	// AllRunningS is from the first create sent to the last Running.
	AllRunningS float64   `json:"all_running_s"`
	TeardownS   float64   `json:"teardown_s,omitempty"`
	Seconds     []float64 `json:"claim_to_running_s,omitempty"`
	Hops        []hop     `json:"hops,omitempty"`
	Cost        cost      `json:"cost"`
}

type hop struct {
	From         string          `json:"from"`
	To           string          `json:"to"`
	Hop          measure.Summary `json:"hop"`
	SinceCreated measure.Summary `json:"since_created"`
	// LastReady counts, for the hop to all four managed resources Ready,
	// which was Ready last.
	LastReady map[string]int `json:"last_ready,omitempty"`
}

type idle struct {
	Sessions int     `json:"sessions"`
	WindowS  float64 `json:"window_s"`
	// Namespace of the sessions.
	Namespace string `json:"namespace"`
	// SettledS is how long the window waited, after the burst, for
	// Crossplane and the provider to send no write for 30 s.
	SettledS float64 `json:"settled_s"`
	// LinkBoundaries is how many boundaries of the desktop Pods' link
	// windows the window held, summed over the Pods: at each the provider
	// signs that Pod's link anew, one Secret patch. Each Pod's windows
	// have an offset of their own (gate.WindowStart), so a window of
	// length w holds about sessions × w / gate.Window of them.
	LinkBoundaries int `json:"link_boundaries"`
	// WritesPerSessionPer10Min are the write requests of Crossplane,
	// provider-vdi and function-vdi on objects in the sessions' namespace:
	// the sessions, their managed resources, the objects those make, their
	// Secrets and their events.
	WritesPerSessionPer10Min float64 `json:"writes_per_session_per_10min"`
	// ElsewherePer10Min are their write requests on objects anywhere else
	// (cluster-scoped, or in another namespace: packages and their events,
	// leases), per 10 minutes, not per session: they do not grow with the
	// sessions.
	ElsewherePer10Min float64 `json:"elsewhere_writes_per_10min"`
	// Changes are the writes that changed an object of the sessions'
	// namespace (watch MODIFIED events), by resource: a write request that
	// changes nothing (a no-op server-side apply) is counted in Cost but
	// not here.
	Changes                   map[string]int `json:"changes"`
	ChangesPerSessionPer10Min float64        `json:"changes_per_session_per_10min"`
	Cost                      cost           `json:"cost"`
}

func (b *bench) report() error {
	r := &b.res
	r.Finished = time.Now().UTC()
	r.Load = b.load
	r.Machine = machine()
	r.Knobs = fmt.Sprintf("scenarios=%s idle=%s steady=%s rate=%g peer_n=%d big_n=%d", strings.Join(b.k.list(), ","), b.k.idle, b.k.steady, b.k.rate, b.k.peerN, b.k.bigN)
	r.Knobs += fmt.Sprintf(" crossplane_sync_interval=%s", cmp.Or(b.k.xpSync, controlplane.DefaultCrossplaneSyncInterval))
	r.Knobs += fmt.Sprintf(" crossplane_max_concurrent_reconciles=%d", cmp.Or(b.k.xpConcurrency, controlplane.DefaultCrossplaneConcurrency))
	if out, err := exec.Command("git", "-C", b.root, "describe", "--always", "--dirty").Output(); err == nil {
		r.Commit = strings.TrimSpace(string(out))
	}
	jf, err := b.save()
	if err != nil {
		return err
	}
	b.note("results in %s", jf)
	out := filepath.Dir(jf)
	png := filepath.Join(out, "cdf.png")
	if b.k.docs {
		png = filepath.Join(b.root, "docs", "bench-cdf.png")
	}
	if err := b.plot(png); err != nil {
		return err
	}
	if b.k.docs {
		if err := b.writeDocs(filepath.Join(b.root, "docs", "benchmarks.md")); err != nil {
			return err
		}
	}
	for _, l := range b.lines() {
		fmt.Println(l)
	}
	if os.Getenv("BENCH_KEEP") == "1" {
		b.note("logs and audit log kept in %s", b.dir)
		return nil
	}
	_ = os.RemoveAll(b.dir)
	return nil
}

// save writes the results so far to _output/bench/e2e-<start>.json and
// returns its path. It runs after each scenario too, so that a run cut
// short keeps what it measured.
func (b *bench) save() (string, error) {
	out := filepath.Join(b.root, "_output", "bench")
	if err := os.MkdirAll(out, 0o750); err != nil {
		return "", errors.Wrap(err, "cannot make output folder")
	}
	j, err := json.MarshalIndent(&b.res, "", "  ")
	if err != nil {
		return "", errors.Wrap(err, "cannot encode results")
	}
	jf := filepath.Join(out, "e2e-"+b.res.Started.Format("20060102T150405Z")+".json")
	return jf, errors.Wrap(os.WriteFile(jf, j, 0o600), "cannot write results")
}

func (k knobs) list() []string {
	var l []string
	for _, s := range allScenarios {
		if k.scenarios[s] {
			l = append(l, s)
		}
	}
	return l
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d vCPU %s, %s/%s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func (b *bench) burst(name string) *burst {
	for i := range b.res.Bursts {
		if b.res.Bursts[i].Name == name {
			return &b.res.Bursts[i]
		}
	}
	return nil
}

var labels = map[string]string{"burst100": "provider-vdi", "floor": "floor (client-go)", "raw": "Crossplane, raw objects", "object": "provider-kubernetes Objects"}

// plot draws the CDF of claim→Running of the 100-burst: ours, the floor
// and the peers.
func (b *bench) plot(file string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("claim→Running, %d sessions applied at once", b.k.peerN)
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = "fraction Running"
	p.Add(plotter.NewGrid())
	colors := []color.Color{color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 255, G: 127, B: 14, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255}}
	for i, name := range []string{"burst100", "floor", "raw", "object"} {
		r := b.burst(name)
		if r == nil || len(r.Seconds) == 0 {
			continue
		}
		s := slices.Clone(r.Seconds)
		sort.Float64s(s)
		pts := make(plotter.XYs, 0, 2*len(s)+1)
		pts = append(pts, plotter.XY{X: 0, Y: 0})
		for j, x := range s {
			pts = append(pts, plotter.XY{X: x, Y: float64(j) / float64(len(s))}, plotter.XY{X: x, Y: float64(j+1) / float64(len(s))})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return errors.Wrap(err, "cannot draw line")
		}
		l.Color = colors[i]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(labels[name], l)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(5)
	p.Legend.YOffs = vg.Points(5)
	p.Y.Min, p.Y.Max = 0, 1
	_ = draw.PosRight
	return errors.Wrap(p.Save(7*vg.Inch, 4*vg.Inch, file), "cannot save picture")
}

// lines are the `bench: NAME VALUE UNIT` lines.
func (b *bench) lines() []string {
	var l []string
	add := func(name string, v float64, unit string) {
		l = append(l, fmt.Sprintf("bench: %s %.3f %s", name, v, unit))
	}
	for _, name := range []string{"burst20", "burst100", "burst300"} {
		if r := b.burst(name); r != nil {
			add(name+"_p50_s", r.ClaimToRunning.P50, "s")
			add(name+"_p99_s", r.ClaimToRunning.P99, "s")
			add(name+"_max_s", r.ClaimToRunning.Max, "s")
			add(name+"_all_running_s", r.AllRunningS, "s")
			if r.Running < r.N {
				add(name+"_running", float64(r.Running), "sessions")
			}
		}
	}
	for name, key := range map[string]string{"floor": "burst100_floor", "raw": "burst100_crossplane_raw", "object": "burst100_provider_kubernetes"} {
		if r := b.burst(name); r != nil {
			add(key+"_p99_s", r.ClaimToRunning.P99, "s")
			add(key+"_all_running_s", r.AllRunningS, "s")
		}
	}
	if r := b.burst("floor20"); r != nil {
		add("burst20_floor_p99_s", r.ClaimToRunning.P99, "s")
		add("burst20_floor_all_running_s", r.AllRunningS, "s")
	}
	if s := b.res.Steady; s != nil {
		add("steady_p50_s", s.ClaimToRunning.P50, "s")
		add("steady_p99_s", s.ClaimToRunning.P99, "s")
	}
	if r := b.burst("floorsteady"); r != nil {
		add("steady_floor_p50_s", r.ClaimToRunning.P50, "s")
		add("steady_floor_p99_s", r.ClaimToRunning.P99, "s")
	}
	if r := b.burst("burst100"); r != nil {
		w, all := 0.0, 0.0
		for client, byKey := range r.Cost.Requests.Writes {
			for _, v := range byKey {
				all += float64(v)
				if isOurs(client) {
					w += float64(v)
				}
			}
		}
		add("writes_per_session", w/float64(r.N), "writes")
		total := 0.0
		for client, byKey := range r.Cost.Requests.PerSession {
			if isOurs(client) {
				for _, v := range byKey {
					total += v
				}
			}
		}
		add("requests_per_session", total, "requests")
		add("provider_cpu_s_per_100", r.Cost.CPUSecondsPer100["provider"], "s")
		add("crossplane_cpu_s_per_100", r.Cost.CPUSecondsPer100["crossplane"], "s")
		add("function_cpu_s_per_100", r.Cost.CPUSecondsPer100["function"], "s")
	}
	if i := b.res.Idle; i != nil {
		add("idle_writes_per_session_per_10min", i.WritesPerSessionPer10Min, "writes")
		add("idle_changes_per_session_per_10min", i.ChangesPerSessionPer10Min, "changes")
	}
	if b.res.TeardownS > 0 {
		add("teardown100_s", b.res.TeardownS, "s")
	}
	add("failed_scenarios", float64(len(b.res.Failed)), "scenarios")
	add("run_minutes", b.res.Finished.Sub(b.res.Started).Minutes(), "min")
	if r := b.burst("burst300"); r != nil {
		add("provider_rss_mb_300", r.Cost.PeakRSSMiB["provider"], "MiB")
		add("crossplane_rss_mb_300", r.Cost.PeakRSSMiB["crossplane"], "MiB")
		add("function_rss_mb_300", r.Cost.PeakRSSMiB["function"], "MiB")
	}
	return l
}
