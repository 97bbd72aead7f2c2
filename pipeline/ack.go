package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sieve-stream/sieve/contract"
)

// ErrOutputRejected marks a produce error about the record itself (too
// large, invalid), which retrying cannot cure: the record is dead-lettered
// even in a transaction, where other produce errors abort it.
var ErrOutputRejected = errors.New("output rejected by the broker")

// encode builds the item's outputs: its verdict and extras, or its dead
// letter.
func (e *Engine) encode(it *Item, now time.Time) {
	var verdict, v []byte
	var headers []Header
	if it.Err == nil {
		verdict = AppendVerdict(make([]byte, 0, 256), it, now.Sub(it.received), e.opts.Decode.KeepUnknown)
		v = verdict
		switch e.opts.OutputMode {
		case OutputEnrich:
			enrich := e.opts.EnrichValue
			if enrich == nil {
				enrich = func(value, verdict []byte) ([]byte, error) { return Enrich(value, verdict), nil }
			}
			var err error
			if v, err = enrich(it.Record.Value, verdict); err != nil {
				// A record its consumers could not read is worse than a
				// dead letter that says why.
				it.Fail("output", "", err.Error())
			}
		case OutputHeaders:
			// The input's own headers travel with it, the verdict's after;
			// headers of the verdict's names that the input already had
			// are dropped, so that a sender cannot forge them.
			for _, h := range it.Record.Headers {
				if !slices.Contains(sieveHeaders, h.Key) {
					headers = append(headers, h)
				}
			}
			headers = append(headers, VerdictHeaders(it)...)
			v = it.Record.Value
		}
	}
	if it.Err != nil {
		e.m.DeadLetters.WithLabelValues(string(it.Err.Code)).Inc()
		it.outBuf[0] = e.opts.DeadLetter(it)
		it.outputs = it.outBuf[:1]
		return
	}
	it.outBuf[0] = Output{Topic: e.opts.VerdictTopic, Key: it.Record.Key, Value: v, Headers: headers}
	it.outputs = append(it.outBuf[:1], it.Extra...)
	for i := 1; i < len(it.outputs); i++ {
		switch {
		case it.outputs[i].SameAsVerdict:
			it.outputs[i].Value = v
			it.outputs[i].Headers = append(it.outputs[i].Headers, headers...)
		case it.outputs[i].VerdictWithMessage:
			it.outputs[i].Value = withMessage(verdict, it.Msg)
		}
	}
}

// release hands items, in their lane's offset order, to the sink.
func (e *Engine) release(items []*Item) {
	for _, f := range e.opts.Folders {
		if out := f.Fold(items[0].lane.part, items); len(out) > 0 {
			items[0].outputs = append(items[0].outputs, out...)
		}
	}
	for _, it := range items {
		it.pending = int32(len(it.outputs))
		for i := range it.outputs {
			out := &it.outputs[i]
			out.eng, out.item = e, it
			e.injectTrace(it, out)
			e.sink.Produce(e.produceContext(it), out)
		}
	}
}

func (e *Engine) acked(it *Item, out *Output, err error) {
	if err != nil && out.BestEffort && it.Err == nil && !e.killed.Load() && e.prodCtx.Err() == nil {
		e.log.Warn("could not produce a best-effort output; the record goes on without it", "topic", out.Topic, "source", it.Record.Position.String(), "err", err)
		err = nil
	}
	if err != nil && e.inTxn.Load() && !errors.Is(err, ErrOutputRejected) && !e.killed.Load() && e.prodCtx.Err() == nil {
		// In a transaction a failed output cannot be replaced by a dead
		// letter in the same transaction (the broker would commit both):
		// the transaction is aborted, and the record consumed again.
		e.txnFail.CompareAndSwap(nil, &produceFailure{topic: out.Topic, err: err})
		err = nil
	}
	if err != nil {
		if it.Err != nil || e.killed.Load() || e.prodCtx.Err() != nil {
			e.fatal(fmt.Errorf("produce to %s for %s: %w", out.Topic, it.Record.Position, err))
			return
		}
		// The verdict could not be written (too large for the broker, topic
		// gone): the record still must not be lost, so it becomes a dead letter.
		e.log.Warn("could not produce output, dead-lettering the record", "topic", out.Topic, "source", it.Record.Position.String(), "err", err)
		it.Fail("produce", contract.ReasonProduceFailed, fmt.Sprintf("producing to %s failed: %v", out.Topic, err))
		e.m.DeadLetters.WithLabelValues(string(contract.ReasonProduceFailed)).Inc()
		dl := e.opts.DeadLetter(it)
		dl.eng, dl.item = e, it
		e.injectTrace(it, &dl)
		e.sink.Produce(e.produceContext(it), &dl)
		return
	}
	e.counter(&e.outCounters, e.m.RecordsOut, out.Topic).Inc()
	if atomic.AddInt32(&it.pending, -1) != 0 {
		return
	}
	e.observe(it)
	it.lane.ack(it)
	e.inFlight.Add(-1)
	<-e.slots
}

func (e *Engine) observe(it *Item) {
	endRecord(it)
	if it.Err == nil {
		now := time.Now()
		e.m.Processing.Observe(now.Sub(it.received).Seconds())
		if ts := it.Record.Timestamp; !ts.IsZero() {
			e.m.EndToEnd.Observe(now.Sub(ts).Seconds())
		}
		d := it.Decision
		if d == "" {
			d = contract.DecisionAllow
		}
		e.counter(&e.decisionCounters, e.m.Decisions, string(d)).Inc()
		for _, f := range it.Flags {
			e.counter(&e.flagCounters, e.m.Flags, f).Inc()
		}
		for _, s := range it.Scores {
			e.observer(s.Label).Observe(s.Score)
		}
	}
	if e.opts.OnDone != nil {
		e.opts.OnDone(it)
	}
}

func (e *Engine) counter(cache *sync.Map, vec *prometheus.CounterVec, topic string) prometheus.Counter {
	if c, ok := cache.Load(topic); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(topic)
	cache.Store(topic, c)
	return c
}

func (e *Engine) observer(label string) prometheus.Observer {
	if o, ok := e.scoreObservers.Load(label); ok {
		return o.(prometheus.Observer)
	}
	o := e.m.LabelScore.WithLabelValues(label)
	e.scoreObservers.Store(label, o)
	return o
}

// withMessage is verdict v with the message added as its "message" field.
func withMessage(v []byte, m *contract.Message) []byte {
	msg, err := json.Marshal(m)
	if err != nil || len(v) == 0 {
		return v
	}
	b := make([]byte, 0, len(v)+len(msg)+12)
	b = append(b, v[:len(v)-1]...)
	b = append(b, `,"message":`...)
	b = append(b, msg...)
	return append(b, '}')
}
