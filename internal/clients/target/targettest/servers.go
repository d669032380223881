package targettest

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// A Server is a TLS server on loopback that stands in for a target
// cluster's API server, as a tenant could run one: it answers every request
// as /version would and records the Authorization header of each.
type Server struct {
	*httptest.Server

	mu   sync.Mutex
	auth []string
}

// NewServer starts a Server on 127.0.0.1 and stops it when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"35","gitVersion":"v1.35.4"}`))
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen on loopback: %v", err)
	}
	s.Listener = l
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// Authorizations returns the Authorization header of every request so far,
// "" for a request without one.
func (s *Server) Authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

// CAPEM returns the server's certificate in PEM, to trust it as a CA.
func (s *Server) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// A BlackHole is a listener on loopback that accepts connections and never
// writes to them: a cluster that hangs every request.
type BlackHole struct {
	net.Listener

	// Accepted receives a value for each connection accepted.
	Accepted chan struct{}
}

// NewBlackHole starts a BlackHole on 127.0.0.1 and closes it, and every
// connection it holds, when t ends.
func NewBlackHole(t testing.TB) *BlackHole {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen on loopback: %v", err)
	}
	b := &BlackHole{Listener: l, Accepted: make(chan struct{}, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			select {
			case b.Accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
	})
	return b
}

// URL returns the black hole's address as an https:// server URL.
func (b *BlackHole) URL() string { return "https://" + b.Addr().String() }

// Kubeconfig returns a kubeconfig whose one context reaches server, trusting
// ca (PEM; none means the system's roots), as user.
func Kubeconfig(t testing.TB, server string, ca []byte, user *clientcmdapi.AuthInfo) []byte {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["target"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	kc.AuthInfos["tenant"] = user
	kc.Contexts["target"] = &clientcmdapi.Context{Cluster: "target", AuthInfo: "tenant"}
	kc.CurrentContext = "target"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatalf("cannot write kubeconfig: %v", err)
	}
	return b
}
