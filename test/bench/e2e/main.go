//go:build bench

// Command e2e is `make bench-e2e`: claim→Running of VDISessions on the
// local environment (internal/localenv: kwok with fake GPU nodes, Crossplane
// core, our installed packages), beside the floor (the same four objects
// created directly) and two peers (provider-kubernetes Objects, and
// Crossplane composing the raw objects), in the same run; API requests per
// session by client (from the API server's audit log, checked against its
// metrics), CPU and peak memory per component (from /proc), idle writes
// and teardown. It writes _output/bench/e2e-<time>.json, a CDF picture and
// docs/benchmarks.md's generated section, and ends with `bench: NAME VALUE
// UNIT` lines. It is a benchmark: it measures and asserts nothing about time.
//
// Knobs (environment variables), for quick runs while developing:
//
//	BENCH_SCENARIOS  comma-separated subset of: single,burst20,burst100,idle,teardown,floor,floor20,raw,object,burst300,steady,floorsteady (default all)
//	BENCH_IDLE       how long the idle window lasts (default 5m)
//	BENCH_STEADY     how long sessions arrive at BENCH_RATE a second (default 2m; rate 2)
//	BENCH_PEER_N     sessions per floor and peer burst (default 100)
//	BENCH_BIG_N      sessions of the big burst (default 300)
//	BENCH_DOCS       write docs/benchmarks.md and docs/bench-cdf.png: 1 (default when all scenarios run) or 0
//	BENCH_KEEP       1 keeps the work folder (logs, audit log) after a successful run
//	BENCH_XP_SYNC    Crossplane core's --sync-interval (default: the environment's,
//	                 controlplane.DefaultCrossplaneSyncInterval, 12h; 1h is Crossplane's own); with
//	                 BENCH_SCENARIOS=single,burst100,idle and e.g. 2m, the idle window
//	                 measures what Crossplane's resync of every session costs
//	BENCH_XP_CONCURRENCY  Crossplane core's --max-concurrent-reconciles (default:
//	                 the environment's, controlplane.DefaultCrossplaneConcurrency, 5;
//	                 100 is Crossplane's own default)
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type knobs struct {
	scenarios map[string]bool
	all       bool
	idle      time.Duration
	steady    time.Duration
	rate      float64
	peerN     int
	bigN      int
	docs      bool
	xpSync    time.Duration
	// xpConcurrency is Crossplane core's --max-concurrent-reconciles; 0
	// keeps the environment's.
	xpConcurrency int
}

var allScenarios = []string{"single", "burst20", "burst100", "idle", "teardown", "floor", "floor20", "raw", "object", "burst300", "steady", "floorsteady"}

func readKnobs() (knobs, error) {
	k := knobs{scenarios: map[string]bool{}, idle: 5 * time.Minute, steady: 2 * time.Minute, rate: 2, peerN: 100, bigN: 300}
	list := os.Getenv("BENCH_SCENARIOS")
	if list == "" {
		list = strings.Join(allScenarios, ",")
	}
	for _, s := range strings.Split(list, ",") {
		if !contains(allScenarios, s) {
			return k, fmt.Errorf("BENCH_SCENARIOS: unknown scenario %q (want some of %s)", s, strings.Join(allScenarios, ","))
		}
		k.scenarios[s] = true
	}
	k.all = len(k.scenarios) == len(allScenarios)
	var err error
	dur := func(env string, d *time.Duration) {
		if v := os.Getenv(env); v != "" && err == nil {
			*d, err = time.ParseDuration(v)
		}
	}
	num := func(env string, n *int) {
		if v := os.Getenv(env); v != "" && err == nil {
			*n, err = strconv.Atoi(v)
		}
	}
	dur("BENCH_IDLE", &k.idle)
	dur("BENCH_STEADY", &k.steady)
	dur("BENCH_XP_SYNC", &k.xpSync)
	num("BENCH_PEER_N", &k.peerN)
	num("BENCH_BIG_N", &k.bigN)
	num("BENCH_XP_CONCURRENCY", &k.xpConcurrency)
	if v := os.Getenv("BENCH_RATE"); v != "" && err == nil {
		k.rate, err = strconv.ParseFloat(v, 64)
	}
	k.docs = k.all
	if v := os.Getenv("BENCH_DOCS"); v != "" {
		k.docs = v == "1"
	}
	// The idle window and teardown reuse the 100-burst's sessions.
	if (k.scenarios["idle"] || k.scenarios["teardown"]) && !k.scenarios["burst100"] {
		return k, fmt.Errorf("BENCH_SCENARIOS: idle and teardown need burst100")
	}
	// The floor and peers copy the objects of the single session.
	if (k.scenarios["floor"] || k.scenarios["floor20"] || k.scenarios["floorsteady"] || k.scenarios["raw"] || k.scenarios["object"]) && !k.scenarios["single"] {
		return k, fmt.Errorf("BENCH_SCENARIOS: the floors, raw and object need single")
	}
	return k, err
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	k, err := readKnobs()
	if err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	b, err := up(context.Background(), root, k)
	if b != nil {
		defer b.stop()
	}
	if err != nil {
		return err
	}
	if err := b.runScenarios(context.Background()); err != nil {
		return fmt.Errorf("%w (logs in %s)", err, b.dir)
	}
	return b.report()
}

func repoRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("cannot find the repository root: %w", err)
	}
	return filepath.Clean(strings.TrimSpace(string(out))), nil
}
