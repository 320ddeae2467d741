package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"xchat/store"
)

// genStore serves one conversation of n messages, made up on the fly from
// their ids (1..n), so that huge histories cost no memory in the test.
type genStore struct {
	acct, peer string
	n          int64
}

func (g *genStore) msg(id int64) store.Message {
	dir, state := store.Incoming, store.StateReceived
	if id%3 == 0 {
		dir, state = store.Outgoing, store.StateDelivered
	}
	words := strings.Repeat("lorem ipsum dolor sit amet ", 1+int(id%5))
	return store.Message{ID: id, Account: g.acct, Peer: g.peer, Direction: dir, State: state, Sender: g.peer, Type: "chat",
		Body:      fmt.Sprintf("message %d: %s", id, words),
		Timestamp: testNow.Add(time.Duration(id-g.n) * time.Minute)}
}

func (g *genStore) span(from, to int64) []store.Message {
	from, to = max(from, 1), min(to, g.n)
	if to < from {
		return nil
	}
	out := make([]store.Message, 0, to-from+1)
	for id := from; id <= to; id++ {
		out = append(out, g.msg(id))
	}
	return out
}

func (g *genStore) ok(acct, peer string) bool { return acct == g.acct && peer == g.peer }

func (g *genStore) Latest(_ context.Context, acct, peer string, n int) ([]store.Message, error) {
	if !g.ok(acct, peer) {
		return nil, nil
	}
	return g.span(g.n-int64(n)+1, g.n), nil
}

func (g *genStore) Before(_ context.Context, acct, peer string, id int64, n int) ([]store.Message, error) {
	if !g.ok(acct, peer) {
		return nil, nil
	}
	return g.span(id-int64(n), id-1), nil
}

func (g *genStore) After(_ context.Context, acct, peer string, id int64, n int) ([]store.Message, error) {
	if !g.ok(acct, peer) {
		return nil, nil
	}
	return g.span(id+1, id+int64(n)), nil
}

func (g *genStore) Search(context.Context, string, string, string, int) ([]store.Message, error) {
	return nil, nil
}
func (g *genStore) CloseConversation(context.Context, string, string) error              { return nil }
func (g *genStore) SetMuted(context.Context, string, string, store.ConvKind, bool) error { return nil }

func (g *genStore) Conversations(context.Context, string) ([]store.Conversation, error) {
	return nil, nil
}
func (g *genStore) Contacts(context.Context, string) ([]store.Contact, error) { return nil, nil }
func (g *genStore) OpenConversation(_ context.Context, acct, peer string, kind store.ConvKind) (store.Conversation, error) {
	return store.Conversation{Account: acct, Peer: peer, Kind: kind}, nil
}
func (g *genStore) MarkRead(context.Context, string, string) error { return nil }

func (g *genStore) Message(_ context.Context, id int64) (store.Message, error) { return g.msg(id), nil }
func (g *genStore) Reactions(context.Context, []int64) (map[int64][]store.Reaction, error) {
	return nil, nil
}
