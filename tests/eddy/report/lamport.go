package report

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"maelkit/tests/eddy/journal"
)

// maxDiagramEvents bounds the Lamport diagram: its first sends and their
// deliveries, about maxDiagramEvents events, so the page stays responsive
// for a 25-node run (Maelstrom draws the first ~10,000; each of ours is a
// row, so fewer are enough to show the protocol).
const maxDiagramEvents = 2000

// Diagram geometry, in pixels.
const (
	rowHeight   = 14.0
	laneWidth   = 64.0 // a node or service lane
	clientWidth = 40.0 // a client-group lane
	diagramTop  = 40.0
	diagramLeft = 70.0
	headerEvery = 60 // rows between repeated lane headers
)

// msgHead is the part of a body the diagram shows.
type msgHead struct {
	Type      string `json:"type"`
	MsgID     *int64 `json:"msg_id"`
	InReplyTo *int64 `json:"in_reply_to"`
}

// message is one journal message in the diagram.
type message struct {
	id        int64
	src, dest string
	send      int64 // ns
	recv      int64 // ns; -1 when never delivered
	sendRow   int
	recvRow   int
	head      msgHead
	body      string
}

// lane is one vertical line: a node, a service, or the clients that talk
// to one node (grouped, since every Maelstrom client talks to one node).
type lane struct {
	key   string
	label string
	kind  string // client, node or service
}

// diagram holds what messages.svg draws.
type diagram struct {
	msgs   []*message
	lanes  []lane
	laneOf map[string]int // participant -> lane index
	rows   []int64        // time of each row
	total  int            // messages in the whole journal
}

// buildDiagram selects the first messages (by send order) until about
// maxEvents events, pairs their deliveries, and assigns rows and lanes.
func buildDiagram(events []journal.Event, nodes []string, maxEvents int) *diagram {
	d := &diagram{laneOf: map[string]int{}}
	byID := map[int64]*message{}
	budget := maxEvents
	for i := range events {
		e := &events[i]
		if e.Kind == journal.Send {
			d.total++
			if budget < 2 {
				continue
			}
			budget -= 2
			m := &message{id: e.ID, src: e.Src, dest: e.Dest, send: e.Time, recv: -1, body: shortBody(e.Body)}
			_ = json.Unmarshal(e.Body, &m.head)
			byID[e.ID] = m
			d.msgs = append(d.msgs, m)
		} else if m := byID[e.ID]; m != nil && m.recv < 0 {
			m.recv = e.Time
		}
	}
	// Rows: every send and delivery in time order, sends first on ties.
	type ev struct {
		t    int64
		recv bool
		m    *message
	}
	evs := make([]ev, 0, 2*len(d.msgs))
	for _, m := range d.msgs {
		evs = append(evs, ev{t: m.send, m: m})
		if m.recv >= 0 {
			evs = append(evs, ev{t: m.recv, recv: true, m: m})
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int {
		switch {
		case a.t != b.t:
			return cmpInt(a.t, b.t)
		case a.recv != b.recv:
			if a.recv {
				return 1
			}
			return -1
		}
		return cmpInt(a.m.id, b.m.id)
	})
	for i, e := range evs {
		d.rows = append(d.rows, e.t)
		if e.recv {
			e.m.recvRow = i
		} else {
			e.m.sendRow = i
		}
	}
	d.assignLanes(nodes)
	return d
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// assignLanes orders lanes: client groups (by the node they talk to), then
// nodes in test order, then anything else (services such as lin-kv).
func (d *diagram) assignLanes(nodes []string) {
	isNode := map[string]bool{}
	for _, n := range nodes {
		isNode[n] = true
	}
	peer := map[string]string{} // client -> node
	others := map[string]bool{}
	for _, m := range d.msgs {
		for _, p := range [][2]string{{m.src, m.dest}, {m.dest, m.src}} {
			switch {
			case journal.IsClient(p[0]):
				if _, ok := peer[p[0]]; !ok && !journal.IsClient(p[1]) {
					peer[p[0]] = p[1]
				}
			case !isNode[p[0]]:
				others[p[0]] = true
			}
		}
	}
	add := func(key, label, kind string) int {
		for i, l := range d.lanes {
			if l.key == key {
				return i
			}
		}
		d.lanes = append(d.lanes, lane{key: key, label: label, kind: kind})
		return len(d.lanes) - 1
	}
	order := slices.Clone(nodes)
	var extra []string
	for o := range others {
		extra = append(extra, o)
	}
	slices.Sort(extra)
	clients := make([]string, 0, len(peer))
	for c := range peer {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, func(a, b string) int { return cmpInt(clientNum(a), clientNum(b)) })
	// Each node's client group sits just left of the node, so request and
	// reply arrows are short and node-to-node traffic stands out.
	rank := map[string]int{}
	for i, n := range append(order, extra...) {
		rank[n] = i
	}
	slices.SortStableFunc(clients, func(a, b string) int { return rank[peer[a]] - rank[peer[b]] })
	byPeer := map[string][]string{}
	for _, c := range clients {
		byPeer[peer[c]] = append(byPeer[peer[c]], c)
	}
	for _, n := range append(order, extra...) {
		for _, c := range byPeer[n] {
			d.laneOf[c] = add("clients:"+n, "c→"+n, "client")
		}
		kind := "node"
		if !slices.Contains(order, n) {
			kind = "service"
		}
		d.laneOf[n] = add(n, n, kind)
	}
	// Clients of a participant that is neither a node nor seen otherwise.
	for _, c := range clients {
		if _, ok := d.laneOf[c]; !ok {
			d.laneOf[c] = add("clients:"+peer[c], "c→"+peer[c], "client")
		}
	}
}

func clientNum(c string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(c, "c"), 10, 64)
	if err != nil {
		return math.MaxInt64
	}
	return n
}

// shortBody is the body as one line, at most 300 bytes.
func shortBody(b json.RawMessage) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		return strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}

// rowOf returns the first row at or after time t (ns), for partitions.
func (d *diagram) rowOf(t int64) int {
	i, _ := slices.BinarySearch(d.rows, t)
	return i
}

// messagesSVG is messages.svg: a Lamport diagram of the first messages,
// time flowing down, one row per event, faults (partitions, kills, pauses,
// packet faults) shaded across the lanes in Jepsen's perf colours.
// Hovering a line shows the whole message.
func messagesSVG(d *diagram, parts []span) string {
	l := &lamportSVG{b: &strings.Builder{}, d: d, xs: make([]float64, len(d.lanes))}
	x := diagramLeft
	for i, lane := range d.lanes {
		w := laneWidth
		if lane.kind == "client" {
			w = clientWidth
		}
		l.xs[i] = x + w/2
		x += w
	}
	l.width = x + 40
	l.height = diagramTop + float64(len(d.rows)+2)*rowHeight + 20
	width, height := l.width, l.height
	b := l.b
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" id="messages" class="diagram" viewBox="0 0 %g %g" width="%g" height="%g" font-family="sans-serif" font-size="10">`,
		width, height, width, height)
	fmt.Fprintf(b, `<title>Lamport diagram: first %d of %d messages</title>`, len(d.msgs), d.total)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>`)
	fmt.Fprintf(b, `<rect x="0" y="0" width="%g" height="%g" fill="#fff"/>`, width, height)
	l.faults(parts)
	l.lanes()
	for _, m := range d.msgs {
		l.message(m)
	}
	if d.total > len(d.msgs) {
		fmt.Fprintf(b, `<text x="4" y="%.1f" fill="#888">… %d more messages in net-journal.jsonl</text>`, height-6, d.total-len(d.msgs))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// lamportSVG is messages.svg being written: the diagram, the lanes'
// centres and the picture's size.
type lamportSVG struct {
	b             *strings.Builder
	d             *diagram
	xs            []float64 // lane centres
	width, height float64
}

func (l *lamportSVG) rowY(r int) float64  { return diagramTop + float64(r+1)*rowHeight }
func (l *lamportSVG) laneX(i int) float64 { return l.xs[i] }

// faults shades the fault periods across the lanes.
func (l *lamportSVG) faults(parts []span) {
	if len(l.d.rows) > 0 {
		last := l.d.rows[len(l.d.rows)-1]
		for _, p := range parts {
			from, to := int64(p.from*1e9), int64(p.to*1e9)
			if from > last {
				continue
			}
			r0, r1 := l.d.rowOf(from), l.d.rowOf(to)
			y0, y1 := l.rowY(r0)-rowHeight/2, l.rowY(min(r1, len(l.d.rows)))-rowHeight/2
			fmt.Fprintf(l.b, `<rect class="%s" x="0" y="%.1f" width="%g" height="%.1f" fill="%s" fill-opacity="0.4"><title>%s</title></rect>`,
				p.kind, y0, l.width, math.Max(y1-y0, 2), p.colour, esc(p.label))
			fmt.Fprintf(l.b, `<text x="4" y="%.1f" fill="#555" font-weight="bold">%s</text>`, y0+11, esc(p.kind))
		}
	}
}

// lanes draws each lane with its name repeated down the diagram, and the
// time every ten rows.
func (l *lamportSVG) lanes() {
	for i, lane := range l.d.lanes {
		x := l.laneX(i)
		colour := "#555"
		if lane.kind == "client" {
			colour = "#1f77b4"
		} else if lane.kind == "service" {
			colour = "#9467bd"
		}
		fmt.Fprintf(l.b, `<line class="lane" x1="%.1f" y1="%g" x2="%.1f" y2="%.1f" stroke="%s" stroke-opacity="0.35"/>`, x, diagramTop-8, x, l.height-10, colour)
		for r := 0; r == 0 || r < len(l.d.rows); r += headerEvery {
			y := diagramTop - 10
			if r > 0 {
				y = l.rowY(r) - 3
			}
			fmt.Fprintf(l.b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" font-weight="bold" paint-order="stroke" stroke="#fff" stroke-width="3">%s</text>`,
				x, y, colour, esc(lane.label))
		}
	}
	for r := 0; r < len(l.d.rows); r += 10 {
		fmt.Fprintf(l.b, `<text x="4" y="%.1f" fill="#888">%.1fms</text>`, l.rowY(r)+3, float64(l.d.rows[r])/1e6)
	}
}

// message draws one message: an arrow to its delivery, or a stub ending
// in ✕ when it was never delivered.
func (l *lamportSVG) message(m *message) {
	si, ok1 := l.d.laneOf[m.src]
	di, ok2 := l.d.laneOf[m.dest]
	if !ok1 || !ok2 {
		return
	}
	x1, y1 := l.laneX(si), l.rowY(m.sendRow)
	colour := "#333"
	switch {
	case journal.IsClient(m.src) || journal.IsClient(m.dest):
		colour = "#1f77b4"
	case l.d.lanes[si].kind == "service" || l.d.lanes[di].kind == "service":
		colour = "#9467bd"
	}
	label := m.head.Type
	if label == "" {
		label = "?"
	}
	tip := fmt.Sprintf("#%d %s → %s, sent %.3fms", m.id, m.src, m.dest, float64(m.send)/1e6)
	fmt.Fprintf(l.b, `<g class="msg" id="msg-%d">`, m.id)
	if m.recv >= 0 {
		x2, y2 := l.laneX(di), l.rowY(m.recvRow)
		tip += fmt.Sprintf(", delivered %.3fms", float64(m.recv)/1e6)
		if si == di {
			x2 += 12 // a client group talking to itself is not drawn flat
		}
		fmt.Fprintf(l.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2" marker-end="url(#arrow)"/>`, x1, y1, x2, y2, colour)
	} else {
		// Never delivered (dropped by a partition or still queued):
		// a short dashed red stub towards the destination, ending in ✕.
		x2 := x1 + (l.laneX(di)-x1)*0.35
		y2 := y1 + rowHeight
		tip += ", never delivered"
		fmt.Fprintf(l.b, `<line class="lost" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2" stroke-dasharray="3 2"/><text x="%.1f" y="%.1f" fill="%s" text-anchor="middle">✕</text>`,
			x1, y1, x2, y2, colourFail, x2, y2+4, colourFail)
	}
	anchor, dx := "start", 3.0
	if di < si {
		anchor, dx = "end", -3
	}
	fmt.Fprintf(l.b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s">%s</text>`, x1+dx, y1-2, anchor, colour, esc(truncate(label, 24)))
	fmt.Fprintf(l.b, `<title>%s %s</title></g>`, esc(tip), esc(m.body))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
