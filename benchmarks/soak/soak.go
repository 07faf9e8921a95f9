package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// soakConfig configures one soak run.
type soakConfig struct {
	Duration    time.Duration // traffic time
	Adapter     string
	Concurrency int           // requests in flight (one worker each)
	TTL         time.Duration // the verifier's cache TTL
	// Grace is the slack allowed on top of TTL for a grant after a logout or after Kratos
	// stopped: a whoami that Kratos answered just before the logout (or the kill) may reach
	// the verifier a little later, and its grant is cached from then on.
	Grace time.Duration
	Users userCounts
	// Progress receives a line per event of the timeline (nil: quiet).
	Progress io.Writer
}

// defaultSoakConfig is the recorded configuration: 60 s through net/http.
func defaultSoakConfig() soakConfig {
	return soakConfig{
		Duration:    60 * time.Second,
		Adapter:     "nethttp",
		Concurrency: 16,
		TTL:         2 * time.Second,
		Grace:       time.Second,
		Users:       userCounts{AAL2Tokens: 16, AAL2Cookies: 8, AAL1Tokens: 4, AAL1Cookies: 4, Logouts: 8},
	}
}

// The timeline, as fractions of the duration: samples start after the warm-up; the logout
// clients' sessions are revoked in Kratos; Kratos is stopped, and started again later.
const (
	warmFrac    = 0.05
	revokeFrac  = 0.25
	stopFrac    = 0.40
	restartFrac = 0.60
)

// How often a request goes to each kind of client, in parts of 100.
var kindWeights = []struct {
	kind   string
	weight int
}{
	{kindAAL2Token, 40},
	{kindAAL2Cookie, 25},
	{kindAAL1Token, 8},
	{kindAAL1Cookie, 4},
	{kindLogout, 10},
	{kindUnknown, 13},
}

// Phases of the timeline a request is counted in.
const (
	phaseUp         = "up"         // ended before the stop began
	phaseDown       = "down"       // sent after Kratos had exited, ended before the restart began
	phaseRestarted  = "restarted"  // sent after Kratos was ready again
	phaseTransition = "transition" // overlapped the stop or the restart
)

var phases = []string{phaseUp, phaseDown, phaseTransition, phaseRestarted}

// client is one soak client: a credential and what it owns.
type client struct {
	clientSpec
	header    string // its clientHeader value
	bearer    bool   // send the token as Authorization: Bearer
	revokedAt atomic.Int64
}

// events are the moments of the timeline, as durations since the traffic started (0: not
// yet).
type events struct {
	revokeBegin, stopBegin, stopDone, restartBegin, ready atomic.Int64
}

type snapshot struct {
	at                                                    time.Duration
	revokeBegin, stopBegin, stopDone, restartBegin, ready time.Duration
}

// statKey counts responses.
type statKey struct {
	phase, kind string
	status      int
}

// workerStats is one worker's tally, merged at the end.
type workerStats struct {
	counts       map[statKey]int64
	maxLatency   map[string]time.Duration
	clientErrors int64
	lastCachedDn time.Duration // latest end of a 200 in the down phase, after the stop began
}

// soak is one run.
type soak struct {
	cfg     soakConfig
	t0      time.Time
	ev      events
	clients []*client
	byKind  map[string][]*client
	oryPort int
	back    time.Duration // when Kratos answered its readiness check after the restart

	handlerRuns       atomic.Int64
	violations        atomic.Int64
	grantsAfterLogout atomic.Int64
	maxLogoutAge      atomic.Int64 // latest grant after a logout, since the logout returned

	obs *observer

	// gate pauses the traffic for a sample: each request holds a read lock, a sample the
	// write lock, so samples see the process between requests, not a varying number of
	// them half done.
	gate sync.RWMutex

	mu         sync.Mutex
	examples   []string // violations and unexpected answers, the first few
	unexpected int64
}

// Report is what a soak run measured.
type Report struct {
	Adapter     string
	Duration    time.Duration // traffic, as run
	Concurrency int
	TTL, Grace  time.Duration
	SetupTook   time.Duration // Kratos start with the persistent store, and the users
	Clients     map[string]int

	Requests int64
	RPS      float64
	// Counts[phase][kind][status]
	Counts     map[string]map[string]map[int]int64
	PhaseTime  map[string]time.Duration
	MaxLatency map[string]time.Duration

	ClientErrors int64 // the load generator could not reach the app

	HandlerRuns int64
	// Violations are handler runs without a verified session of the client's own (wrong
	// identity, wrong session, aal1, a client that must never pass, a session revoked more
	// than TTL+Grace ago).
	Violations int64
	// Unexpected are answers outside what the phase allows (see expected).
	Unexpected int64
	Examples   []string
	FiveXXUp   int64 // 5xx answers while Kratos was up (phases up and restarted)

	GrantsAfterLogout int64         // grants of revoked sessions (within TTL: the cache's trade-off)
	LatestAfterLogout time.Duration // the latest, after the logout returned
	LogoutsDenied     int64         // 401s of revoked sessions

	RevokeAt, StopAt, StopTook, DownFor, RestartTook time.Duration
	DownFailClosed, DownCached, DownOther            int64
	LastCachedAfterStop                              time.Duration // since the stop began
	// Recovery is how long after Kratos was back the first whoami granted. Kratos is back at
	// the earlier of its first answer to the verifier and its first 200 to the soak's own
	// 2 ms poll of /health/ready. FirstAnswer, Back and FirstGrant are since the restart
	// command.
	Recovery, FirstAnswer, Back, FirstGrant time.Duration
	Recovered                               bool

	Whoami         int64
	WhoamiByStatus map[int]int64
	CacheHits      int64
	CacheMisses    int64
	OryErrors      map[int]int64 // errors reported to OnError, by the answer's status (502/503/504)

	Before, Start, End, After sample
	Timeline                  []sample
}

// runSoak starts Kratos and the app, drives the traffic along the timeline and returns what
// it measured. An error means the soak could not run; the invariants are the caller's to judge
// from the report.
func runSoak(ctx context.Context, cfg soakConfig) (*Report, error) {
	if !knownAdapter(cfg.Adapter) {
		return nil, fmt.Errorf("unknown adapter %q (known: %v)", cfg.Adapter, allAdapters)
	}
	if cfg.Concurrency < 1 || cfg.Duration <= 0 || cfg.TTL <= 0 {
		return nil, errors.New("concurrency, duration and ttl must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	setupStart := time.Now()
	fmt.Fprintf(progress, "starting Kratos (TOTP project, persistent store) and %d users…\n",
		cfg.Users.AAL2Tokens+cfg.Users.AAL2Cookies+cfg.Users.AAL1Tokens+cfg.Users.AAL1Cookies+cfg.Users.Logouts)
	k, err := startKratos(ctx, cfg.Users)
	if err != nil {
		return nil, err
	}
	defer k.close()
	pu, err := url.Parse(k.PublicURL)
	if err != nil {
		return nil, err
	}
	s := &soak{cfg: cfg, byKind: map[string][]*client{}}
	s.oryPort, _ = strconv.Atoi(pu.Port())
	for _, spec := range append(k.Clients, clientSpec{Kind: kindUnknown}) {
		c := &client{clientSpec: spec, header: strconv.Itoa(len(s.clients))}
		c.bearer = spec.Kind == kindAAL2Token && len(s.byKind[spec.Kind])%2 == 1
		s.clients = append(s.clients, c)
		s.byKind[spec.Kind] = append(s.byKind[spec.Kind], c)
	}
	for _, kw := range kindWeights {
		if len(s.byKind[kw.kind]) == 0 {
			return nil, fmt.Errorf("no client of kind %s", kw.kind)
		}
	}

	s.obs = &observer{s: s, whoamiStatus: map[int]int64{}, oryErrors: map[int]int64{}}
	v, err := core.New(core.Config{
		SDKURL:   k.PublicURL, // Kratos itself, not the counting proxy: a stop is a refused connection
		AppURL:   "http://127.0.0.1",
		Cache:    core.CacheConfig{TTL: cfg.TTL},
		Observer: s.obs,
		OnError:  s.obs.onError,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	a, err := startApp(cfg.Adapter, v, s.check)
	if err != nil {
		return nil, err
	}
	defer a.close()

	rep := &Report{
		Adapter: cfg.Adapter, Concurrency: cfg.Concurrency, TTL: cfg.TTL, Grace: cfg.Grace,
		SetupTook: time.Since(setupStart), Clients: map[string]int{},
	}
	for kind, cs := range s.byKind {
		if kind != kindUnknown {
			rep.Clients[kind] = len(cs)
		}
	}
	fmt.Fprintf(progress, "ready after %v: Kratos at %s, %s app at %s; %v of traffic, %d in flight, cache TTL %v\n",
		rep.SetupTook.Round(time.Millisecond), k.PublicURL, cfg.Adapter, a.URL, cfg.Duration, cfg.Concurrency, cfg.TTL)

	tr := &http.Transport{MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency, IdleConnTimeout: time.Minute, DisableCompression: true}
	hc := &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer tr.CloseIdleConnections()

	rep.Before = takeSample(0, s.oryPort)
	s.t0 = time.Now()
	var (
		stop  atomic.Bool
		wg    sync.WaitGroup
		stats = make([]*workerStats, cfg.Concurrency)
	)
	for i := range cfg.Concurrency {
		stats[i] = &workerStats{counts: map[statKey]int64{}, maxLatency: map[string]time.Duration{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(uint64(i), &stop, hc, a.URL+"/r", stats[i])
		}()
	}

	// The timeline.
	d := cfg.Duration
	type step struct {
		at   time.Duration
		name string
	}
	steps := []step{
		{max(time.Duration(float64(d)*warmFrac), 500*time.Millisecond), "start"},
		{time.Duration(float64(d) * revokeFrac), "revoke"},
		{time.Duration(float64(d) * stopFrac), "stop"},
		{time.Duration(float64(d) * restartFrac), "restart"},
		{d, "end"},
	}
	for at := d / 12; at < d; at += d / 12 {
		steps = append(steps, step{at, "sample"})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	var runErr error
	for _, st := range steps {
		if wait := st.at - time.Since(s.t0); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				runErr = ctx.Err()
			}
		}
		if runErr != nil {
			break
		}
		now := s.since()
		switch st.name {
		case "sample":
			rep.Timeline = append(rep.Timeline, s.sample())
		case "start":
			rep.Start = s.sample()
			rep.Timeline = append(rep.Timeline, rep.Start)
		case "end":
			rep.End = s.sample()
			rep.Timeline = append(rep.Timeline, rep.End)
		case "revoke":
			s.ev.revokeBegin.Store(int64(now))
			rep.RevokeAt = now
			n, err := s.revokeAll(ctx, k.PublicURL)
			if err != nil {
				runErr = err
				break
			}
			fmt.Fprintf(progress, "t=%5.1fs  logged out %d sessions in Kratos (DELETE /self-service/logout/api)\n", now.Seconds(), n)
		case "stop":
			s.ev.stopBegin.Store(int64(now))
			rep.StopAt = now
			if err := k.Stop(); err != nil {
				runErr = err
				break
			}
			done := s.since()
			s.ev.stopDone.Store(int64(done))
			rep.StopTook = done - now
			fmt.Fprintf(progress, "t=%5.1fs  Kratos stopped (exited after %v)\n", now.Seconds(), rep.StopTook.Round(time.Millisecond))
		case "restart":
			s.ev.restartBegin.Store(int64(now))
			rep.DownFor = now - time.Duration(s.ev.stopDone.Load())
			pollCtx, stopPoll := context.WithTimeout(ctx, 2*time.Minute)
			polled := make(chan time.Duration, 1)
			go func() { polled <- s.pollBack(pollCtx, k.PublicURL) }()
			err := k.Restart()
			ready := s.since()
			s.ev.ready.Store(int64(ready))
			if err != nil {
				stopPoll()
				runErr = err
				break
			}
			s.back = <-polled
			stopPoll()
			rep.RestartTook = ready - now
			fmt.Fprintf(progress, "t=%5.1fs  Kratos restarted, answering after %v, ready after %v\n",
				now.Seconds(), (s.back - now).Round(time.Millisecond), rep.RestartTook.Round(time.Millisecond))
		}
		if runErr != nil {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	rep.Duration = s.since()
	tr.CloseIdleConnections()
	rep.After = takeSample(rep.Duration, s.oryPort)
	if runErr != nil {
		return nil, runErr
	}
	s.fill(rep, stats)
	return rep, nil
}

func (s *soak) since() time.Duration { return time.Since(s.t0) }

// sample measures the process between requests: it waits for the requests in flight to end
// and holds new ones back meanwhile (a few milliseconds).
func (s *soak) sample() sample {
	s.gate.Lock()
	defer s.gate.Unlock()
	return takeSample(s.since(), s.oryPort)
}

// pollBack asks Kratos's public /health/ready every 2 ms until it answers 200, and returns
// when (0 if ctx ended first): an outside view of when Kratos was back, finer than
// kratostest's 50 ms poll of the admin API.
func (s *soak) pollBack(ctx context.Context, publicURL string) time.Duration {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, publicURL+"/health/ready", nil)
		if res, err := hc.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s.since()
			}
		}
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}

func (s *soak) snap() snapshot {
	return snapshot{
		at:           s.since(),
		revokeBegin:  time.Duration(s.ev.revokeBegin.Load()),
		stopBegin:    time.Duration(s.ev.stopBegin.Load()),
		stopDone:     time.Duration(s.ev.stopDone.Load()),
		restartBegin: time.Duration(s.ev.restartBegin.Load()),
		ready:        time.Duration(s.ev.ready.Load()),
	}
}

// revokeAll logs every logout client's session out in Kratos, with the token, and marks when
// each logout returned.
func (s *soak) revokeAll(ctx context.Context, publicURL string) (int, error) {
	// A client of its own, whose connection is closed afterwards: the samples count the
	// process's connections to Kratos, which should be the verifier's alone.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	n := 0
	for _, c := range s.byKind[kindLogout] {
		body, _ := json.Marshal(map[string]string{"session_token": c.Token})
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, publicURL+"/self-service/logout/api", bytes.NewReader(body))
		if err != nil {
			return n, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			return n, fmt.Errorf("logout: %w", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			return n, fmt.Errorf("logout: %d %.300s", res.StatusCode, b)
		}
		c.revokedAt.Store(int64(s.since()))
		n++
	}
	return n, nil
}

// check is the protected handler's oracle: it runs only for a verified session of the
// client's own.
func (s *soak) check(hdr string, sess *ory.Session, ok bool) {
	now := s.since()
	s.handlerRuns.Add(1)
	i, err := strconv.Atoi(hdr)
	if err != nil || i < 0 || i >= len(s.clients) {
		s.violate("handler ran for a request of no soak client (%q)", hdr)
		return
	}
	c := s.clients[i]
	switch {
	case !ok || sess == nil:
		s.violate("handler ran without a session (client %s %s)", c.Kind, hdr)
		return
	case c.Kind != kindAAL2Token && c.Kind != kindAAL2Cookie && c.Kind != kindLogout:
		s.violate("handler ran for a %s client", c.Kind)
		return
	case sess.Identity == nil || sess.Identity.Id != c.IdentityID:
		s.violate("handler of client %s (%s) got another identity", hdr, c.Kind)
		return
	case sess.Id != c.SessionID:
		s.violate("handler of client %s (%s) got another session", hdr, c.Kind)
		return
	case sess.AuthenticatorAssuranceLevel == nil || *sess.AuthenticatorAssuranceLevel != ory.AUTHENTICATORASSURANCELEVEL_AAL2:
		s.violate("handler of client %s (%s) ran with a session that is not aal2", hdr, c.Kind)
		return
	}
	if r := time.Duration(c.revokedAt.Load()); r != 0 {
		age := now - r
		s.grantsAfterLogout.Add(1)
		for {
			old := s.maxLogoutAge.Load()
			if int64(age) <= old || s.maxLogoutAge.CompareAndSwap(old, int64(age)) {
				break
			}
		}
		if age > s.cfg.TTL+s.cfg.Grace {
			s.violate("handler of client %s ran %v after its session was logged out (TTL %v)", hdr, age, s.cfg.TTL)
		}
	}
}

func (s *soak) violate(format string, args ...any) {
	s.violations.Add(1)
	s.example("VIOLATION: "+format, args...)
}

func (s *soak) example(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.examples) < 20 {
		s.examples = append(s.examples, fmt.Sprintf(format, args...))
	}
}

// pick chooses a client: a kind by weight, then a client of that kind.
func (s *soak) pick(rng *rand.Rand) *client {
	n := rng.IntN(100)
	for _, kw := range kindWeights {
		if n < kw.weight {
			cs := s.byKind[kw.kind]
			return cs[rng.IntN(len(cs))]
		}
		n -= kw.weight
	}
	panic("kindWeights do not add up to 100")
}

const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// worker sends requests until stop, one at a time.
func (s *soak) worker(id uint64, stop *atomic.Bool, hc *http.Client, target string, st *workerStats) {
	rng := rand.New(rand.NewPCG(id, uint64(time.Now().UnixNano())))
	var tok [32]byte
	for !stop.Load() {
		c := s.pick(rng)
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set(clientHeader, c.header)
		switch {
		case c.Kind == kindUnknown:
			for i := range tok {
				tok[i] = tokenChars[rng.IntN(len(tokenChars))]
			}
			req.Header.Set("X-Session-Token", "ory_st_"+string(tok[:]))
			req.Header.Set("Accept", "application/json")
		case c.Token != "" && c.bearer:
			req.Header.Set("Authorization", "Bearer "+c.Token)
			req.Header.Set("Accept", "application/json")
		case c.Token != "":
			req.Header.Set("X-Session-Token", c.Token)
			req.Header.Set("Accept", "application/json")
		default: // a browser: the Ory cookie among the app's own
			req.Header.Set("Cookie", "theme=dark; ory_kratos_session="+c.Cookie+"; _ga=GA1.1.42")
			req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		}
		s.gate.RLock()
		sent := s.snap()
		res, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		done := s.snap()
		s.gate.RUnlock()
		if err != nil {
			st.clientErrors++
			s.example("client error (%s): %v", c.Kind, err)
			continue
		}
		s.record(st, c, sent, done, res)
	}
}

// record counts one answer in its phase and checks it against what the phase allows.
func (s *soak) record(st *workerStats, c *client, sent, done snapshot, res *http.Response) {
	var phase string
	switch {
	case done.stopBegin == 0:
		phase = phaseUp
	case sent.stopDone != 0 && done.restartBegin == 0:
		phase = phaseDown
	case sent.ready != 0:
		phase = phaseRestarted
	default:
		phase = phaseTransition
	}
	st.counts[statKey{phase, c.Kind, res.StatusCode}]++
	if lat := done.at - sent.at; lat > st.maxLatency[phase] {
		st.maxLatency[phase] = lat
	}
	status := res.StatusCode
	bad := ""
	switch phase {
	case phaseUp, phaseRestarted:
		bad = s.expectUp(c, sent, done, res)
	case phaseDown:
		switch {
		case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		case status == http.StatusOK && done.at-done.stopBegin <= s.cfg.TTL+s.cfg.Grace:
			st.lastCachedDn = max(st.lastCachedDn, done.at-done.stopBegin)
		case status == http.StatusOK:
			bad = fmt.Sprintf("200 %v after Kratos stopped, past the cache TTL", done.at-done.stopBegin)
		default:
			bad = fmt.Sprintf("%d while Kratos was down (want 503/504, or 200 from the cache)", status)
		}
	}
	if bad != "" {
		s.mu.Lock()
		s.unexpected++
		s.mu.Unlock()
		s.example("unexpected, %s client %s at t=%.2fs (%s): %s", c.Kind, c.header, done.at.Seconds(), phase, bad)
	}
}

// expectUp says what is wrong with an answer while Kratos is up ("" if nothing).
func (s *soak) expectUp(c *client, sent, done snapshot, res *http.Response) string {
	status := res.StatusCode
	want := 0
	switch c.Kind {
	case kindAAL2Token, kindAAL2Cookie:
		want = http.StatusOK
	case kindAAL1Token:
		want = http.StatusForbidden
	case kindAAL1Cookie:
		want = http.StatusSeeOther
		if status == want && !strings.Contains(res.Header.Get("Location"), "/self-service/login/browser?aal=aal2&") {
			return "step-up redirect to " + res.Header.Get("Location")
		}
	case kindUnknown:
		want = http.StatusUnauthorized
	case kindLogout:
		revoked := time.Duration(c.revokedAt.Load())
		switch {
		case done.revokeBegin == 0 || (revoked == 0 && status == http.StatusOK):
			want = http.StatusOK
		case status == http.StatusUnauthorized:
			return ""
		case status == http.StatusOK && (revoked == 0 || done.at-revoked <= s.cfg.TTL+s.cfg.Grace):
			return ""
		default:
			return fmt.Sprintf("%d for a session logged out %v ago (want 401; 200 within the TTL)", status, done.at-revoked)
		}
	}
	if status != want {
		return fmt.Sprintf("%d, want %d", status, want)
	}
	return ""
}

// fill completes the report from the workers' tallies and the observer.
func (s *soak) fill(rep *Report, stats []*workerStats) {
	rep.Counts = map[string]map[string]map[int]int64{}
	rep.MaxLatency = map[string]time.Duration{}
	for _, st := range stats {
		for k, n := range st.counts {
			if rep.Counts[k.phase] == nil {
				rep.Counts[k.phase] = map[string]map[int]int64{}
			}
			if rep.Counts[k.phase][k.kind] == nil {
				rep.Counts[k.phase][k.kind] = map[int]int64{}
			}
			rep.Counts[k.phase][k.kind][k.status] += n
			rep.Requests += n
			if (k.phase == phaseUp || k.phase == phaseRestarted) && k.status >= 500 {
				rep.FiveXXUp += n
			}
			if k.kind == kindLogout && k.status == http.StatusUnauthorized {
				rep.LogoutsDenied += n
			}
			if k.phase == phaseDown {
				switch {
				case k.status == http.StatusServiceUnavailable || k.status == http.StatusGatewayTimeout:
					rep.DownFailClosed += n
				case k.status == http.StatusOK:
					rep.DownCached += n
				default:
					rep.DownOther += n
				}
			}
		}
		for p, l := range st.maxLatency {
			rep.MaxLatency[p] = max(rep.MaxLatency[p], l)
		}
		rep.ClientErrors += st.clientErrors
		rep.LastCachedAfterStop = max(rep.LastCachedAfterStop, st.lastCachedDn)
	}
	rep.RPS = float64(rep.Requests) / rep.Duration.Seconds()
	ev := s.snap()
	rep.PhaseTime = map[string]time.Duration{
		phaseUp:         ev.stopBegin,
		phaseDown:       ev.restartBegin - ev.stopDone,
		phaseTransition: (ev.stopDone - ev.stopBegin) + (ev.ready - ev.restartBegin),
		phaseRestarted:  rep.Duration - ev.ready,
	}
	rep.HandlerRuns = s.handlerRuns.Load()
	rep.Violations = s.violations.Load()
	rep.Unexpected = s.unexpected
	rep.Examples = s.examples
	rep.GrantsAfterLogout = s.grantsAfterLogout.Load()
	rep.LatestAfterLogout = time.Duration(s.maxLogoutAge.Load())
	back := s.back
	if a := time.Duration(s.obs.firstAnswer.Load()); a != 0 {
		rep.FirstAnswer = a - ev.restartBegin
		if back == 0 || a < back {
			back = a
		}
	}
	if back != 0 {
		rep.Back = back - ev.restartBegin
	}
	if g := time.Duration(s.obs.firstGrant.Load()); g != 0 && back != 0 {
		rep.Recovered = true
		rep.Recovery = g - back
		rep.FirstGrant = g - ev.restartBegin
	}
	s.obs.mu.Lock()
	rep.WhoamiByStatus = s.obs.whoamiStatus
	rep.OryErrors = s.obs.oryErrors
	s.obs.mu.Unlock()
	rep.Whoami = s.obs.whoami.Load()
	rep.CacheHits = s.obs.hits.Load()
	rep.CacheMisses = s.obs.misses.Load()
}

// observer counts what the verifier does and notes the first grant from Ory after the
// restart began.
type observer struct {
	core.NoopObserver
	s            *soak
	whoami       atomic.Int64
	hits, misses atomic.Int64
	firstGrant   atomic.Int64 // since t0: the first whoami that granted after the restart began
	firstAnswer  atomic.Int64 // since t0: the first whoami answered at all after the restart began

	mu           sync.Mutex
	whoamiStatus map[int]int64
	oryErrors    map[int]int64
}

func (o *observer) EndWhoami(_ context.Context, e core.WhoamiEvent) {
	o.whoami.Add(1)
	o.mu.Lock()
	o.whoamiStatus[e.Status]++
	o.mu.Unlock()
	if e.Status != 0 && o.s.ev.restartBegin.Load() != 0 {
		now := int64(o.s.since())
		o.firstAnswer.CompareAndSwap(0, now)
		if e.Err == nil && e.Status == http.StatusOK {
			o.firstGrant.CompareAndSwap(0, now)
		}
	}
}

func (o *observer) CacheLookup(hit bool) {
	if hit {
		o.hits.Add(1)
	} else {
		o.misses.Add(1)
	}
}

func (o *observer) onError(_ context.Context, err error) {
	status := 0
	var ue *core.UnavailableError
	if errors.As(err, &ue) {
		status = ue.Status
	}
	o.mu.Lock()
	o.oryErrors[status]++
	o.mu.Unlock()
}
