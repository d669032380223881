// Command provider runs provider-vdi: the controllers of Desktops,
// DesktopVolumes, DesktopServices and DesktopRoutes, and of the
// ProviderConfigs that say which cluster they run in.
package main

import (
	"context"
	"os"
	"path/filepath"
	runtimedebug "runtime/debug"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"go.uber.org/zap/zapcore"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/gate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/customresourcesgate"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"

	"github.com/provider-vdi/provider-vdi/apis"
	"github.com/provider-vdi/provider-vdi/internal/clients/target/connection"
	vdicontroller "github.com/provider-vdi/provider-vdi/internal/controller"
	"github.com/provider-vdi/provider-vdi/internal/controller/desktop"
	"github.com/provider-vdi/provider-vdi/internal/controller/volume"
	"github.com/provider-vdi/provider-vdi/internal/gate/signingkey"
)

// defaultGateImage is the gate's image unless --gate-image names another;
// internal/packaging links in the image published with the provider's own
// version and registry.
var defaultGateImage = "ghcr.io/provider-vdi/gate:latest"

func main() {
	var (
		app              = kingpin.New(filepath.Base(os.Args[0]), "Runs GPU remote desktops on Kubernetes, the Crossplane way.").DefaultEnvars()
		debug            = app.Flag("debug", "Log at debug level.").Short('d').Bool()
		pollInterval     = app.Flag("poll", "How often every managed resource is checked against its target cluster; desktop Pods are also watched.").Default("1m").Duration()
		syncInterval     = app.Flag("sync", "How often the informer cache resyncs.").Short('s').Default("1h").Duration()
		maxReconcileRate = app.Flag("max-reconcile-rate", "The most reconciles per second across all kinds (bursts of ten times as many). A session takes about 15 reconciles to start, so 10 would hold a burst of 20 sessions for tens of seconds.").Default("100").Int()
		maxConcurrent    = app.Flag("max-concurrent-reconciles", "The most reconciles of one kind at once. Each holds its objects and requests in memory while it waits on the API server; make bench-e2e's 300-burst ran fastest at 20 of those tried (10, 20, 100).").Default("20").Int()
		leaderElection   = app.Flag("leader-election", "Elect a leader among replicas of the provider.").Short('l').Default("false").Envar("LEADER_ELECTION").Bool()
		metricsAddress   = app.Flag("metrics-bind-address", "Where the Prometheus metrics are served; kept off 8080, which Crossplane core and functions use.").Default(":8085").Envar("METRICS_BIND_ADDRESS").String()
		healthAddress    = app.Flag("health-probe-bind-address", "Where /healthz and /readyz are served.").Default(":8086").Envar("HEALTH_PROBE_BIND_ADDRESS").String()
		pprofAddress     = app.Flag("pprof-bind-address", "Where Go's profiles are served under /debug/pprof/, e.g. 127.0.0.1:6060; 0 serves none.").Default("0").String()
		stateMetricEvery = app.Flag("poll-state-metric", "How often managed resource state metrics are recorded.").Default("5s").Duration()
		maxDesktopCPU    = app.Flag("max-desktop-cpu", "The most CPU one desktop may have, whatever its template or whoever made it.").Default(desktop.DefaultBounds.CPU.String()).String()
		maxDesktopMemory = app.Flag("max-desktop-memory", "The most memory one desktop may have.").Default(desktop.DefaultBounds.Memory.String()).String()
		maxDesktopGPUs   = app.Flag("max-desktop-gpus", "The most GPUs one desktop may have.").Default(strconv.Itoa(int(desktop.DefaultBounds.GPUs))).Int32()
		maxHomeSize      = app.Flag("max-home-size", "The largest home volume the provider makes or grows a claim to, whatever its template or whoever made its DesktopVolume. 0 sets no limit.").Default(volume.DefaultMaxSize.String()).String()
		maxDesktopLife   = app.Flag("max-desktop-lifetime", "The longest one desktop may run, counted from its Desktop's creation, whatever its deadline; a Desktop made directly may have none. 0 sets no limit.").Default(desktop.DefaultBounds.Lifetime.String()).Duration()
		gateImage        = app.Flag("gate-image", "Image of the gate in front of every desktop, which checks session links.").Default(defaultGateImage).String()
		linkKeyNamespace = app.Flag("link-key-namespace", "Namespace of the Secret holding the key that signs session links: the provider's own, which no tenant may read.").Default("crossplane-system").Envar("POD_NAMESPACE").String()
		linkKeySecret    = app.Flag("link-key-secret", "Name of the Secret holding the key that signs session links; made with a new key if missing.").Default("provider-vdi-link-signing-key").String()
	)
	kingpin.MustParse(app.Parse(os.Args[1:]))

	// Unless GOGC says otherwise, the heap grows by half its live size
	// between collections, not by all of it (Go's default, 100): make
	// bench-e2e's 300-burst then peaked at 93 MiB resident, not 104 MiB,
	// and was no slower (225 s, against 230 s). The live heap is small (24 MB
	// after 300 sessions), so collecting more often costs little CPU.
	if _, set := os.LookupEnv("GOGC"); !set {
		runtimedebug.SetGCPercent(50)
	}

	level := zapcore.InfoLevel
	if *debug {
		level = zapcore.DebugLevel
	}
	zl := zap.New(zap.UseDevMode(*debug), zap.Level(level))
	log := logging.NewLogrLogger(zl.WithName("provider-vdi"))
	ctrl.SetLogger(zl)

	cfg, err := ctrl.GetConfig()
	kingpin.FatalIfError(err, "cannot get the API server's config")

	s := runtime.NewScheme()
	kingpin.FatalIfError(clientgoscheme.AddToScheme(s), "cannot add Kubernetes APIs to scheme")
	kingpin.FatalIfError(apis.AddToScheme(s), "cannot add provider-vdi APIs to scheme")
	kingpin.FatalIfError(extv1.AddToScheme(s), "cannot add CustomResourceDefinitions to scheme")

	mgr, err := ctrl.NewManager(ratelimiter.LimitRESTConfig(cfg, *maxReconcileRate), ctrl.Options{
		Scheme: s,
		Cache: cache.Options{
			SyncPeriod:       syncInterval,
			DefaultTransform: cache.TransformStripManagedFields(),
			// The CRD gate watches every CRD of the cluster but reads only
			// their names, versions and conditions: their schemas, most of
			// a CRD's bytes, are not kept.
			ByObject: map[client.Object]cache.ByObject{
				&extv1.CustomResourceDefinition{}: {Transform: customresourcesgate.TransformStripCRDSchema},
			},
		},
		LeaderElection:             *leaderElection,
		LeaderElectionID:           "crossplane-leader-election-provider-vdi",
		LeaderElectionResourceLock: "leases",
		LeaseDuration:              ptr.To(60 * time.Second),
		RenewDeadline:              ptr.To(50 * time.Second),
		Metrics:                    metricsserver.Options{BindAddress: *metricsAddress},
		HealthProbeBindAddress:     *healthAddress,
		PprofBindAddress:           *pprofAddress,
	})
	kingpin.FatalIfError(err, "cannot create controller manager")
	kingpin.FatalIfError(mgr.AddHealthzCheck("ping", healthz.Ping), "cannot add health check")
	kingpin.FatalIfError(mgr.AddReadyzCheck("ping", healthz.Ping), "cannot add ready check")

	mm := managed.NewMRMetricRecorder()
	sm := statemetrics.NewMRStateMetrics()
	metrics.Registry.MustRegister(mm)
	metrics.Registry.MustRegister(sm)

	o := controller.Options{
		Logger:                  log,
		MaxConcurrentReconciles: *maxConcurrent,
		PollInterval:            *pollInterval,
		GlobalRateLimiter:       ratelimiter.NewGlobal(*maxReconcileRate),
		Features:                &feature.Flags{},
		Gate:                    new(gate.Gate[schema.GroupVersionKind]),
		MetricOptions: &controller.MetricOptions{
			PollStateMetricInterval: *stateMetricEvery,
			MRMetrics:               mm,
			MRStateMetrics:          sm,
		},
	}

	// The manager owns the connector: the watches of target clusters stop
	// when it does.
	conn := connection.NewConnector(mgr.GetClient(), cfg, connection.WithLogger(log.WithValues("component", "target-clusters")))
	kingpin.FatalIfError(mgr.Add(conn), "cannot add the target cluster connector to the manager")
	d := desktop.Options{Bounds: desktop.Bounds{GPUs: *maxDesktopGPUs, Lifetime: *maxDesktopLife}}
	d.Bounds.CPU, err = resource.ParseQuantity(*maxDesktopCPU)
	kingpin.FatalIfError(err, "cannot parse --max-desktop-cpu")
	d.Bounds.Memory, err = resource.ParseQuantity(*maxDesktopMemory)
	kingpin.FatalIfError(err, "cannot parse --max-desktop-memory")
	homeSize, err := resource.ParseQuantity(*maxHomeSize)
	kingpin.FatalIfError(err, "cannot parse --max-home-size")
	// The manager's client cannot read before the manager starts.
	kc, err := client.New(cfg, client.Options{Scheme: s})
	kingpin.FatalIfError(err, "cannot create a client of the API server")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	key, err := signingkey.Ensure(ctx, kc, *linkKeyNamespace, *linkKeySecret)
	cancel()
	kingpin.FatalIfError(err, "cannot get the key that signs session links")
	d.Gate, err = desktop.NewGate(*gateImage, key)
	kingpin.FatalIfError(err, "cannot set up the gate")
	// Safe start: each managed kind's controller starts once its CRD is
	// served, which Crossplane makes so when an activation policy names it.
	kingpin.FatalIfError(customresourcesgate.Setup(mgr, o), "cannot set up the CRD gate")
	kingpin.FatalIfError(vdicontroller.SetupGated(mgr, o, conn, vdicontroller.Options{Desktop: d, MaxHomeSize: homeSize}), "cannot set up provider-vdi controllers")
	log.Info("Starting provider-vdi", "poll", pollInterval.String(), "metrics", *metricsAddress, "health", *healthAddress, "gate-image", *gateImage)
	kingpin.FatalIfError(mgr.Start(ctrl.SetupSignalHandler()), "cannot start controller manager")
}
