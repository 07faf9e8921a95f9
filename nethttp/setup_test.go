package orymfa_test

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	orymfa "github.com/orymfa/orymfa/nethttp"
)

// A duration without its unit counts nanoseconds: WithMaxAge(5) would send every user to
// re-authenticate forever, Timeout: 3 fail every request. Both are refused at setup, naming
// the setting and the unit probably meant.
func TestUnitTyposFailAtSetup(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	v := orymfa.MustNew(orymfa.Config{SDKURL: "http://127.0.0.1:1", Logger: quiet})
	func() {
		defer func() {
			err, _ := recover().(error)
			if !errors.Is(err, orymfa.ErrConfig) || !strings.Contains(err.Error(), "WithMaxAge is 5ns, under 1s") || !strings.Contains(err.Error(), "5 * time.Minute") {
				t.Fatalf("RequireAAL2(WithMaxAge(5)) recovered %v, want a configuration error naming WithMaxAge and the unit", err)
			}
		}()
		orymfa.RequireAAL2(orymfa.WithVerifier(v), orymfa.WithMaxAge(5))
	}()
	if _, err := orymfa.New(orymfa.Config{SDKURL: "http://127.0.0.1:1", Logger: quiet, Timeout: 3}); !errors.Is(err, orymfa.ErrConfig) || !strings.Contains(err.Error(), "Timeout is 3ns") || !strings.Contains(err.Error(), "3 * time.Second") {
		t.Fatalf("Timeout: 3: %v", err)
	}
}
