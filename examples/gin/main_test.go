package main

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/orymfa/orymfa/examples/internal/exampletest"
)

func TestMain(m *testing.M) { os.Exit(exampletest.Main(m)) }

func TestExample(t *testing.T) {
	exampletest.Run(t, func(t *testing.T) string {
		srv := httptest.NewServer(newApp())
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
