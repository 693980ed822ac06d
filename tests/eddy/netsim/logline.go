package netsim

import (
	"bytes"
	"encoding/json"
	"strconv"

	"maelkit/tests/eddy/edn"
	"maelkit/tests/eddy/history"
)

// LogLine is what Maelstrom logs for a message under --log-net-send or
// --log-net-recv: the event as a keyword and the network's Message record
// as Clojure prints it, e.g.
//
//	:send #maelstrom.net.message.Message{:id 5, :src "c3", :dest "n1", :body {:type "echo", :echo "hi", :msg_id 1}}
//
// The body's top-level keys are keywords and nested objects keep string
// keys, as Maelstrom keywordizes only the first level; numbers are printed
// as the node wrote them. event is "send" or "recv".
func (m *Message) LogLine(event string) string {
	b := make([]byte, 0, 96+len(m.Body)+len(m.Body)/4)
	b = append(b, ':')
	b = append(b, event...)
	b = append(b, " #maelstrom.net.message.Message{:id "...)
	b = strconv.AppendInt(b, m.ID, 10)
	b = append(b, ", :src "...)
	b = appendEDNString(b, m.Src)
	b = append(b, ", :dest "...)
	b = appendEDNString(b, m.Dest)
	b = append(b, ", :body "...)
	b = appendBodyEDN(b, m.Body)
	return string(append(b, '}'))
}

func appendEDNString(b []byte, s string) []byte {
	out, err := edn.Append(b, s)
	if err != nil {
		return append(b, strconv.Quote(s)...)
	}
	return out
}

// appendBodyEDN prints a body as Maelstrom holds it: an object's own keys
// as keywords in the order written (a repeated key keeps its first place
// and its last value), anything else as its EDN value.
func appendBodyEDN(b []byte, body json.RawMessage) []byte {
	type field struct {
		key string
		val json.RawMessage
	}
	var fields []field
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err == nil && ok && d == '{' {
		whole := true
		for whole && dec.More() {
			kt, err := dec.Token()
			k, isKey := kt.(string)
			var v json.RawMessage
			if err != nil || !isKey || dec.Decode(&v) != nil {
				whole = false
				break
			}
			dup := false
			for i := range fields {
				if fields[i].key == k {
					fields[i].val, dup = v, true
				}
			}
			if !dup {
				fields = append(fields, field{k, v})
			}
		}
		if whole {
			b = append(b, '{')
			for i, f := range fields {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = append(b, ':')
				b = append(b, f.key...)
				b = append(b, ' ')
				b = appendValueEDN(b, f.val)
			}
			return append(b, '}')
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return append(b, "nil"...)
	}
	return appendValueEDN(b, body)
}

// appendValueEDN prints one JSON value as EDN, or its text as a string
// when it is not valid JSON (the network never carries such a body).
func appendValueEDN(b []byte, raw json.RawMessage) []byte {
	out, err := edn.Append(b, history.JSON(raw))
	if err != nil {
		return appendEDNString(b, string(raw))
	}
	return out
}
