package kratostest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWaitForCodeNewestUnread checks the courier sink alone: the newest unread code wins, a
// returned code is never returned again, and a waiter wakes up when a code arrives.
func TestWaitForCodeNewestUnread(t *testing.T) {
	c := newCourier()
	srv := httptest.NewServer(c)
	defer srv.Close()
	p := &Project{courier: c}
	deliver := func(to, code string) {
		t.Helper()
		body := `{"recipient":"` + to + `","template_type":"login_code_valid","template_data":{"to":"` + to + `","login_code":"` + code + `"}}`
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("courier answered %d", res.StatusCode)
		}
	}
	ctx := testCtx(t)

	deliver("a@orymfa.test", "111111")
	deliver("b@orymfa.test", "222222")
	deliver("A@orymfa.test", "333333")
	if code, err := p.WaitForCode(ctx, "a@orymfa.test"); err != nil || code != "333333" {
		t.Fatalf("WaitForCode = %q, %v; want the newest code 333333", code, err)
	}

	// Both of a's codes are used up now: the next wait blocks until a new one arrives.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if code, err := p.WaitForCode(short, "a@orymfa.test"); err == nil {
		t.Fatalf("WaitForCode returned the old code %q", code)
	}
	got := make(chan string, 1)
	go func() {
		code, _ := p.WaitForCode(ctx, "a@orymfa.test")
		got <- code
	}()
	deliver("a@orymfa.test", "444444")
	if code := <-got; code != "444444" {
		t.Fatalf("waiter got %q, want 444444", code)
	}
	if n := len(p.Messages()); n != 4 {
		t.Fatalf("Messages() has %d messages, want 4", n)
	}
}

// TestFlowReadsItsOwnCode checks that a flow's code is the one its own flow sent: an earlier
// flow's code, even a copy Kratos's courier delivers again after the new flow asked, or a
// late verification mail (all unread) is not taken for it, whichever arrives first.
func TestFlowReadsItsOwnCode(t *testing.T) {
	c := newCourier()
	srv := httptest.NewServer(c)
	defer srv.Close()
	deliver := func(template, key, code, flow string) {
		t.Helper()
		body := `{"recipient":"a@orymfa.test","template_type":"` + template + `","template_data":{"` + key + `":"` + code +
			`","transient_payload":{"orymfa_flow":"` + flow + `"}}}`
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	ctx := testCtx(t)

	deliver("login_code_valid", "login_code", "111111", "flow-1") // an earlier flow's, never read
	got := make(chan string, 1)
	go func() {
		code, err := c.wait(ctx, "a@orymfa.test", "login_code_valid", "flow-2")
		if err != nil {
			code = err.Error()
		}
		got <- code
	}()
	deliver("login_code_valid", "login_code", "111111", "flow-1") // the courier's second copy
	deliver("verification_code_valid", "verification_code", "222222", "")
	deliver("login_code_valid", "login_code", "333333", "flow-2")
	if code := <-got; code != "333333" {
		t.Fatalf("the flow read %q, want its own code 333333", code)
	}
}

// A send-code answer whose write Kratos's store refused (the flow still choosing a method,
// its generic error without text; as Kratos v1.3.1 answered in a busy conformance run) is
// told apart from one that sent the mail and from a real refusal with a reason.
func TestStoreRefused(t *testing.T) {
	for body, want := range map[string]bool{
		`{"id":"f","state":"choose_method","ui":{"action":"a","messages":[{"id":4000001,"text":"","type":"error","context":{"reason":""}}]}}`:                                  true,
		`{"id":"f","state":"sent_email","ui":{"action":"a","messages":[{"id":1010014,"text":"An email containing a code has been sent","type":"info"}]}}`:                      false,
		`{"id":"f","state":"choose_method","ui":{"action":"a","messages":[{"id":4000001,"text":"account does not exist or has not setup sign in with code","type":"error"}]}}`: false,
	} {
		f, err := decodeFlow("send login code", 400, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.storeRefused(); got != want {
			t.Errorf("storeRefused = %v, want %v for %s", got, want, body)
		}
	}
}
