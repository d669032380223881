package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestURL(t *testing.T) {
	cases := map[string]struct {
		reason string
		p      DesktopRouteParameters
		want   string
	}{
		"HTTP": {
			reason: "A route without TLS should serve http at the root.",
			p:      DesktopRouteParameters{Host: "vdi.example"},
			want:   "http://vdi.example/",
		},
		"HTTPS": {
			reason: "A route with TLS should serve https.",
			p:      DesktopRouteParameters{Host: "vdi.example", TLS: &RouteTLS{CertResolver: "letsencrypt"}},
			want:   "https://vdi.example/",
		},
		"HTTPSEmptyTLS": {
			reason: "An empty TLS block still means https, with Traefik's default certificate.",
			p:      DesktopRouteParameters{Host: "vdi.example", TLS: &RouteTLS{}},
			want:   "https://vdi.example/",
		},
		"PathPrefix": {
			reason: "A path prefix should be the URL's path, with a trailing slash.",
			p:      DesktopRouteParameters{Host: "vdi.example", PathPrefix: "/alice"},
			want:   "http://vdi.example/alice/",
		},
		"PathPrefixWithSlash": {
			reason: "A path prefix that ends in a slash should not get a second one.",
			p:      DesktopRouteParameters{Host: "vdi.example", PathPrefix: "/alice/", TLS: &RouteTLS{SecretName: "vdi-tls"}},
			want:   "https://vdi.example/alice/",
		},
		"RootPrefix": {
			reason: "A path prefix of / should be the root.",
			p:      DesktopRouteParameters{Host: "vdi.example", PathPrefix: "/"},
			want:   "http://vdi.example/",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.p.URL()); diff != "" {
				t.Errorf("\n%s\nURL(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestOwnsHost(t *testing.T) {
	cases := map[string]struct {
		reason string
		host   string
		want   bool
	}{
		"Own": {
			reason: "A host whose first label is the session's own should be its.",
			host:   "a-b-c-1.vdi.example",
			want:   true,
		},
		"OwnInOtherCase": {
			reason: "Host names are case-insensitive, so the label in upper case should be the session's too.",
			host:   "A-B-C-1.VDI.example",
			want:   true,
		},
		"OnlyLabel": {
			reason: "A host that is only the session's label should be its.",
			host:   "a-b-c-1",
			want:   true,
		},
		"SameDashesOtherSplit": {
			reason: "Session a-b of namespace c has the label a-b-c-3, so a-b-c-1 (session a of namespace b-c) should not be its.",
			host:   "a-b-c-3.vdi.example",
		},
		"LabelFurtherDown": {
			reason: "The session's label below the first label should not make the host its.",
			host:   "evil.a-b-c-1.vdi.example",
		},
		"LabelAsPrefix": {
			reason: "A first label that only starts with the session's label should not be its.",
			host:   "a-b-c-10.vdi.example",
		},
		"Empty": {
			reason: "No host should be no session's.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := OwnsHost(tc.host, "a", "b-c"); got != tc.want {
				t.Errorf("\n%s\nOwnsHost(%q, \"a\", \"b-c\"): want %t, got %t", tc.reason, tc.host, tc.want, got)
			}
		})
	}
}

func TestCheckEnvName(t *testing.T) {
	cases := map[string]struct {
		reason  string
		name    string
		refused bool
	}{
		"Plain":              {reason: "A variable of the desktop's own should be allowed.", name: "TZ"},
		"DriverCapabilities": {reason: "NVIDIA_DRIVER_CAPABILITIES chooses driver libraries, not devices, and desktops need it for graphics and video.", name: "NVIDIA_DRIVER_CAPABILITIES"},
		"Require":            {reason: "NVIDIA_REQUIRE_* only constrain the driver.", name: "NVIDIA_REQUIRE_CUDA"},
		"DisableRequire":     {reason: "NVIDIA_DISABLE_REQUIRE only lifts those constraints.", name: "NVIDIA_DISABLE_REQUIRE"},
		"VisibleDevices":     {reason: "NVIDIA_VISIBLE_DEVICES=all would hand the desktop every GPU of its node.", name: "NVIDIA_VISIBLE_DEVICES", refused: true},
		"MIGConfig":          {reason: "NVIDIA_MIG_CONFIG_DEVICES hands out MIG management.", name: "NVIDIA_MIG_CONFIG_DEVICES", refused: true},
		"ImexChannels":       {reason: "NVIDIA_IMEX_CHANNELS hands out devices too; unknown NVIDIA_ variables are refused.", name: "NVIDIA_IMEX_CHANNELS", refused: true},
		"ProviderVariable":   {reason: "The variables the provider sets may be overridden: an image serving Selkies directly needs SELKIES_PORT.", name: "SELKIES_PORT"},
		"LowerCaseLookAlike": {reason: "Variable names are case-sensitive: nvidia_visible_devices is not the runtime's.", name: "nvidia_visible_devices"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := CheckEnvName(tc.name); (err != nil) != tc.refused {
				t.Errorf("\n%s\nCheckEnvName(%q): want refused %t, got error %v", tc.reason, tc.name, tc.refused, err)
			}
		})
	}
}

func TestCheckGPUResourceName(t *testing.T) {
	cases := map[string]struct {
		reason  string
		name    string
		refused bool
	}{
		"Default":         {reason: "An empty name is defaulted to nvidia.com/gpu.", name: ""},
		"NVIDIA":          {reason: "NVIDIA's device plugin's resource is an extended resource.", name: "nvidia.com/gpu"},
		"MIG":             {reason: "A MIG profile is an extended resource of NVIDIA's device plugin.", name: "nvidia.com/mig-1g.10gb"},
		"OtherVendor":     {reason: "Another vendor's GPU is an extended resource.", name: "amd.com/gpu"},
		"CPU":             {reason: "cpu is a native resource: the GPU count would be a CPU request, past any GPU quota.", name: "cpu", refused: true},
		"Memory":          {reason: "memory is a native resource.", name: "memory", refused: true},
		"HugePages":       {reason: "hugepages-2Mi is a native resource.", name: "hugepages-2Mi", refused: true},
		"KubernetesIO":    {reason: "kubernetes.io/ names are Kubernetes' own.", name: "kubernetes.io/batteries", refused: true},
		"SubKubernetesIO": {reason: "Names under a kubernetes.io subdomain are Kubernetes' own too.", name: "node.kubernetes.io/gpu", refused: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := CheckGPUResourceName(tc.name); (err != nil) != tc.refused {
				t.Errorf("\n%s\nCheckGPUResourceName(%q): want refused %t, got error %v", tc.reason, tc.name, tc.refused, err)
			}
		})
	}
}
