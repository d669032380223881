package localenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
)

// The real node's part of the environment.
const (
	// DesktopImage is the web desktop that `make tools` builds
	// (cluster/images) and the real node imports; the VDITemplate of
	// examples/templates/web-desktop.yaml runs it.
	DesktopImage = "localhost/provider-vdi/web-desktop:bookworm"
	// Domain is the ingress domain of the environment's Composition:
	// *.localhost resolves to loopback in browsers and curl, so a
	// session's URL opens as it is.
	Domain = "vdi.localhost"
	// IngressAddress is where Traefik serves desktops: the Composition's
	// websecure entry point, on loopback.
	IngressAddress = "127.0.0.1:443"
	// TraefikNamespace is the ingress namespace of the Composition's input,
	// whose ServiceAccount Traefik runs as.
	TraefikNamespace = "traefik"
	// RealNodeGPUs is the fake nvidia.com/gpu capacity of the real node.
	RealNodeGPUs = 4
)

// realNodeOptions are the control plane's real node options: the images
// `make tools` built and those the caller adds.
func (o Options) realNodeOptions() *controlplane.RealNodeOptions {
	if !o.RealNode {
		return nil
	}
	images := filepath.Join(o.Tools, "images")
	return &controlplane.RealNodeOptions{
		Pause:  filepath.Join(images, "pause.tar"),
		Images: append([]string{filepath.Join(images, "desktop.tar")}, o.Images...),
		GPUs:   RealNodeGPUs,
	}
}

// realNodeVolumes makes n local volumes in the default storage class on the
// real node, folders under the environment's folder that the kubelet
// mounts and gives the desktop's group (fsGroup). A claim binds to one of
// them when its desktop is scheduled on the real node.
func (e *Env) realNodeVolumes(ctx context.Context, n int) error {
	for i := range n {
		path := filepath.Join(e.opts.Dir, "volumes", "real-home-"+strconv.Itoa(i))
		if err := os.MkdirAll(path, 0o750); err != nil {
			return errors.Wrap(err, "cannot create volume folder")
		}
		src := corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}}
		if err := e.createVolume(ctx, "real-home-"+strconv.Itoa(i), src, onNodes(corev1.LabelHostname, controlplane.RealNodeName)); err != nil {
			return err
		}
	}
	return nil
}

// createVolume creates the 100Gi volume name of the default storage class
// from src, on the nodes of affinity; one that exists already is kept.
func (e *Env) createVolume(ctx context.Context, name string, src corev1.PersistentVolumeSource, affinity *corev1.VolumeNodeAffinity) error {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              storageClass,
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Gi")},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        src,
			NodeAffinity:                  affinity,
		},
	}
	if err := e.Kube.Create(ctx, pv); err != nil && !kerrors.IsAlreadyExists(err) {
		return errors.Wrapf(err, "cannot create volume %q", name)
	}
	return nil
}

// onNodes is a volume's node affinity to the nodes whose label key is one
// of values.
func onNodes(key string, values ...string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}},
	}}}}
}

// startTraefik runs Traefik on the host with its Kubernetes CRD provider,
// as ServiceAccount traefik/traefik bound to the ClusterRole Traefik ships,
// serving the IngressRoutes on IngressAddress (entry point websecure) with
// a default certificate for *.Domain that the environment's CA signs.
func (e *Env) startTraefik(ctx context.Context) error {
	dir := filepath.Join(e.opts.Dir, "traefik")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return errors.Wrap(err, "cannot create Traefik's folder")
	}
	ca, err := controlplane.NewCA(dir, "ca", "provider-vdi local ingress CA")
	if err != nil {
		return err
	}
	e.IngressCA = ca.Cert
	cert, key, err := ca.Issue(dir, controlplane.Leaf{Name: "wildcard", CommonName: "*." + Domain, DNSNames: []string{"*." + Domain, Domain}})
	if err != nil {
		return err
	}
	dynamic, _ := yaml.Marshal(map[string]any{"tls": map[string]any{"stores": map[string]any{"default": map[string]any{
		"defaultCertificate": map[string]any{"certFile": cert, "keyFile": key},
	}}}})
	dynamicFile := filepath.Join(dir, "dynamic.yaml")
	if err := os.WriteFile(dynamicFile, dynamic, 0o600); err != nil {
		return errors.Wrap(err, "cannot write Traefik's file provider configuration")
	}
	kubeconfig, err := e.traefikIdentity(ctx, dir)
	if err != nil {
		return err
	}
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		return err
	}
	e.progress("starting Traefik on https://%s (entry point websecure) for *.%s, CA %s", IngressAddress, Domain, ca.Cert)
	cmd, err := e.start("traefik", filepath.Join(e.opts.Tools, "bin", "traefik"), kubeconfig,
		"--entryPoints.websecure.address="+IngressAddress,
		// Stopping waits this long for open connections (10s by default).
		"--entryPoints.websecure.transport.lifeCycle.graceTimeOut=2s",
		"--entryPoints.ping.address=127.0.0.1:"+ports[0],
		"--ping.entryPoint=ping",
		"--providers.kubernetescrd=true",
		"--providers.file.filename="+dynamicFile,
		// The module has no built web UI.
		"--api.dashboard=false",
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
		"--log.level=INFO",
	)
	e.traefik = cmd
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if controlplane.Exited(cmd) {
			return false, errors.New("traefik exited")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+ports[0]+"/ping", nil)
		rsp, err := hc.Do(req)
		if err != nil {
			return false, nil
		}
		_ = rsp.Body.Close()
		return rsp.StatusCode == http.StatusOK, nil
	})
	return errors.Wrapf(err, "Traefik did not answer; see %s", filepath.Join(e.opts.Dir, "traefik.log"))
}

// traefikIdentity makes Traefik's namespace, ServiceAccount and binding to
// the ClusterRole of its CRD provider, and writes a kubeconfig with a token
// of that ServiceAccount.
func (e *Env) traefikIdentity(ctx context.Context, dir string) (string, error) {
	objs, err := controlplane.ReadObjects(filepath.Join(e.opts.Tools, "crds", "traefik-rbac.yaml"))
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		// The binding Traefik ships names a ServiceAccount of namespace
		// default; ours binds traefik/traefik instead.
		if o.GetKind() == "ClusterRole" {
			if err := e.Kube.Create(ctx, o); err != nil && !kerrors.IsAlreadyExists(err) {
				return "", errors.Wrapf(err, "cannot create ClusterRole %q", o.GetName())
			}
		}
	}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: TraefikNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: TraefikNamespace, Name: "traefik"}},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "traefik"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "traefik-ingress-controller"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: TraefikNamespace, Name: "traefik"}},
		},
	} {
		if err := e.Kube.Create(ctx, o); err != nil && !kerrors.IsAlreadyExists(err) {
			return "", errors.Wrapf(err, "cannot create %T %q for Traefik", o, o.GetName())
		}
	}
	cs, err := kubernetes.NewForConfig(e.CP.Config)
	if err != nil {
		return "", errors.Wrap(err, "cannot create clientset")
	}
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(TraefikNamespace).CreateToken(ctx, "traefik", &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return "", errors.Wrap(err, "cannot request a token of ServiceAccount traefik/traefik")
	}
	path := filepath.Join(dir, "kubeconfig")
	apiserver := &clientcmdapi.Cluster{Server: e.CP.Host, CertificateAuthority: filepath.Join(e.opts.Dir, "pki", "apiserver.crt")}
	return path, controlplane.WriteKubeconfig(path, apiserver, "traefik", tr.Status.Token)
}

// IngressTLS returns the TLS configuration of a client of Traefik: it
// trusts only the environment's ingress CA.
func (e *Env) IngressTLS() (*tls.Config, error) {
	b, err := os.ReadFile(e.IngressCA)
	if err != nil {
		return nil, errors.Wrap(err, "cannot read the ingress CA")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.Errorf("no certificate in %s", e.IngressCA)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// IngressClient returns an HTTP client that sends every request to Traefik
// on IngressAddress, as a browser resolving *.localhost does, verifies
// Traefik's certificate with IngressTLS, and follows no redirect.
func (e *Env) IngressClient() (*http.Client, error) {
	tc, err := e.IngressTLS()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: tc,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, IngressAddress)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
