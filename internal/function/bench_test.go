package function

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
)

// fullSession is the request of a running GPU session on its second pass:
// template resolved, all four managed resources observed as it composes
// them.
func fullSession() *fnv1.RunFunctionRequest {
	return runRequest(session(withGPU(2)), append(observedAll(session(withGPU(2))), withTemplate(template()))...)
}

// heldSession is fullSession asking for more GPUs than its desktop runs
// with: the function holds the change back (holdPod).
func heldSession() *fnv1.RunFunctionRequest {
	return runRequest(session(withGPU(2)), append(observedAll(session()), withTemplate(template()))...)
}

// BenchmarkRunFunction measures one RunFunction of a full GPU session: in
// process (also with a change held back), beside its floor (what any function pays to receive the request
// and send the response: proto marshal and unmarshal of both), and as a
// call over loopback gRPC, as Crossplane makes it, beside a function that
// returns the same response without composing it.
func BenchmarkRunFunction(b *testing.B) {
	f := New(WithClock(func() time.Time { return now }))
	req := fullSession()
	rsp, err := f.RunFunction(context.Background(), req)
	if err != nil || len(rsp.GetResults()) > 0 || len(rsp.GetDesired().GetResources()) != 4 {
		b.Fatalf("RunFunction(...): want four resources and no results, got %v, %v", rsp, err)
	}

	b.Run("InProcess", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = f.RunFunction(context.Background(), req)
		}
	})

	b.Run("InProcessChangeHeld", func(b *testing.B) {
		held := heldSession()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = f.RunFunction(context.Background(), held)
		}
	})

	b.Run("Floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, m := range []proto.Message{req, rsp} {
				raw, err := proto.Marshal(m)
				if err != nil {
					b.Fatal(err)
				}
				if err := proto.Unmarshal(raw, m.ProtoReflect().New().Interface()); err != nil {
					b.Fatal(err)
				}
			}
		}
	})

	b.Run("GRPC", func(b *testing.B) { benchmarkGRPC(b, f, req) })

	// GRPCNop serves the same response without composing it: the floor of
	// a call over gRPC, transport included.
	b.Run("GRPCNop", func(b *testing.B) { benchmarkGRPC(b, nop{rsp: rsp}, req) })
}

// A nop function returns a fixed response.
type nop struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	rsp *fnv1.RunFunctionResponse
}

func (n nop) RunFunction(context.Context, *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	return n.rsp, nil
}

// benchmarkGRPC calls f over a loopback gRPC connection (insecure).
func benchmarkGRPC(b *testing.B, f fnv1.FunctionRunnerServiceServer, req *fnv1.RunFunctionRequest) {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	fnv1.RegisterFunctionRunnerServiceServer(srv, f)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close() //nolint:errcheck // Best effort.
	c := fnv1.NewFunctionRunnerServiceClient(conn)
	if _, err := c.RunFunction(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.RunFunction(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
