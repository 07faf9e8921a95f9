package core

import (
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"time"

	ory "github.com/ory/client-go"
)

// maxWhoamiBody bounds what is read of Ory's answer; a real session is a few kilobytes.
const maxWhoamiBody = 1 << 20

// newWhoamiClient returns the client the verifier asks Ory with. Whoever built the client, the
// verifier's copy follows the same rules:
//
//   - it never follows a redirect: whoami does not redirect, and following one would carry
//     the session token or cookie to wherever the redirect points;
//   - it refuses an answer over 1 MiB: client-go reads the whole body into memory;
//   - every call is bounded by the verifier's timeout, reading the body included (whoami puts
//     the deadline on the call's context).
//
// A user's client is copied, not changed: its transport (instrumentation, a proxy dialer) is
// kept underneath. Without one, the verifier gets a transport of its own that keeps idle
// connections for concurrent use (http.DefaultTransport keeps two per host, so a burst of
// cache misses would open a new connection, and a TLS handshake, for nearly every call).
func newWhoamiClient(v *Verifier, sdkURL string, user *ory.APIClient, idleConns int) *ory.APIClient {
	var (
		cfg     ory.Configuration
		base    http.RoundTripper
		timeout time.Duration
	)
	if user != nil {
		cfg = *user.GetConfig()
		if hc := cfg.HTTPClient; hc != nil {
			base, timeout = hc.Transport, hc.Timeout
		}
	} else {
		cfg = *ory.NewConfiguration()
		cfg.Servers = ory.ServerConfigurations{{URL: strings.TrimRight(sdkURL, "/")}}
		cfg.UserAgent = "orymfa"
	}
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = idleConns
		t.MaxIdleConnsPerHost = idleConns
		// A dropped verifier must not keep its idle connections (and their goroutines) until
		// they time out; the transport does not reference the verifier, so this can run.
		runtime.AddCleanup(v, func(t *http.Transport) { t.CloseIdleConnections() }, t)
		base = t
	}
	cfg.HTTPClient = &http.Client{
		Transport:     limitedTransport{base: base},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
	}
	return ory.NewAPIClient(&cfg)
}

// limitedTransport fails a response whose body exceeds maxWhoamiBody, so client-go's
// io.ReadAll cannot be made to buffer an unbounded answer.
type limitedTransport struct{ base http.RoundTripper }

// RoundTrip wraps the response body in a limitedBody.
func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &limitedBody{r: io.LimitReader(resp.Body, maxWhoamiBody+1), c: resp.Body}
	return resp, nil
}

type limitedBody struct {
	r io.Reader
	c io.Closer
	n int64
}

var errBodyTooLarge = errors.New("answer larger than 1 MiB")

// Read fails with errBodyTooLarge once more than maxWhoamiBody bytes were read.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > maxWhoamiBody {
		return n, errBodyTooLarge
	}
	return n, err
}

// Close closes the underlying body.
func (b *limitedBody) Close() error { return b.c.Close() }
