package ui

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"xchat/internal/sanitize"
)

// completer is Tab completion in the input. The first Tab completes the
// word before the cursor (which must end the text) from the candidates for
// its position: command names after "/", then the arguments of the
// command (JIDs, availabilities, accounts, rooms, nicks), else the nicks
// of the open room's occupants ("nick: " at the start of the line). When several candidates match, the first is inserted and each
// further Tab (Shift+Tab: backwards) replaces it with the next; any other
// key keeps the current one.
type completer struct {
	active bool
	base   string   // the text before the completed word
	cands  []string // sorted
	idx    int
}

// reset ends a completion.
func (c *completer) reset() { *c = completer{} }

// completionKinds maps commands to what their first argument is.
var completionKinds = map[string]string{
	"msg": "jid", "query": "jid", "add": "jid", "remove": "jid",
	"approve": "request", "deny": "request",
	"status":  "show",
	"account": "account",
	"join":    "room", "accept": "invite", "decline": "invite",
	"kick": "nick", "voice": "nick", "devoice": "nick", "role": "nick", "ban": "nick",
	"invite": "jid", "affiliation": "jid", "create-group": "jid",
	"bookmark": "autojoin",
}

// complete runs Tab (dir 1) or Shift+Tab (dir -1).
func (m *Model) complete(dir int) tea.Cmd {
	c := &m.completer
	if c.active {
		c.idx = (c.idx + dir + len(c.cands)) % len(c.cands)
		m.applyCompletion()
		return nil
	}
	text := m.input.Value()
	if strings.Contains(text, "\n") || m.input.HasTextAfterCursor() {
		return nil
	}
	cut := strings.LastIndexByte(text, ' ') + 1
	base, word := text[:cut], text[cut:]
	if cmd, ok := m.completePath(base, word); ok {
		return cmd
	}
	cands := m.candidates(base, word)
	if len(cands) == 0 {
		m.status.Info("no completion for " + quoteWord(word))
		return nil
	}
	*c = completer{active: len(cands) > 1, base: base, cands: cands}
	if dir < 0 {
		c.idx = len(cands) - 1
	}
	m.applyCompletion()
	if len(cands) > 1 {
		m.status.Info(strings.Join(cands, " "))
	}
	return nil
}

func quoteWord(w string) string {
	if w == "" {
		return "an empty word"
	}
	return "“" + w + "”"
}

// applyCompletion puts the current candidate in the input.
func (m *Model) applyCompletion() {
	c := &m.completer
	m.input.SetValue(c.base + c.cands[c.idx] + " ")
}

// candidates returns the completions of word, which follows base.
func (m *Model) candidates(base, word string) []string {
	var all []string
	switch {
	case base == "" && strings.HasPrefix(word, "/"):
		for _, cmd := range m.commands {
			all = append(all, "/"+cmd.name)
		}
	case strings.HasPrefix(base, "/") && strings.Count(base, " ") == 1:
		name := strings.ToLower(strings.TrimSpace(base[1:]))
		all = m.argCandidates(completionKinds[name])
	case base == "":
		for _, n := range m.nickCandidates() {
			all = append(all, n+":")
		}
	default:
		all = m.nickCandidates()
	}
	lw := strings.ToLower(word)
	var out []string
	for _, s := range all {
		if strings.HasPrefix(strings.ToLower(s), lw) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// argCandidates lists the values an argument of a kind may take.
func (m *Model) argCandidates(kind string) []string {
	var out []string
	switch kind {
	case "jid":
		out = append(out, m.nickCandidates()...) // /msg NICK in a room
		for _, a := range m.accts {
			out = append(out, a.order...)
			for peer, c := range a.convs {
				if !c.Closed {
					out = append(out, peer)
				}
			}
		}
	case "request":
		for _, a := range m.accts {
			out = append(out, a.requests...)
		}
	case "show":
		out = []string{"online", "chat", "away", "xa", "dnd"}
	case "account":
		for _, a := range m.accts {
			out = append(out, a.jid)
		}
	case "room":
		for _, a := range m.accts {
			for r := range a.rooms {
				out = append(out, r)
			}
			for _, b := range a.bookmarks {
				out = append(out, b.JID)
			}
		}
	case "invite":
		for _, a := range m.accts {
			for _, in := range a.invites {
				out = append(out, in.Room)
			}
		}
	case "nick":
		out = m.nickCandidates()
	case "autojoin":
		out = []string{"autojoin"}
	}
	return out
}

// nickCandidates lists the nicknames to complete in a message: the
// occupants of the open room (but us); none in one-to-one conversations.
func (m *Model) nickCandidates() []string {
	r := m.openRoom()
	if r == nil {
		return nil
	}
	nicks := nicksOf(r)
	for i, n := range nicks {
		nicks[i] = sanitize.Line(n)
	}
	return nicks
}
