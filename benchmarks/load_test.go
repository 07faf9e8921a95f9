package benchmarks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// workers is the load's concurrency: each worker sends one request at a time, with its own
// session, over keep-alive connections.
const workers = 32

// browserCookie surrounds Ory's session cookie in every browser request: analytics, preferences,
// CSRF and the app's own session, as on a real app behind Ory.
func browserCookie(c string) string {
	return "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; " +
		c + "; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB"
}

const acceptHTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// bed is the real Kratos the loopback benchmarks share, started on first use and stopped by
// TestMain: a TOTP project (Strict, Ory's default), one aal2 browser session per worker (the
// ory_kratos_session cookie Kratos set, about 430 bytes, after TOTP enrollment upgraded the
// session) and the aal1 session token of a user with TOTP (whoami answers 403), for the
// anchors' deny check.
type bed struct {
	p       *kratostest.Project
	cookies []string // "ory_kratos_session=…"
	aal1    string
}

var (
	bedOnce sync.Once
	theBed  *bed
	errBed  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theBed != nil {
		theBed.p.Close()
	}
	os.Exit(code)
}

// kratosBed returns the shared Kratos, starting it on first use; it skips under -short.
func kratosBed(b *testing.B) *bed {
	if testing.Short() {
		b.Skip("needs a real Kratos (scripts/build-kratos.sh)")
	}
	bedOnce.Do(func() { theBed, errBed = startBed() })
	if errBed != nil {
		b.Fatal(errBed)
	}
	return theBed
}

func startBed() (*bed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := kratostest.Start(ctx, kratostest.TOTP)
	if err != nil {
		return nil, err
	}
	bd := &bed{p: p}
	for range workers {
		br := p.NewBrowser()
		if err := br.Register(ctx, kratostest.NewEmail(), kratostest.Password); err != nil {
			return bd, err
		}
		if _, err := br.EnrollTOTP(ctx); err != nil {
			return bd, err
		}
		c := br.SessionCookie()
		if c == nil {
			return bd, fmt.Errorf("no %s cookie after TOTP enrollment", kratostest.SessionCookieName)
		}
		bd.cookies = append(bd.cookies, c.Name+"="+c.Value)
	}
	email := kratostest.NewEmail()
	token, err := p.RegisterAPI(ctx, email, kratostest.Password)
	if err == nil {
		_, err = p.EnrollTOTPAPI(ctx, token)
	}
	if err == nil {
		bd.aal1, err = p.LoginAPI(ctx, email, kratostest.Password) // the password only: aal1
	}
	return bd, err
}

// whoamiCalls is how many whoami requests Kratos has served, from the http_requests_total
// counters of its Prometheus endpoint (one per status code), so that nothing stands between
// the guards and Kratos to count them.
func (bd *bed) whoamiCalls(tb testing.TB) int64 {
	resp, err := http.Get(bd.p.AdminURL + "/admin/metrics/prometheus")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var n float64
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "http_requests_total{") && strings.Contains(line, `"/sessions/whoami"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				tb.Fatalf("Kratos metrics: %q: %v", line, err)
			}
			n += v
		}
	}
	return int64(n)
}

// appServer is one adapter's app of the registry, guarded by a verifier that reaches Kratos
// through a forwarder counting its TCP connections.
type appServer struct {
	url   string
	conns *atomic.Int64
}

// serveApp serves a's app (internal/conformance) with a verifier of Kratos with cache: /public
// unguarded, /aal2 behind RequireAAL2, both answering a small JSON body.
func serveApp(b testing.TB, a conformance.Adapter, oryURL string, cache core.CacheConfig) appServer {
	fwd, conns := forwarder(b, strings.TrimPrefix(oryURL, "http://"))
	v, err := core.New(core.Config{
		SDKURL: fwd, AppURL: "http://127.0.0.1", Cache: cache,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"ok":true}`)
	url := a.Serve(b, conformance.App{
		Verifier: v, Other: v, MaxAge: time.Hour,
		Handle: func(_, _ *ory.Session) (int, []byte) { return http.StatusOK, body },
		Deny:   func(*core.Decision) (int, []byte) { return http.StatusForbidden, nil },
	})
	return appServer{url: url, conns: conns}
}

// forwarder accepts TCP connections on loopback and pipes each to target (host:port),
// counting them. It closes its listener with tb.Cleanup; open connections end with their
// peers.
func forwarder(tb testing.TB, target string) (url string, accepted *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	accepted = new(atomic.Int64)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				go func() {
					_, _ = io.Copy(out, in)
					_ = out.Close()
				}()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	return "http://" + ln.Addr().String(), accepted
}

// load sends b.N GET requests to url from the workers (b.RunParallel), each worker with its
// own session cookie among the app's cookies and a browser's Accept, and fails on any answer
// but 200. Besides sec/op (wall time per request, all workers together) it reports req/s, the
// 50th and 99th percentile latency, the CPU per request of this process plus the processes
// pids (Linux), and, when calls is set, the cell's whoami calls per million requests (not
// for an unguarded route: benchstat scales a unit's row by its first column).
func load(b *testing.B, url string, cookies []string, calls *whoamiCount, pids ...int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxIdleConns: workers}}
	defer client.CloseIdleConnections()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		failed    atomic.Value
	)
	b.SetParallelism(max(1, workers/runtime.GOMAXPROCS(0)))
	if calls != nil && !calls.started {
		calls.first, calls.started = calls.count(), true
	}
	cpu0 := cpuTime(pids)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		// A credential is a browser's Ory cookie, or an API client's "Bearer <JWT>".
		if c := cookies[int(next.Add(1))%len(cookies)]; strings.HasPrefix(c, "Bearer ") {
			req.Header.Set("Authorization", c)
		} else {
			req.Header.Set("Cookie", browserCookie(c))
		}
		req.Header.Set("Accept", acceptHTML)
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failed.Store(err.Error())
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				failed.Store(resp.Status)
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cpuTime(pids) - cpu0
	if f := failed.Load(); f != nil {
		b.Fatalf("GET %s: %v", url, f)
	}
	slices.Sort(latencies)
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
	if calls != nil {
		calls.requests += b.N
		b.ReportMetric(float64(calls.count()-calls.first)*1e6/float64(calls.requests), "whoami/Mreq")
	}
}

// whoamiCount counts one cell's whoami calls (Kratos's counter) and requests over all its
// runs, b.N's ramp included, so that a cached cell's few calls (one per session and TTL) show.
type whoamiCount struct {
	count    func() int64
	started  bool
	first    int64 // Kratos's count before the cell's first run
	requests int
}

// cpuTime is the user and system CPU time of this process and of the processes pids so far.
func cpuTime(pids []int) time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	for _, pid := range pids {
		t += processCPU(pid)
	}
	return t
}

// processCPU is process pid's user and system CPU time from /proc/pid/stat (fields 14 and 15,
// in ticks of 1/100 s), or 0 where there is no /proc.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100)
}
