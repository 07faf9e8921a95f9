package rpcconformance_test

import (
	"os"
	"testing"

	"github.com/orymfa/orymfa/internal/rpcconformance"
)

func TestMain(m *testing.M) { os.Exit(rpcconformance.Main(m)) }

// TestTransports runs the whole table through every registered transport (-run
// 'TestTransports/grpc/' picks one).
func TestTransports(t *testing.T) {
	for _, tr := range rpcconformance.Transports {
		t.Run(tr.Name, func(t *testing.T) { rpcconformance.Run(t, tr) })
	}
}

// TestGateway: a grpc-gateway in front of the gRPC server passes a browser's cookie.
func TestGateway(t *testing.T) { rpcconformance.RunGateway(t) }
