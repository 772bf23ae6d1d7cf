// A pub/sub/request round trip with the official Go client (nats.go), run against cuebus by
// tests/interop/go-client.test.ts. Prints "ok" on success; exits non-zero with a reason otherwise.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	nc, err := nats.Connect(os.Args[1], nats.Name("go-interop"))
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()

	got := make(chan *nats.Msg, 1)
	if _, err := nc.ChanSubscribe("events.>", got); err != nil {
		fail("subscribe: %v", err)
	}
	if _, err := nc.Subscribe("svc.upper", func(m *nats.Msg) {
		_ = m.Respond([]byte("GO:" + string(m.Data)))
	}); err != nil {
		fail("responder: %v", err)
	}
	if err := nc.Flush(); err != nil {
		fail("flush: %v", err)
	}

	msg := nats.NewMsg("events.user.signup")
	msg.Header.Set("X-Lang", "go")
	msg.Data = []byte("hello from go")
	if err := nc.PublishMsg(msg); err != nil {
		fail("publish: %v", err)
	}
	select {
	case m := <-got:
		if string(m.Data) != "hello from go" || m.Header.Get("X-Lang") != "go" || m.Subject != "events.user.signup" {
			fail("bad message: %s %q %v", m.Subject, m.Data, m.Header)
		}
	case <-time.After(3 * time.Second):
		fail("no message")
	}

	reply, err := nc.Request("svc.upper", []byte("ping"), 3*time.Second)
	if err != nil {
		fail("request: %v", err)
	}
	if string(reply.Data) != "GO:ping" {
		fail("bad reply %q", reply.Data)
	}

	if _, err := nc.Request("nobody.listens", []byte("x"), 3*time.Second); err != nats.ErrNoResponders {
		fail("expected no responders, got %v", err)
	}
	fmt.Println("ok")
}
