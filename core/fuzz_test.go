package core_test

// Fuzz targets for the three ways a request or an answer from Ory reaches the guard:
//
//   - FuzzReturnTo (returnto_fuzz_test.go): raw request bytes, parsed by net/http, through the
//     net/http adapter; the Location of the login redirect;
//   - FuzzCredentials (credentials_fuzz_test.go): the credential headers; what whoami receives;
//   - FuzzWhoami (whoami_fuzz_test.go): whoami's status, headers and body; what the guard
//     decides and whether the handler runs.
//
// Each oracle is written from the specification (RFC 6265, RFC 7235, the design brief), not
// from the core's code, and the harnesses need no network: whoami goes to an in-memory
// RoundTripper. `go test` runs the seeds (f.Add and testdata/fuzz); a fuzzing run is
//
//	go test -run '^$' -fuzz '^FuzzReturnTo$' -fuzztime 5m ./core
//
// (see RELIABILITY.md for the figures).

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// fuzzOryURL is where the in-memory Ory lives; nothing listens there.
const fuzzOryURL = "http://ory.fuzz.invalid:4433"

// fuzzOry is an in-memory whoami: it records what each call carried and answers with the
// response its answer function builds. Reused across a fuzz worker's executions: reset it
// before each one.
type fuzzOry struct {
	mu     sync.Mutex
	calls  []*http.Request
	answer func(r *http.Request) *http.Response
}

// RoundTrip records the request and answers.
func (o *fuzzOry) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	o.calls = append(o.calls, r)
	answer := o.answer
	o.mu.Unlock()
	if r.Body != nil {
		r.Body.Close()
	}
	resp := answer(r)
	resp.Request = r
	return resp, nil
}

// reset forgets the calls and sets the next answer.
func (o *fuzzOry) reset(answer func(*http.Request) *http.Response) {
	o.mu.Lock()
	o.calls = o.calls[:0]
	o.answer = answer
	o.mu.Unlock()
}

// recorded returns the calls since the last reset.
func (o *fuzzOry) recorded() []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*http.Request(nil), o.calls...)
}

// fuzzResponse builds an answer.
func fuzzResponse(status int, header http.Header, body []byte) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		Status:        http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(strings.NewReader(string(body))),
		ContentLength: int64(len(body)),
	}
}

// kratos401 is Kratos v1.3.1's whoami answer without a session (captured).
const kratos401 = `{"error":{"code":401,"status":"Unauthorized","reason":"No valid session credentials found in the request.","message":"The request could not be authorized"}}`

// answer401 is whoami without a session, as Kratos answers it.
func answer401(*http.Request) *http.Response {
	return fuzzResponse(http.StatusUnauthorized, http.Header{"Content-Type": {"application/json"}}, []byte(kratos401))
}

// newFuzzVerifier builds a verifier whose whoami calls go to o, quiet (the fuzzers make
// every kind of error on purpose).
func newFuzzVerifier(tb testing.TB, o *fuzzOry, cfg core.Config) *core.Verifier {
	tb.Helper()
	oc := ory.NewConfiguration()
	oc.Servers = ory.ServerConfigurations{{URL: fuzzOryURL}}
	oc.HTTPClient = &http.Client{Transport: o}
	cfg.APIClient = ory.NewAPIClient(oc)
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.OnError = func(context.Context, error) {}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	v, err := core.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// asciiSpace is ASCII white space (Go's, and net/textproto's plus \v and \f, which net/http
// refuses in header values anyway).
const asciiSpace = " \t\n\v\f\r"

func trimASCIISpace(s string) string { return strings.Trim(s, asciiSpace) }

// visibleASCII reports whether s is non-empty and made of bytes 0x21–0x7e only: what may go
// into a header value sent to Ory without quoting or escaping.
func visibleASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
