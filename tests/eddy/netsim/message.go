package netsim

import (
	"encoding/json"
	"strconv"
)

// Message is one message as the network delivers it: the envelope a node
// reads on STDIN, with the network's own id.
type Message struct {
	ID   int64 // the network's global message id, from 0
	Src  string
	Dest string
	Body json.RawMessage // compact JSON, never containing a newline
}

// AppendLine appends the message as one line of JSON, exactly as Maelstrom
// writes it to a node's STDIN: {"id":N,"src":"..","dest":"..","body":...}
// followed by a newline, fields in that order. An empty body prints as null.
func (m *Message) AppendLine(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendInt(buf, m.ID, 10)
	buf = append(buf, `,"src":`...)
	buf = appendJSONString(buf, m.Src)
	buf = append(buf, `,"dest":`...)
	buf = appendJSONString(buf, m.Dest)
	buf = append(buf, `,"body":`...)
	if len(m.Body) == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, m.Body...)
	}
	return append(buf, '}', '\n')
}

// String is a compact one-line form for logs and test failures.
func (m *Message) String() string {
	return "#" + strconv.FormatInt(m.ID, 10) + " " + m.Src + "->" + m.Dest + " " + string(m.Body)
}

// appendJSONString appends s as a JSON string. Participant ids are plain
// ASCII in practice, so that is the fast path; anything else goes through
// encoding/json, which always yields valid JSON.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			enc, err := json.Marshal(s)
			if err != nil { // cannot happen for a string; keep the line valid anyway
				return append(buf, `""`...)
			}
			return append(buf, enc...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
