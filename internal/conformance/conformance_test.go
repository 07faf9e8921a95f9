package conformance_test

import (
	"os"
	"testing"

	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

// TestAdapters runs the whole table through every registered adapter (-run 'TestAdapters/chi/'
// picks one).
func TestAdapters(t *testing.T) {
	for _, a := range conformance.Adapters {
		t.Run(a.Name, func(t *testing.T) { conformance.Run(t, a) })
	}
}
