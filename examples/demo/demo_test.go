package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestStartRefusesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		o    options
	}{
		{"app", options{addr: taken.Addr().String(), kratosPublic: freeAddr(t), kratosAdmin: freeAddr(t)}},
		{"kratos public", options{addr: freeAddr(t), kratosPublic: taken.Addr().String(), kratosAdmin: freeAddr(t)}},
		{"kratos admin", options{addr: freeAddr(t), kratosPublic: freeAddr(t), kratosAdmin: taken.Addr().String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.framework = "nethttp"
			tc.o.log = testWriter{t}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := start(ctx, tc.o)
			if err == nil {
				d.Close()
				t.Fatal("start succeeded on a taken port")
			}
			if !strings.Contains(err.Error(), taken.Addr().String()) || !strings.Contains(err.Error(), "already in use") {
				t.Errorf("error %q does not say plainly that %s is in use", err, taken.Addr())
			}
		})
	}
}

func TestStartRefusesAnUnknownFramework(t *testing.T) {
	_, err := start(context.Background(), options{framework: "rails", log: testWriter{t}})
	if err == nil || !strings.Contains(err.Error(), "nethttp, chi, gin, echo, fiber") {
		t.Errorf("error %v, want the list of frameworks", err)
	}
}
