//go:build bench

package main

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/gate"
)

// Markers of the section of docs/benchmarks.md that the benchmark writes.
const (
	beginMarker = "<!-- bench-e2e:begin (written by make bench-e2e; edit test/bench/e2e/docs.go) -->"
	endMarker   = "<!-- bench-e2e:end -->"
)

// writeDocs replaces the generated section of docs/benchmarks.md.
func (b *bench) writeDocs(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return errors.Wrapf(err, "cannot read %s", file)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i < 0 || j < i {
		return errors.Errorf("%s has no %q … %q section", file, beginMarker, endMarker)
	}
	doc = doc[:i] + beginMarker + "\n" + b.markdown() + endMarker + doc[j+len(endMarker):]
	return errors.Wrapf(os.WriteFile(file, []byte(doc), 0o644), "cannot write %s", file) //nolint:gosec // A document.
}

func (b *bench) markdown() string {
	r := &b.res
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("")
	p("Run %s → %s UTC, commit `%s`, %s. Knobs: `%s`.", r.Started.Format("2006-01-02 15:04"), r.Finished.Format("15:04"), r.Commit, r.Machine, r.Knobs)
	p("Load average (1, 5, 15 min) before each scenario: %s. Each scenario took (teardown included): %s.", strings.Join(r.Load, "; "), strings.Join(r.Durations, ", "))
	for _, name := range slices.Sorted(maps.Keys(r.Failed)) {
		p("")
		p("**Scenario %s did not finish:** %s", name, r.Failed[name])
	}
	p("")
	p("### Claim→Running")
	p("")
	p("| scenario | sessions | p50 | p99 | max | all Running | teardown |")
	p("|---|---|---|---|---|---|---|")
	for _, x := range r.Bursts {
		if x.Name == "floorsteady" {
			continue
		}
		td := "–"
		if x.TeardownS > 0 {
			td = fmt.Sprintf("%.1f s", x.TeardownS)
		}
		n := fmt.Sprint(x.N)
		all := fmt.Sprintf("%.1f s", x.AllRunningS)
		if x.Running < x.N {
			n = fmt.Sprintf("%d (%d Running)", x.N, x.Running)
			all = "not all"
		}
		p("| %s | %s | %.2f s | %.2f s | %.2f s | %s | %s |", title(x), n, x.ClaimToRunning.P50, x.ClaimToRunning.P99, x.ClaimToRunning.Max, all, td)
	}
	if s := r.Steady; s != nil {
		p("| provider-vdi, steady arrival (%s) | %d | %.2f s | %.2f s | %.2f s | – | – |", b.k.steadyLabel(), s.N, s.ClaimToRunning.P50, s.ClaimToRunning.P99, s.ClaimToRunning.Max)
	}
	if s := b.burst("floorsteady"); s != nil {
		p("| floor, steady arrival (%s) | %d | %.2f s | %.2f s | %.2f s | – | %.1f s |", b.k.steadyLabel(), s.N, s.ClaimToRunning.P50, s.ClaimToRunning.P99, s.ClaimToRunning.Max, s.TeardownS)
	}
	if r.TeardownS > 0 {
		p("")
		p("Teardown: 100 Running sessions deleted at once; every Pod, PVC, Service, IngressRoute, NetworkPolicy, Secret and managed resource gone after **%.1f s**.", r.TeardownS)
	}
	p("")
	p("![claim→Running CDF](bench-cdf.png)")
	p("")
	if len(r.Single) > 0 {
		p("### Where the seconds go")
		p("")
		p("Each hop's p50 / p99 over the sessions, and the time since the session was created (p50 / p99) at its end.")
		p("")
		cols := []string{"one session"}
		sets := [][]hop{r.Single}
		if x := b.burst("burst100"); x != nil && len(x.Hops) > 0 {
			cols, sets = append(cols, "100-burst"), append(sets, x.Hops)
		}
		if r.Steady != nil && len(r.Steady.Hops) > 0 {
			cols, sets = append(cols, "steady"), append(sets, r.Steady.Hops)
		}
		p("| hop | %s |", strings.Join(cols, " | "))
		p("|---|%s", strings.Repeat("---|", len(cols)))
		for i, h := range r.Single {
			var cells []string
			for _, set := range sets {
				if i < len(set) {
					cells = append(cells, fmt.Sprintf("%.2f / %.2f (at %.2f / %.2f)", set[i].Hop.P50, set[i].Hop.P99, set[i].SinceCreated.P50, set[i].SinceCreated.P99))
				}
			}
			p("| %s → %s | %s |", h.From, h.To, strings.Join(cells, " | "))
		}
		for i, set := range sets {
			for _, h := range set {
				if len(h.LastReady) > 0 {
					p("")
					p("Ready last (%s): %s.", cols[i], changesList(h.LastReady))
				}
			}
		}
		p("")
	}
	p("### Cost per session")
	p("")
	p("API requests per session while the burst comes up (from the first create to the last Running), by client, from the API server's audit log; the audit log's count and `apiserver_request_total`'s agree to within the requests in flight at the window's edges. Refused: answered with an error other than 404, by HTTP status (409: a write from a stale copy; 429: too many requests in flight; 504: timed out).")
	p("")
	p("| scenario | client | requests / session | writes / session | refused / session | top requests / session |")
	p("|---|---|---|---|---|---|")
	for _, x := range r.Bursts {
		if x.Name != "burst100" && x.Kind == "vdi" || x.Name != "floor" && x.Kind == "floor" {
			continue
		}
		for _, client := range slices.Sorted(maps.Keys(x.Cost.Requests.PerSession)) {
			if client == benchUserAgent {
				continue
			}
			total, writes := 0.0, 0.0
			for _, v := range x.Cost.Requests.PerSession[client] {
				total += v
			}
			for _, v := range x.Cost.Requests.Writes[client] {
				writes += float64(v) / float64(x.N)
			}
			if total < 0.05 {
				continue
			}
			p("| %s | %s | %.1f | %.1f | %s | %s |", title(x), client, total, writes, refused(x.Cost.Requests.Refused[client]), top(x.Cost.Requests.PerSession[client], 4, "%.1f"))
		}
		p("| %s | (audit / metrics, all clients) | %d / %.0f | | | |", title(x), x.Cost.Requests.AuditTotal, x.Cost.Requests.MetricsTotal)
	}
	p("")
	p("CPU seconds per 100 sessions and peak resident memory (VmHWM, reset before each scenario) of each process:")
	p("")
	p("| scenario | %s |", strings.Join(components, " | "))
	p("|---|%s", strings.Repeat("---|", len(components)))
	for _, x := range r.Bursts {
		var cells []string
		for _, c := range components {
			if _, ok := x.Cost.CPUSecondsPer100[c]; !ok {
				cells = append(cells, "–")
				continue
			}
			cells = append(cells, fmt.Sprintf("%.1f s, %.0f MiB", x.Cost.CPUSecondsPer100[c], x.Cost.PeakRSSMiB[c]))
		}
		p("| %s | %s |", title(x), strings.Join(cells, " | "))
	}
	if i := r.Idle; i != nil {
		p("")
		p("### Idle")
		p("")
		p("%d sessions Running for %.0f s, from the moment Crossplane and the provider had sent no write for 30 s (%.0f s after the last session went Running), realtime compositions on (as shipped): **%.2f writes per session per 10 minutes** by Crossplane, provider-vdi and function-vdi on objects of the sessions' namespace, and %.1f writes per 10 minutes (not per session: they do not grow with the sessions) by them elsewhere (%s).", i.Sessions, i.WindowS, i.SettledS, i.WritesPerSessionPer10Min, i.ElsewherePer10Min, elsewhereList(i.Cost.Requests.WritesByNamespace, i.Namespace))
		p("")
		p("The provider signs each desktop's link anew every %s, each desktop at its own point of those %s (one Secret patch at its next reconcile), so over hours the links cost %.2f writes per session per 10 minutes; the window held %d of these points (%.1f expected for %d sessions in %.0f s).", gate.Window, gate.Window, float64(10*time.Minute)/float64(gate.Window), i.LinkBoundaries, float64(i.Sessions)*i.WindowS/gate.Window.Seconds(), i.Sessions, i.WindowS)
		p("")
		p("Of those write requests, %.2f per session per 10 minutes changed an object (watch events on the sessions' namespace: %s); the rest were server-side applies that changed nothing.", i.ChangesPerSessionPer10Min, changesList(i.Changes))
		p("")
		p("| client | writes in the window |")
		p("|---|---|")
		for _, client := range slices.Sorted(maps.Keys(i.Cost.Requests.Writes)) {
			n := 0
			for _, v := range i.Cost.Requests.Writes[client] {
				n += v
			}
			p("| %s | %d (%s) |", client, n, top(i.Cost.Requests.Writes[client], 4, "%d"))
		}
	}
	p("")
	return w.String()
}

func (k knobs) steadyLabel() string { return fmt.Sprintf("%g/s for %s", k.rate, k.steady) }

func title(x burst) string {
	switch x.Kind {
	case "vdi":
		return "provider-vdi, " + x.Name
	case "floor":
		switch x.Name {
		case "floor20":
			return "floor, burst20: the four objects with client-go"
		case "floorsteady":
			return "floor, steady arrival: the four objects with client-go"
		}
		return "floor: the four objects with client-go"
	case "raw":
		return "peer: Crossplane composing the raw objects"
	case "object":
		return "peer: provider-kubernetes Objects"
	}
	return x.Name
}

// top lists the n keys of m of the largest values, largest first (equal
// values in key order), each with its value in the fmt verb.
func top[V int | float64](m map[string]V, n int, verb string) string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%s "+verb, k, m[k]))
	}
	return strings.Join(out, ", ")
}

// listed lists the entries of m that keep holds, in key order, each as
// format puts its key and value, or is none when there are none.
func listed[K cmp.Ordered, V any](m map[K]V, keep func(V) bool, format, none string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if keep(m[k]) {
			out = append(out, fmt.Sprintf(format, k, m[k]))
		}
	}
	if len(out) == 0 {
		return none
	}
	return strings.Join(out, ", ")
}

// elsewhereList lists the writes of Crossplane, provider-vdi and
// function-vdi outside namespace ns, by client and namespace.
func elsewhereList(byClient map[string]map[string]int, ns string) string {
	elsewhere := map[string]int{}
	for client, byNamespace := range byClient {
		for n, writes := range byNamespace {
			if isOurs(client) && n != ns {
				elsewhere[client+" in "+n] = writes
			}
		}
	}
	return listed(elsewhere, func(int) bool { return true }, "%s: %d", "none")
}

// changesList lists the counts of m above zero, or "none".
func changesList(m map[string]int) string {
	return listed(m, func(n int) bool { return n > 0 }, "%s %d", "none")
}

// refused lists the refused requests per session by status, or "–".
func refused(m map[int]float64) string {
	return listed(m, func(n float64) bool { return n >= 0.05 }, "%d: %.1f", "–")
}
