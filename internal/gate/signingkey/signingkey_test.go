package signingkey

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	stored := func(data []byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: "k"}, Data: map[string][]byte{Key: data}}
	}
	// s holds existing, a key stored before.
	seed := fake.NewClientBuilder().Build()
	if _, err := Ensure(ctx, seed, "crossplane-system", "k"); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	_ = seed.Get(ctx, client.ObjectKey{Namespace: "crossplane-system", Name: "k"}, s)
	s.ResourceVersion = ""
	existing, err := parse(s.Data[Key], "", "")
	if err != nil {
		t.Fatal(err)
	}

	type want struct {
		key ed25519.PrivateKey
		err bool
	}
	cases := map[string]struct {
		reason string
		kube   client.Client
		want   want
	}{
		"Existing": {
			reason: "A stored key should be used as it is.",
			kube:   fake.NewClientBuilder().WithObjects(s.DeepCopy()).Build(),
			want:   want{key: existing},
		},
		"LostRace": {
			reason: "When another provider stores its key first, this one should use that key.",
			kube: fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
				Create: func(ctx context.Context, c client.WithWatch, _ client.Object, opts ...client.CreateOption) error {
					// The other provider's Secret lands first.
					return c.Create(ctx, s.DeepCopy(), opts...)
				},
			}).Build(),
			want: want{key: existing},
		},
		"Garbage": {
			reason: "A Secret that holds no key should be an error, not silently replaced.",
			kube:   fake.NewClientBuilder().WithObjects(stored([]byte("nope"))).Build(),
			want:   want{err: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Ensure(ctx, tc.kube, "crossplane-system", "k")
			if (err != nil) != tc.want.err {
				t.Fatalf("\n%s\nEnsure(...): want error %t, got %v", tc.reason, tc.want.err, err)
			}
			if tc.want.err {
				return
			}
			if diff := cmp.Diff(tc.want.key, got); diff != "" {
				t.Errorf("\n%s\nEnsure(...): -want key, +got key:\n%s", tc.reason, diff)
			}
		})
	}

	t.Run("Missing", func(t *testing.T) {
		kube := fake.NewClientBuilder().Build()
		got, err := Ensure(ctx, kube, "crossplane-system", "k")
		if err != nil {
			t.Fatal(err)
		}
		s := &corev1.Secret{}
		if err := kube.Get(ctx, client.ObjectKey{Namespace: "crossplane-system", Name: "k"}, s); err != nil {
			t.Fatalf("\nA missing key should be made and stored in the provider's namespace.\nGet(...): %v", err)
		}
		stored, err := parse(s.Data[Key], "", "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stored, got); diff != "" {
			t.Errorf("\nThe key returned should be the key stored.\nEnsure(...): -stored, +got:\n%s", diff)
		}
		if s.Immutable == nil || !*s.Immutable {
			t.Errorf("\nThe key's Secret should be immutable.")
		}
		if diff := cmp.Diff(existing, got); diff == "" {
			t.Errorf("\nEvery new key should be random, not the same as another.")
		}
	})
}
