package common

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/provider-vdi/provider-vdi/apis/v1alpha1"
	"github.com/provider-vdi/provider-vdi/internal/clients/target"
)

// reasonNamespaceUnread is the reason of the warning event of a managed
// resource whose namespace's UID could not be recorded.
const reasonNamespaceUnread event.Reason = "CannotRecordNamespace"

// A NamespaceRecorder records on a managed resource the UID of its
// namespace (v1alpha1.AnnotationNamespaceUID), the first time the resource
// is reconciled, for target.ObjectMeta to copy onto what it makes. A
// namespace deleted and made again under its name is another namespace,
// with another UID: what the old one left behind, such as a retained home
// claim, is not the new one's (target.Owned). Tenants cannot write managed
// resources, so they cannot set the annotation themselves.
type NamespaceRecorder struct {
	namespaces client.Reader
	kube       client.Client
	record     event.Recorder
}

// NewNamespaceRecorder returns a NamespaceRecorder that reads namespaces
// through r (the API server directly, so that `get` on namespaces is all
// the provider needs), updates managed resources through c and records
// warnings with rec.
func NewNamespaceRecorder(r client.Reader, c client.Client, rec event.Recorder) *NamespaceRecorder {
	return &NamespaceRecorder{namespaces: r, kube: c, record: rec}
}

// Initialize records the UID of mg's namespace on mg, unless it is already
// recorded or mg is being deleted (its deletion must not wait on a read).
// If the namespace cannot be read, a new managed resource waits, with an
// error saying why; one whose objects were made before (by a provider that
// recorded no UIDs) goes on without, with a warning event, so that a
// permission missing after an upgrade does not stop its desktop's deadline
// or its NetworkPolicy's restoration.
func (n *NamespaceRecorder) Initialize(ctx context.Context, mg resource.Managed) error {
	if meta.WasDeleted(mg) || mg.GetNamespace() == "" || target.NamespaceUID(mg) != "" {
		return nil
	}
	ns := &corev1.Namespace{}
	if err := n.namespaces.Get(ctx, client.ObjectKey{Name: mg.GetNamespace()}, ns); err != nil {
		err = errors.Wrapf(err, "cannot read namespace %q to record its UID (provider-vdi needs get on namespaces: examples/install/namespaces.yaml)", mg.GetNamespace())
		if meta.GetExternalCreateSucceeded(mg).IsZero() {
			return err
		}
		n.record.Event(mg, event.Warning(reasonNamespaceUnread, err))
		return nil
	}
	meta.AddAnnotations(mg, map[string]string{v1alpha1.AnnotationNamespaceUID: string(ns.GetUID())})
	return errors.Wrapf(n.kube.Update(ctx, mg), "cannot record the UID of namespace %q on the managed resource", mg.GetNamespace())
}
