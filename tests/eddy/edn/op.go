package edn

import (
	"strconv"

	"maelkit/tests/eddy/history"
)

// The three per-event forms below print an op's keys in Jepsen's order: the
// fields of jepsen.history.Op (index, time, type, process, f, value), then
// the optional keys in the order Jepsen's client and interpreter add them:
// :final? (set by the generator on the invocation), :exception, :error.
// Jepsen's :exception is a datafied Throwable; eddy keeps only its message,
// printed as {:cause "message"} so that (:cause (:exception op)) still works.

// OpEDN returns op as one history.edn line (without the newline):
//
//	{:index 0, :time 12345, :type :invoke, :process 0, :f :read, :value nil}
func OpEDN(op history.Op) ([]byte, error) { return AppendOpEDN(nil, &op) }

// AppendOpEDN appends OpEDN(*op) to dst without copying the op.
func AppendOpEDN(dst []byte, op *history.Op) ([]byte, error) {
	dst = append(dst, "{:index "...)
	dst = strconv.AppendInt(dst, op.Index, 10)
	dst = append(dst, ", :time "...)
	dst = strconv.AppendInt(dst, op.Time, 10)
	dst = append(dst, ", :type "...)
	dst = appendKeyword(dst, op.Type.String())
	dst = append(dst, ", :process "...)
	dst = appendProcessEDN(dst, op.Process)
	dst = append(dst, ", :f "...)
	dst = appendFEDN(dst, op.F)
	dst = append(dst, ", :value "...)
	dst, err := appendValue(dst, op.Value, true, 0)
	if err != nil {
		return dst, err
	}
	if op.Final {
		dst = append(dst, ", :final? true"...)
	}
	if op.Exception != "" {
		dst = append(dst, ", :exception {:cause "...)
		dst = appendString(dst, op.Exception)
		dst = append(dst, '}')
	}
	if op.Error != nil {
		dst = append(dst, ", :error "...)
		if dst, err = appendValue(dst, op.Error, true, 0); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// OpJSON returns op as one history.jsonl line (without the newline), with
// the same keys as OpEDN as strings:
//
//	{"index":0,"time":12345,"type":"invoke","process":0,"f":"read","value":null}
//
// The nemesis process is "nemesis".
func OpJSON(op history.Op) ([]byte, error) { return AppendOpJSON(nil, &op) }

// AppendOpJSON appends OpJSON(*op) to dst without copying the op.
func AppendOpJSON(dst []byte, op *history.Op) ([]byte, error) {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendInt(dst, op.Index, 10)
	dst = append(dst, `,"time":`...)
	dst = strconv.AppendInt(dst, op.Time, 10)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, op.Type.String())
	dst = append(dst, `,"process":`...)
	if op.Process == history.Nemesis {
		dst = append(dst, `"nemesis"`...)
	} else {
		dst = strconv.AppendInt(dst, op.Process, 10)
	}
	dst = append(dst, `,"f":`...)
	if op.F == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, op.F)
	}
	dst = append(dst, `,"value":`...)
	dst, err := appendJSON(dst, op.Value, 0)
	if err != nil {
		return dst, err
	}
	if op.Final {
		dst = append(dst, `,"final?":true`...)
	}
	if op.Exception != "" {
		dst = append(dst, `,"exception":{"cause":`...)
		dst = appendJSONString(dst, op.Exception)
		dst = append(dst, '}')
	}
	if op.Error != nil {
		dst = append(dst, `,"error":`...)
		if dst, err = appendJSON(dst, op.Error, 0); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// OpText returns op as one history.txt line (without the newline), as
// Jepsen's prn-op prints it: process, type, f and value with pr, then, when
// there is an error, a tab and the error with print (strings unquoted):
//
//	0	:fail	:read	nil	[:key-does-not-exist key does not exist]
func OpText(op history.Op) ([]byte, error) { return AppendOpText(nil, &op) }

// AppendOpText appends OpText(*op) to dst without copying the op.
func AppendOpText(dst []byte, op *history.Op) ([]byte, error) {
	dst = appendProcessEDN(dst, op.Process)
	dst = append(dst, '\t')
	dst = appendKeyword(dst, op.Type.String())
	dst = append(dst, '\t')
	dst = appendFEDN(dst, op.F)
	dst = append(dst, '\t')
	dst, err := appendValue(dst, op.Value, true, 0)
	if err != nil {
		return dst, err
	}
	if op.Error != nil {
		dst = append(dst, '\t')
		if dst, err = appendValue(dst, op.Error, false, 0); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendProcessEDN(dst []byte, p int64) []byte {
	if p == history.Nemesis {
		return append(dst, ":nemesis"...)
	}
	return strconv.AppendInt(dst, p, 10)
}

// appendFEDN prints f as a keyword (:read), or nil when it is empty.
func appendFEDN(dst []byte, f string) []byte {
	if f == "" {
		return append(dst, "nil"...)
	}
	return appendKeyword(dst, f)
}
