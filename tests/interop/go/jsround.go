// JetStream round trip with nats.go's JetStreamContext (Debian's nats.go 1.22 predates the
// newer `jetstream` package): stream create, publish with dedup, pull fetch with acks, a
// durable push subscription, and KV. Prints "ok" or exits non-zero with the failure.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func main() {
	nc, err := nats.Connect(os.Args[1])
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		fail("jetstream: %v", err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.>"}, Storage: nats.FileStorage}); err != nil {
		fail("add stream: %v", err)
	}
	for i := 1; i <= 5; i++ {
		ack, err := js.Publish("go.events", []byte(fmt.Sprintf("e%d", i)), nats.MsgId(fmt.Sprintf("id-%d", i)))
		if err != nil {
			fail("publish %d: %v", i, err)
		}
		if ack.Sequence != uint64(i) || ack.Stream != "GO" {
			fail("ack %d: %+v", i, ack)
		}
	}
	dup, err := js.Publish("go.events", []byte("again"), nats.MsgId("id-3"))
	if err != nil || !dup.Duplicate || dup.Sequence != 3 {
		fail("dedup: %+v %v", dup, err)
	}

	sub, err := js.PullSubscribe("go.events", "puller", nats.AckExplicit())
	if err != nil {
		fail("pull subscribe: %v", err)
	}
	msgs, err := sub.Fetch(3, nats.MaxWait(2*time.Second))
	if err != nil || len(msgs) != 3 {
		fail("fetch: %d %v", len(msgs), err)
	}
	for i, m := range msgs {
		if string(m.Data) != fmt.Sprintf("e%d", i+1) {
			fail("fetch order: %q at %d", m.Data, i)
		}
		if err := m.AckSync(); err != nil {
			fail("ack: %v", err)
		}
	}
	ci, err := js.ConsumerInfo("GO", "puller")
	if err != nil || ci.AckFloor.Stream != 3 || ci.NumPending != 2 {
		fail("consumer info: %+v %v", ci, err)
	}

	got := make(chan string, 10)
	psub, err := js.Subscribe("go.events", func(m *nats.Msg) {
		got <- string(m.Data)
		_ = m.Ack()
	}, nats.Durable("pusher"), nats.DeliverAll(), nats.ManualAck())
	if err != nil {
		fail("push subscribe: %v", err)
	}
	for i := 1; i <= 5; i++ {
		select {
		case s := <-got:
			if s != fmt.Sprintf("e%d", i) {
				fail("push order: %q at %d", s, i)
			}
		case <-time.After(3 * time.Second):
			fail("push: timed out at %d", i)
		}
	}
	_ = psub.Unsubscribe()

	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "gokv", History: 3})
	if err != nil {
		fail("kv create: %v", err)
	}
	if _, err := kv.Put("color", []byte("blue")); err != nil {
		fail("kv put: %v", err)
	}
	e, err := kv.Get("color")
	if err != nil || string(e.Value()) != "blue" {
		fail("kv get: %v", err)
	}
	fmt.Println("ok")
}
