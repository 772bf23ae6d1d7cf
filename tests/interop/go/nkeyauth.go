// nats.go's nkey authentication against cuebus, run by tests/interop/nkeys.test.ts: connect with
// NkeyOptionFromSeed (the client signs the INFO nonce), publish and receive on an allowed subject,
// see the server refuse a denied one, and see a connection with another seed refused.
// Usage: nkeyauth <url> <seed file> <other seed file>. Prints "ok"; exits non-zero with a reason otherwise.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	url, seed, other := os.Args[1], os.Args[2], os.Args[3]
	opt, err := nats.NkeyOptionFromSeed(seed)
	if err != nil {
		fail("seed: %v", err)
	}
	asyncErr := make(chan error, 4)
	nc, err := nats.Connect(url, opt, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, e error) { asyncErr <- e }))
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()

	got := make(chan *nats.Msg, 1)
	if _, err := nc.ChanSubscribe("orders.>", got); err != nil {
		fail("subscribe: %v", err)
	}
	if err := nc.Publish("orders.new", []byte("from go")); err != nil {
		fail("publish: %v", err)
	}
	select {
	case m := <-got:
		if string(m.Data) != "from go" {
			fail("bad message %q", m.Data)
		}
	case <-time.After(3 * time.Second):
		fail("no message")
	}

	_ = nc.Publish("billing.x", []byte("no"))
	_ = nc.Flush()
	select {
	case e := <-asyncErr:
		if !strings.Contains(e.Error(), `Permissions Violation for Publish to "billing.x"`) {
			fail("unexpected async error: %v", e)
		}
	case <-time.After(3 * time.Second):
		fail("no permissions violation reported")
	}

	otherOpt, err := nats.NkeyOptionFromSeed(other)
	if err != nil {
		fail("other seed: %v", err)
	}
	if _, err := nats.Connect(url, otherOpt, nats.MaxReconnects(0)); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		fail("other key: want authorization violation, got %v", err)
	}
	fmt.Println("ok")
}
