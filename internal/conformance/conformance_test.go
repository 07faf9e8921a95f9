package conformance_test

import (
	"os"
	"testing"

	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }

// TestAdapters runs the whole table through every registered adapter (-run 'TestAdapters/chi/'
// picks one), adapters in parallel, each on its own Kratos.
func TestAdapters(t *testing.T) {
	for _, a := range conformance.Adapters {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			conformance.Run(t, a)
		})
	}
}

// TestZeroConfigSetupPanics: without ORY_SDK_URL every adapter's zero-config guards panic at
// setup, naming the variable.
func TestZeroConfigSetupPanics(t *testing.T) {
	for _, a := range conformance.Adapters {
		t.Run(a.Name, func(t *testing.T) { conformance.SetupPanics(t, a) })
	}
}
