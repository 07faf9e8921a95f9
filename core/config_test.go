package core

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Ory URLs that would produce broken redirects are refused at setup, naming the setting.
func TestBaseURLValidation(t *testing.T) {
	for _, bad := range []string{
		"http://ory.example?", "http://ory.example#", "http://ory.example/?a=b", "http://ory.example/#x",
		"http://:80", "http://ory.example:99999", "http://ory.example:0", "http://ory.example:x",
		"http://ory.example:", "http://ory.example/a path", "http://ory.example/\x7f", "http://ory.exämple",
		"http://user:pw@ory.example", "ftp://ory.example", "ory.example", "localhost:4433", "//ory.example", "",
	} {
		for _, setting := range []string{"SDKURL", "BrowserURL", "AppURL"} {
			cfg := Config{SDKURL: "http://ory.example"}
			switch setting {
			case "SDKURL":
				cfg.SDKURL = bad
			case "BrowserURL":
				cfg.BrowserURL = bad
			case "AppURL":
				cfg.AppURL = bad
			}
			if bad == "" && setting != "SDKURL" {
				continue // empty means "default" there
			}
			_, err := New(cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), setting) {
				t.Errorf("%s %q: %v, want ErrConfig naming %s", setting, bad, err, setting)
			}
		}
	}
	for _, good := range []string{"http://ory.example", "https://ory.example:4433/", "http://127.0.0.1:4433", "http://[::1]:4433", "https://ory.example/kratos"} {
		if _, err := New(Config{SDKURL: good}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	t.Setenv(EnvSDKURL, "")
	if _, err := NewGuard(RequireAAL2); err == nil || !strings.Contains(err.Error(), "ORY_SDK_URL") || !errors.Is(err, ErrConfig) {
		t.Fatalf("missing ORY_SDK_URL: %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "ORY_SDK_URL") {
				t.Fatalf("MustGuard did not panic naming ORY_SDK_URL: %v", r)
			}
		}()
		MustGuard(RequireSession)
	}()
	t.Setenv(EnvSDKURL, "localhost:4433")
	if _, err := NewGuard(RequireAAL2); err == nil || !strings.Contains(err.Error(), "SDKURL") {
		t.Fatalf("malformed ORY_SDK_URL: %v", err)
	}
	for _, cfg := range []Config{
		{SDKURL: "http://ory", AppURL: "https://app.example/base"},
		{SDKURL: "http://ory", BrowserURL: "ftp://x"},
		{SDKURL: "http://ory", CookieNames: []string{"bad name"}},
		{SDKURL: "http://ory", Enforcement: 7},
		{SDKURL: "http://ory", Cache: CacheConfig{TTL: -1}},
		{SDKURL: "http://ory", Timeout: -time.Second},
		{SDKURL: "http://ory", MaxIdleConns: -1},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Fatalf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	t.Setenv(EnvSDKURL, "http://127.0.0.1:4433")
	a, b := MustGuard(RequireSession), MustGuard(RequireAAL2)
	if a.v != b.v {
		t.Fatal("guards built from the environment do not share one verifier (and cache)")
	}
	if _, err := NewGuard(RequireAAL2, WithMaxAge(-time.Second)); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative max age: %v", err)
	}
}

// Without AppURL the verifier says once, at setup, that return_to follows the Host header.
func TestMissingAppURLIsLoggedAtSetup(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	MustNew(Config{SDKURL: "http://ory", Logger: logger})
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), "AppURL") {
		t.Fatalf("logged %d lines about AppURL, want 1: %s", n, buf.String())
	}
	buf.Reset()
	MustNew(Config{SDKURL: "http://ory", Logger: logger, AppURL: "https://app.example"})
	if buf.Len() != 0 {
		t.Fatalf("logged with AppURL set: %s", buf.String())
	}
}

// An Ory on loopback (the test kit, a local Kratos) is a test or a developer's machine: the
// line would be printed by every test, so it is a debug record there.
func TestMissingAppURLIsQuietOnLoopback(t *testing.T) {
	var buf bytes.Buffer
	info := slog.New(slog.NewTextHandler(&buf, nil))
	for _, sdk := range []string{"http://127.0.0.1:4433", "http://[::1]:4433", "http://localhost:4433", "http://127.0.0.2"} {
		MustNew(Config{SDKURL: sdk, Logger: info})
	}
	if buf.Len() != 0 {
		t.Fatalf("logged at Info for a loopback Ory: %s", buf.String())
	}
	debug := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	MustNew(Config{SDKURL: "http://127.0.0.1:4433", Logger: debug})
	if !strings.Contains(buf.String(), "level=DEBUG") || !strings.Contains(buf.String(), "AppURL") {
		t.Fatalf("no debug record: %q", buf.String())
	}
	buf.Reset()
	MustNew(Config{SDKURL: "https://slug.projects.oryapis.com", Logger: info})
	MustNew(Config{SDKURL: "http://10.0.0.1:4433", Logger: info})
	if n := strings.Count(buf.String(), "level=INFO"); n != 2 {
		t.Fatalf("%d Info records for two Ory URLs off loopback, want 2: %s", n, buf.String())
	}
}

// A duration written without its unit (Timeout: 3, WithMaxAge(5)) counts nanoseconds: refused
// at setup, naming the setting and the unit probably meant; real values pass.
func TestUnitTyposAreRefusedAtSetup(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Timeout: 3}, "Timeout is 3ns, under 1ms: a time.Duration counts nanoseconds; did you mean 3 * time.Second?"},
		{Config{Timeout: 999 * time.Microsecond}, "Timeout is 999µs"},
		{Config{Cache: CacheConfig{TTL: 10}}, "Cache.TTL is 10ns, under 1ms: a time.Duration counts nanoseconds; did you mean 10 * time.Second? (Cache.Disabled turns the cache off)"},
		{Config{LogInterval: 10}, "LogInterval is 10ns"},
	} {
		tc.cfg.SDKURL = "http://ory"
		if _, err := New(tc.cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
	for _, cfg := range []Config{
		{Timeout: time.Millisecond, Cache: CacheConfig{TTL: time.Millisecond}, LogInterval: time.Millisecond},
		{Timeout: 3 * time.Second, Cache: CacheConfig{TTL: 10 * time.Second}, LogInterval: -1},
	} {
		cfg.SDKURL, cfg.AppURL = "http://ory", "https://app.example"
		if _, err := New(cfg); err != nil {
			t.Errorf("New(%+v) = %v", cfg, err)
		}
	}
	v := MustNew(Config{SDKURL: "http://ory", AppURL: "https://app.example"})
	_, err := NewGuard(RequireAAL2, WithVerifier(v), WithMaxAge(5))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "WithMaxAge is 5ns, under 1s: a time.Duration counts nanoseconds; did you mean 5 * time.Minute?") {
		t.Fatalf("WithMaxAge(5): %v", err)
	}
	if _, err := NewGuard(RequireAAL2, WithVerifier(v), WithMaxAge(time.Second)); err != nil {
		t.Fatalf("WithMaxAge(time.Second): %v", err)
	}
}
