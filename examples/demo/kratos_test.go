package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoWithKratos runs the demo with a real Kratos (no browser) and checks what its
// mailbox and its origin promise: Kratos's emails arrive at the mailbox's secret loopback
// address, a forged one posted without the secret is refused and never shown, and a browser
// that opened the demo at http://localhost:PORT is sent to 127.0.0.1, the host Kratos's cookie
// is for, and told so on Kratos's error page. With -short it is skipped.
func TestDemoWithKratos(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Kratos")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", bin+string(filepath.Separator), "./nethttp")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the nethttp example: %v\n%s", err, out)
	}
	d, err := startOnFreePorts(ctx, t, start, options{framework: "nethttp", appBin: filepath.Join(bin, "nethttp"), log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// The mailbox listens on loopback, at a path with this run's secret.
	cu, err := url.Parse(d.courierURL)
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := netip.ParseAddr(cu.Hostname()); err != nil || !ip.IsLoopback() || len(strings.TrimPrefix(cu.Path, "/courier/")) < 26 {
		t.Errorf("Kratos's courier URL %s: want a loopback address and a secret path", d.courierURL)
	}

	t.Run("Kratos's mail arrives", func(t *testing.T) {
		email := fmt.Sprintf("ada.%d@example.com", time.Now().UnixNano()%1e9)
		registerAPI(t, d.publicURL, email)
		if _, err := d.mail.wait(ctx, 0, email, "verification_code_valid"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("forged mail is refused and not shown", func(t *testing.T) {
		before := d.mail.count()
		forged := `{"recipient":"ada@example.com","template_type":"login_code_valid","template_data":{"login_code":"666666","login_url":"https://evil.example/"}}`
		for _, target := range []string{
			d.appURL + "/ui/courier",            // where the mailbox took mail before, on the UI's origin
			"http://" + cu.Host + "/courier/",   // the mailbox's port without the secret
			"http://" + cu.Host + "/ui/courier", // and the old path there
			d.courierURL + "0",                  // a guess next to it
		} {
			res, err := noFollow.Post(target, "application/json", strings.NewReader(forged))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("forged mail to %s: %d, want 404", target, res.StatusCode)
			}
		}
		if n := d.mail.count(); n != before {
			t.Errorf("the mailbox kept %d forged mails", n-before)
		}
		res, err := noFollow.Get(d.appURL + "/ui/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || strings.Contains(string(body), "666666") || strings.Contains(string(body), "evil.example") {
			t.Errorf("mailbox page: %d, shows the forged mail: %v", res.StatusCode, strings.Contains(string(body), "666666"))
		}
	})

	// localhost resolves to this machine, but Kratos's cookie is for 127.0.0.1.
	appAddr := strings.TrimPrefix(d.appURL, "http://")
	_, port, _ := net.SplitHostPort(appAddr)
	localhost := "http://localhost:" + port
	dialer := &net.Dialer{}
	viaLocalhost := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, appAddr) // whatever localhost resolves to here
	}}
	defer viaLocalhost.CloseIdleConnections()

	t.Run("localhost is sent to 127.0.0.1", func(t *testing.T) {
		c := &http.Client{Timeout: 30 * time.Second, Transport: viaLocalhost, CheckRedirect: noFollow.CheckRedirect}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, localhost+"/transfer", nil)
		req.Header.Set("Accept", "text/html")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusTemporaryRedirect || loc != d.appURL+"/transfer" {
			t.Fatalf("GET %s/transfer: %d to %q, want 307 to %s/transfer", localhost, res.StatusCode, loc, d.appURL)
		}
		// There the app sends the browser to sign in, and back to 127.0.0.1.
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, d.appURL+"/transfer", nil)
		req.Header.Set("Accept", "text/html")
		res, err = noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("return_to") != d.appURL+"/transfer" {
			t.Errorf("GET %s/transfer: %d to %v, want 303 to the login returning to it", d.appURL, res.StatusCode, loc)
		}
	})

	t.Run("a return_to on localhost: the error page says to open 127.0.0.1", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Timeout: 30 * time.Second, Jar: jar}
		res, err := c.Get(d.publicURL + "/self-service/login/browser?return_to=" + url.QueryEscape(localhost+"/transfer"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		page := string(body)
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/ui/error" {
			t.Fatalf("login with return_to on localhost ended at %s: %d\n%s", res.Request.URL, res.StatusCode, page)
		}
		if want := `id="error-instead" href="` + d.appURL + `/transfer"`; !strings.Contains(page, want) {
			t.Errorf("the error page does not link %s/transfer:\n%s", d.appURL, page)
		}
		if strings.Contains(page, "-allow-origin http://localhost") {
			t.Errorf("the error page asks to allow localhost, whose sign-in would loop:\n%s", page)
		}
	})
}

// registerAPI signs email up with a password through Kratos's API registration flow.
func registerAPI(t *testing.T, kratos, email string) {
	t.Helper()
	var f struct {
		UI struct {
			Action string `json:"action"`
		} `json:"ui"`
	}
	res, err := http.Get(kratos + "/self-service/registration/api")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&f)
	res.Body.Close()
	if err != nil || f.UI.Action == "" {
		t.Fatalf("registration flow: %v (%s)", err, res.Status)
	}
	body, _ := json.Marshal(map[string]any{"method": "password", "traits": map[string]string{"email": email}, "password": "correct-Horse-battery-9"})
	res, err = http.Post(f.UI.Action, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("registering %s: %s\n%s", email, res.Status, b)
	}
}
