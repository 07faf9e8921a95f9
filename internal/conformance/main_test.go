package conformance_test

import (
	"os"
	"testing"

	"github.com/orymfa/orymfa/internal/conformance"
)

func TestMain(m *testing.M) { os.Exit(conformance.Main(m)) }
