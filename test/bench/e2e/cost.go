//go:build bench

package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Components whose CPU and memory are measured, by the name of the process
// that runs them.
var components = []string{"crossplane", "provider", "function", "provider-kubernetes", "function-bench", "kube-apiserver", "etcd"}

// clientOf names the client of an audited request by its user agent, which
// each program sets to its own name: crossplane-core (Crossplane core),
// provider-vdi, function-vdi, provider-kubernetes, vdi-bench (this
// benchmark), kube-controller-manager, kube-scheduler, kwok.
func clientOf(userAgent, user string) string {
	ua, _, _ := strings.Cut(userAgent, "/")
	switch ua {
	case "crossplane-core", "crossplane":
		return "crossplane"
	case "":
		return "user " + user
	}
	return ua
}

// isOurs reports whether a client is part of what runs sessions:
// Crossplane, provider-vdi and function-vdi.
func isOurs(client string) bool {
	return client == "crossplane" || client == "provider-vdi" || client == "function-vdi"
}

type snapshot struct {
	at     time.Time
	offset int64
	cpu    map[string]float64
	api    map[string]float64
}

func (b *bench) pids() map[string]int {
	out := map[string]int{}
	for _, p := range b.env.Processes() {
		out[p.Name] = p.PID
	}
	for name, c := range b.started {
		out[name] = c.Process.Pid
	}
	return out
}

// snapshot notes CPU time and API requests so far, and resets each
// component's peak memory (VmHWM) so that cost reports the peak of what
// follows.
func (b *bench) snapshot() snapshot {
	s := snapshot{at: time.Now(), cpu: map[string]float64{}}
	for name, pid := range b.pids() {
		s.cpu[name] = cpuSeconds(pid)
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0o600)
	}
	if fi, err := os.Stat(b.audit); err == nil {
		s.offset = fi.Size()
	}
	s.api = b.apiMetrics()
	return s
}

// cpuSeconds is the user and system CPU time of pid so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// peakRSS is the peak resident memory of pid since its last reset, in MiB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// apiMetrics reads apiserver_request_total from the API server's /metrics,
// summed by verb (watches excluded: the API server counts them when they
// end).
func (b *bench) apiMetrics() map[string]float64 {
	out := map[string]float64{}
	raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, "apiserver_request_total{") {
			continue
		}
		i := strings.Index(l, `verb="`)
		j := strings.LastIndex(l, " ")
		if i < 0 || j < 0 {
			continue
		}
		verb, _, _ := strings.Cut(l[i+6:], `"`)
		if verb == "WATCH" {
			continue
		}
		v, _ := strconv.ParseFloat(l[j+1:], 64)
		out[strings.ToLower(verb)] += v
	}
	return out
}

// A cost of a scenario.
type cost struct {
	WindowS float64 `json:"window_s"`
	// CPUSecondsPer100 is CPU seconds per 100 sessions, by component.
	CPUSecondsPer100 map[string]float64 `json:"cpu_s_per_100_sessions"`
	// PeakRSSMiB is the peak resident memory during the scenario.
	PeakRSSMiB map[string]float64 `json:"peak_rss_mib"`
	Requests   requests           `json:"requests"`
}

type requests struct {
	// PerSession are requests per session by client, then by "verb
	// resource".
	PerSession map[string]map[string]float64 `json:"per_session"`
	// Writes are the write requests (create, update, patch, delete) by
	// client, then by "verb resource".
	Writes map[string]map[string]int `json:"writes"`
	// WritesByNamespace are the write requests by client, then by the
	// namespace of the object written ("-": cluster-scoped or none).
	WritesByNamespace map[string]map[string]int `json:"writes_by_namespace"`
	// Refused are the requests per session that the API server answered
	// with an error, by client, then by status code: 409 (a write from a
	// stale copy), 429 (too many requests in flight), 504 (timed out).
	Refused map[string]map[int]float64 `json:"refused"`
	// AuditTotal and MetricsTotal are the requests (watches excluded) the
	// audit log and apiserver_request_total count in the window; they should
	// agree.
	AuditTotal   int     `json:"audit_total"`
	MetricsTotal float64 `json:"metrics_total"`
}

type auditEvent struct {
	Stage     string    `json:"stage"`
	Received  time.Time `json:"requestReceivedTimestamp"`
	Verb      string    `json:"verb"`
	UserAgent string    `json:"userAgent"`
	User      struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// code is the HTTP status the API server answered e with, or 0.
func (e auditEvent) code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true, "apply": true}

// cost measures what happened since s, for n sessions.
func (b *bench) cost(s snapshot, start time.Time, n int) cost {
	end := time.Now()
	c := cost{WindowS: end.Sub(start).Seconds(), CPUSecondsPer100: map[string]float64{}, PeakRSSMiB: map[string]float64{}}
	pids := b.pids()
	for _, name := range components {
		pid, ok := pids[name]
		if !ok {
			continue
		}
		c.CPUSecondsPer100[name] = (cpuSeconds(pid) - s.cpu[name]) / float64(n) * 100
		c.PeakRSSMiB[name] = peakRSS(pid)
	}
	after := b.apiMetrics()
	for v, x := range after {
		c.Requests.MetricsTotal += x - s.api[v]
	}
	// The audit log is written in batches: give the last ones time to land.
	time.Sleep(3 * time.Second)
	c.Requests.PerSession = map[string]map[string]float64{}
	c.Requests.Writes = map[string]map[string]int{}
	c.Requests.WritesByNamespace = map[string]map[string]int{}
	c.Requests.Refused = map[string]map[int]float64{}
	f, err := os.Open(b.audit)
	if err != nil {
		return c
	}
	defer f.Close() //nolint:errcheck // Read only.
	if _, err := f.Seek(s.offset, io.SeekStart); err != nil {
		return c
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Received.Before(s.at) || e.Received.After(end) {
			continue
		}
		watch := e.Verb == "watch"
		if (watch && e.Stage != "ResponseStarted") || (!watch && e.Stage != "ResponseComplete") {
			continue
		}
		if !watch {
			c.Requests.AuditTotal++
		}
		res, ns := "-", "-"
		if e.ObjectRef != nil {
			ns = cmp.Or(e.ObjectRef.Namespace, "-")
			res = e.ObjectRef.Resource
			if e.ObjectRef.Subresource != "" {
				res += "/" + e.ObjectRef.Subresource
			}
		}
		client := clientOf(e.UserAgent, e.User.Username)
		key := e.Verb + " " + res
		if c.Requests.PerSession[client] == nil {
			c.Requests.PerSession[client] = map[string]float64{}
		}
		c.Requests.PerSession[client][key] += 1 / float64(n)
		// A 404 answers a read of what is not there yet: not a refusal.
		if code := e.code(); code >= 400 && code != 404 {
			if c.Requests.Refused[client] == nil {
				c.Requests.Refused[client] = map[int]float64{}
			}
			c.Requests.Refused[client][code] += 1 / float64(n)
		}
		if writeVerbs[e.Verb] {
			if c.Requests.Writes[client] == nil {
				c.Requests.Writes[client] = map[string]int{}
			}
			c.Requests.Writes[client][key]++
			if c.Requests.WritesByNamespace[client] == nil {
				c.Requests.WritesByNamespace[client] = map[string]int{}
			}
			c.Requests.WritesByNamespace[client][ns]++
		}
	}
	return c
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}
