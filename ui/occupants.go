package ui

import (
	"strconv"
	"strings"

	"xchat/internal/sanitize"
	"xchat/muc"
	"xchat/session"
)

// occRow is one line of the occupant list: a role heading (occ < 0) or an
// occupant (index into roomState.occupants).
type occRow struct {
	role muc.Role
	occ  int
	n    int // with a heading: how many occupants have the role
}

// occupantWidth is the width of the occupant column for a chat width;
// 0 hides it on narrow terminals.
func occupantWidth(chatW int) int {
	if chatW < 50 {
		return 0
	}
	return max(14, min(24, chatW/5))
}

// roleOrder is the order of the groups of the list.
var roleOrder = []muc.Role{muc.RoleModerator, muc.RoleParticipant, muc.RoleVisitor}

// roleHeading names a group.
func roleHeading(r muc.Role) string {
	switch r {
	case muc.RoleModerator:
		return "Moderators"
	case muc.RoleParticipant:
		return "Participants"
	case muc.RoleVisitor:
		return "Visitors"
	}
	return "Others"
}

// occupantRows groups a room's occupants by role, keeping their order
// (the snapshot's, by nick). It is rebuilt only when a snapshot came.
func (r *roomState) occupantRows() []occRow {
	if r.rows != nil {
		return r.rows
	}
	rows := make([]occRow, 0, len(r.occupants)+len(roleOrder))
	for _, role := range append(roleOrder, muc.RoleNone) {
		head := len(rows)
		rows = append(rows, occRow{role: role, occ: -1})
		for i, o := range r.occupants {
			or := o.Role
			if or != muc.RoleModerator && or != muc.RoleParticipant && or != muc.RoleVisitor {
				or = muc.RoleNone
			}
			if or == role {
				rows = append(rows, occRow{role: role, occ: i})
			}
		}
		if n := len(rows) - head - 1; n == 0 {
			rows = rows[:head]
		} else {
			rows[head].n = n
		}
	}
	r.rows = rows
	return rows
}

// occupantPane draws the occupant list of the open room. Only the visible
// rows are drawn, so a room of thousands costs a screenful per frame.
type occupantPane struct {
	top int // first visible row
	out []string
}

// clampTop keeps the scroll position inside the list.
func (p *occupantPane) clampTop(r *roomState) {
	p.top = max(0, min(p.top, len(r.occupantRows())-1))
}

// Scroll moves the list by n rows.
func (p *occupantPane) Scroll(r *roomState, n, h int) {
	p.top = max(0, min(p.top+n, len(r.occupantRows())-h))
}

// Render returns h rows of exactly w cells.
func (p *occupantPane) Render(st *styles, r *roomState, w, h int) []string {
	out := p.out[:0]
	var rows []occRow
	if r != nil {
		rows = r.occupantRows()
	}
	for y := 0; y < h; y++ {
		i := p.top + y
		if i >= len(rows) {
			out = append(out, spaces(w))
			continue
		}
		row := rows[i]
		if row.occ < 0 {
			head := roleHeading(row.role) + " (" + strconv.Itoa(row.n) + ")"
			if len(head) > w-1 {
				head = roleHeading(row.role) // the count does not fit
			}
			out = append(out, fit(" "+st.group.Render(truncate(head, w-1)), w))
			continue
		}
		o := r.occupants[row.occ]
		show := session.Show(o.Show)
		glyph := st.presence[show].Render(presenceGlyph(show, true))
		key := o.Nick
		if o.RealJID != "" {
			if b, err := parseJID(o.RealJID); err == nil {
				key = b
			}
		}
		nick := truncate(sanitize.Line(o.Nick), w-3)
		out = append(out, fit(" "+glyph+" "+st.nameStyle(key, o.Nick == r.nick).Render(nick), w))
	}
	p.out = out
	return out
}

// occupantSummary is the count shown in a room's title.
func occupantSummary(r *roomState) string {
	n := len(r.occupants)
	switch {
	case !r.known:
		return ""
	case r.state == muc.StateJoining:
		return "joining…"
	case r.state == muc.StateLeft:
		return "not joined"
	case n == 1:
		return "1 occupant"
	}
	return strconv.Itoa(n) + " occupants"
}

// nicksOf lists a room's nicks, for completion.
func nicksOf(r *roomState) []string {
	out := make([]string, 0, len(r.occupants))
	for _, o := range r.occupants {
		if o.Nick != r.nick && !strings.ContainsAny(o.Nick, " \n") {
			out = append(out, o.Nick)
		}
	}
	return out
}
