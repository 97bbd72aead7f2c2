package pipeline

import (
	"time"

	"github.com/sieve-stream/sieve/contract"
)

// AppendVerdict appends the item's verdict (contract.AppendVerdict).
func AppendVerdict(b []byte, it *Item, latency time.Duration, keepUnknown bool) []byte {
	var src *contract.Source
	if it.Record != nil {
		src = &contract.Source{Topic: it.Record.Topic, Partition: it.Record.Partition.Partition, Offset: it.Record.Offset}
	}
	return contract.AppendVerdict(b, it.ID, src, &it.Verdict, it.Msg, latency, keepUnknown)
}

// DeadLetter builds the dead-letter record of a failed item: the original
// key and bytes, unchanged, with the contract's headers.
func DeadLetter(topic string, it *Item) Output {
	e := it.Err
	headers := make([]Header, 0, len(it.Record.Headers)+4)
	headers = append(headers, it.Record.Headers...)
	headers = append(headers,
		Header{contract.HeaderError, []byte(e.Code)},
		Header{contract.HeaderDetail, []byte(e.Detail)},
		Header{contract.HeaderStage, []byte(e.Stage)},
		Header{contract.HeaderSource, []byte(it.Record.Position.String())},
	)
	return Output{Topic: topic, Key: it.Record.Key, Value: it.Record.Value, Headers: headers}
}
