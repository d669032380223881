package localenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	authv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/provider-vdi/provider-vdi/internal/controlplane"
	"github.com/provider-vdi/provider-vdi/internal/packaging"
)

// A Binary is an executable extracted from an installed package.
type Binary struct {
	// Path of the extracted executable.
	Path string
	// SHA256 of its content, hex.
	SHA256 string
	// Image is the package image it came from, by digest.
	Image string
}

// applyInstall applies what a platform applies once, from examples/install:
// the provider's ServiceAccount, its target-cluster ClusterRole and binding,
// its permission to read namespaces, the DeploymentRuntimeConfig and the ImageConfig that gives it to the
// provider package, and the aggregation of VDISessions into `edit`.
//
// Crossplane matches an ImageConfig's runtime prefix against the package's
// resolved source, which the local registry's rewrite changes; so the
// runtime ImageConfig is applied as shipped and once more with the local
// registry's prefix. That copy is the only change made to examples/install.
func (e *Env) applyInstall(ctx context.Context) error {
	dir := filepath.Join(e.opts.Root, "examples", "install")
	files := []string{"serviceaccount.yaml", "clusterrole.yaml", "clusterrolebinding.yaml", "namespaces.yaml", "deploymentruntimeconfig.yaml", "imageconfig.yaml", "user-aggregation.yaml"}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, f))
	}
	e.progress("applying examples/install: %s", strings.Join(files, ", "))
	if err := controlplane.Apply(ctx, e.Kube, paths...); err != nil {
		return err
	}
	objs, err := controlplane.ReadObjects(filepath.Join(dir, "imageconfig.yaml"))
	if err != nil {
		return err
	}
	for _, ic := range objs {
		ms, _, _ := unstructured.NestedSlice(ic.Object, "spec", "matchImages")
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			if p, _ := mm["prefix"].(string); strings.HasPrefix(p, PackageOrg+"/") {
				mm["prefix"] = e.localOrg() + strings.TrimPrefix(p, PackageOrg)
			}
		}
		if err := unstructured.SetNestedSlice(ic.Object, ms, "spec", "matchImages"); err != nil {
			return errors.Wrap(err, "cannot rewrite ImageConfig prefix")
		}
		ic.SetName(ic.GetName() + "-local-registry")
		if err := e.Kube.Create(ctx, ic); err != nil {
			return errors.Wrapf(err, "cannot create ImageConfig %q", ic.GetName())
		}
	}
	return nil
}

// extractBinaries waits until Crossplane has made the provider's and the
// function's revisions, and extracts each one's executable from the
// linux/amd64 runtime image of the package the revision installed, as
// `crane export` would. Their digests go to binaries.sha256.
func (e *Env) extractBinaries(ctx context.Context) error {
	var record bytes.Buffer
	for _, p := range []struct{ kind, pkg string }{
		{"ProviderRevisionList", "provider-vdi"}, {"FunctionRevisionList", "function-vdi"},
	} {
		ref, err := e.revisionImage(ctx, p.kind, p.pkg)
		if err != nil {
			return err
		}
		r, err := name.ParseReference(ref)
		if err != nil {
			return errors.Wrapf(err, "cannot parse package reference %q", ref)
		}
		img, err := remote.Image(r, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
		if err != nil {
			return errors.Wrapf(err, "cannot pull package %q", ref)
		}
		d, err := img.Digest()
		if err != nil {
			return errors.Wrapf(err, "cannot get digest of %q", ref)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return errors.Wrapf(err, "cannot read config of %q", ref)
		}
		if len(cf.Config.Entrypoint) != 1 {
			return errors.Errorf("package %q has entrypoint %v; want its binary", ref, cf.Config.Entrypoint)
		}
		b, err := packaging.Extract(img, cf.Config.Entrypoint[0])
		if err != nil {
			return errors.Wrapf(err, "cannot extract the entrypoint of %q", ref)
		}
		bin := filepath.Join(e.bin, p.pkg)
		if err := os.MkdirAll(e.bin, 0o750); err != nil {
			return errors.Wrap(err, "cannot create binary folder")
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil { //nolint:gosec // An executable.
			return errors.Wrapf(err, "cannot write %s", bin)
		}
		sum := sha256.Sum256(b)
		image := r.Context().Digest(d.String()).String()
		e.Binaries[p.pkg] = Binary{Path: bin, SHA256: hex.EncodeToString(sum[:]), Image: image}
		fmt.Fprintf(&record, "%s  %s  %s (linux/amd64)\n", e.Binaries[p.pkg].SHA256, bin, image)
		e.progress("extracted %s from %s (sha256 %s)", cf.Config.Entrypoint[0], image, e.Binaries[p.pkg].SHA256)
	}
	return errors.Wrap(os.WriteFile(e.BinaryRecord(), record.Bytes(), 0o600), "cannot record binary digests")
}

// revisionImage waits for the revision of package pkg and returns the
// image it installed, after any ImageConfig rewrite.
func (e *Env) revisionImage(ctx context.Context, kind, pkg string) (string, error) {
	var ref string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("pkg.crossplane.io/v1")
		l.SetKind(kind)
		if err := e.Kube.List(ctx, l); err != nil {
			return false, nil //nolint:nilerr // The kind may not be served yet.
		}
		for _, r := range l.Items {
			// The package as Crossplane resolved it, after the ImageConfig
			// rewrite to the local registry; nothing is pulled from
			// anywhere else.
			img, _, _ := unstructured.NestedString(r.Object, "status", "resolvedImage")
			if strings.HasPrefix(img, e.localOrg()+"/"+pkg+":") || strings.HasPrefix(img, e.localOrg()+"/"+pkg+"@") {
				ref = img
				return true, nil
			}
		}
		return false, nil
	})
	return ref, errors.Wrapf(err, "Crossplane made no %s of %s resolved to the local registry", strings.TrimSuffix(kind, "List"), pkg)
}

// providerIdentity writes the kubeconfig the provider runs with: a token of
// its ServiceAccount from the TokenRequest API, as the kubelet would mount
// into its Pod. It waits until Crossplane's RBAC manager has bound the
// provider's own permissions to that ServiceAccount.
func (e *Env) providerIdentity(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(e.CP.Config)
	if err != nil {
		return errors.Wrap(err, "cannot create clientset")
	}
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(controlplane.CrossplaneNamespace).CreateToken(ctx, ProviderServiceAccount,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return errors.Wrapf(err, "cannot request a token of ServiceAccount %s/%s", controlplane.CrossplaneNamespace, ProviderServiceAccount)
	}
	e.ProviderKubeconfig = filepath.Join(e.opts.Dir, "provider.kubeconfig")
	local := &clientcmdapi.Cluster{Server: e.CP.Host, InsecureSkipTLSVerify: true}
	if err := controlplane.WriteKubeconfig(e.ProviderKubeconfig, local, ProviderServiceAccount, tr.Status.Token); err != nil {
		return err
	}
	e.progress("the provider runs as ServiceAccount %s/%s (kubeconfig %s)", controlplane.CrossplaneNamespace, ProviderServiceAccount, e.ProviderKubeconfig)
	if err := e.providerPriority(ctx, cs); err != nil {
		return err
	}
	return e.waitProviderRBAC(ctx)
}

// providerPriority puts the provider's ServiceAccount in the API server's
// exempt priority level. Crossplane core runs as the admin user here
// (system:masters, which priority and fairness exempts), and so do the
// peers make bench-e2e compares with; without this the provider would be
// the one client held to the API server's in-flight limits, and under a
// burst it met about 17 HTTP 429s per session, each retried a second
// later, while Crossplane met none (docs/benchmarks.md). In a cluster
// Crossplane and its providers all run as ServiceAccounts and share the
// same priority levels.
func (e *Env) providerPriority(ctx context.Context, cs kubernetes.Interface) error {
	fs := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "provider-vdi"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: flowcontrolv1.PriorityLevelConfigurationNameExempt},
			MatchingPrecedence:         500,
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{
					Kind:           flowcontrolv1.SubjectKindServiceAccount,
					ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: controlplane.CrossplaneNamespace, Name: ProviderServiceAccount},
				}},
				ResourceRules:    []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ClusterScope: true, Namespaces: []string{"*"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}},
		},
	}
	_, err := cs.FlowcontrolV1().FlowSchemas().Create(ctx, fs, metav1.CreateOptions{})
	if kerrors.IsAlreadyExists(err) {
		err = nil
	}
	return errors.Wrap(err, "cannot create the provider's FlowSchema")
}

// ProviderRESTConfig returns the REST config the provider runs with.
func (e *Env) ProviderRESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.ProviderKubeconfig)
	return cfg, errors.Wrap(err, "cannot load the provider's kubeconfig")
}

// waitProviderRBAC waits until the provider's identity may watch its
// managed resources, which Crossplane's RBAC manager grants once the
// provider's revision names the ServiceAccount.
func (e *Env) waitProviderRBAC(ctx context.Context) error {
	cfg, err := e.ProviderRESTConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return errors.Wrap(err, "cannot create clientset")
	}
	e.progress("waiting for Crossplane's RBAC manager to bind the provider's ServiceAccount")
	var last string
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, ra := range []authzv1.ResourceAttributes{
			{Verb: "watch", Group: "vdi.m.kasm.io", Resource: "desktops"},
			{Verb: "watch", Group: "vdi.m.kasm.io", Resource: "providerconfigusages"},
			{Verb: "create", Group: "", Resource: "events"},
		} {
			r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
				Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra},
			}, metav1.CreateOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			if !r.Status.Allowed {
				last = fmt.Sprintf("%s %s.%s not allowed yet", ra.Verb, ra.Resource, ra.Group)
				return false, nil
			}
		}
		return true, nil
	})
	return errors.Wrapf(err, "the provider's ServiceAccount was not granted its permissions (%s); see crossplane-rbac.log", last)
}

// VerifyRunning checks that the running provider and function executables
// are byte for byte the binaries extracted from the installed packages.
func (e *Env) VerifyRunning() error {
	for pkg, c := range map[string]*exec.Cmd{"provider-vdi": e.provider, "function-vdi": e.function} {
		pid := pidOf(c)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			return errors.Wrapf(err, "cannot read the executable of the running %s", pkg)
		}
		sum := sha256.Sum256(b)
		if got, want := hex.EncodeToString(sum[:]), e.Binaries[pkg].SHA256; got != want {
			return errors.Errorf("the running %s (PID %d) has sha256 %s, not %s of the binary in %s", pkg, pid, got, want, e.Binaries[pkg].Image)
		}
	}
	e.progress("the running provider and function are the binaries of the installed packages (%s)", e.BinaryRecord())
	return nil
}

// BinaryRecord is the file that records the sha256 of each extracted
// binary and the package image it came from.
func (e *Env) BinaryRecord() string { return filepath.Join(e.opts.Dir, "binaries.sha256") }

func pidOf(c *exec.Cmd) int {
	if c == nil || c.Process == nil {
		return 0
	}
	return c.Process.Pid
}

// ServiceAccountConfig makes ServiceAccount ns/name if it does not exist
// and returns a REST config that authenticates with a token of it, for
// tests that act as a user of a namespace.
func (e *Env) ServiceAccountConfig(ctx context.Context, ns, name string) (*rest.Config, error) {
	cs, err := kubernetes.NewForConfig(e.CP.Config)
	if err != nil {
		return nil, errors.Wrap(err, "cannot create clientset")
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !kerrors.IsAlreadyExists(err) {
		return nil, errors.Wrapf(err, "cannot create ServiceAccount %s/%s", ns, name)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return nil, errors.Wrapf(err, "cannot request a token of ServiceAccount %s/%s", ns, name)
	}
	return &rest.Config{Host: e.CP.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, nil
}
