// Package ui is the terminal user interface of xchat, built on Bubble Tea v2.
//
// # Architecture
//
// Model is the one tea.Model. Its parts are plain structs that the model
// sizes, feeds and draws; none has an Update of its own:
//
//   - roster: the left column, per account a header with the connection
//     state, pending subscription requests and the contacts with presence
//     and unread counts;
//   - chatPane: the open conversation, a bounded window of stored messages
//     (see below) with the wrapped lines of each message cached per width;
//   - inputLine: a bubbles textarea that grows to a few rows; Enter sends;
//   - statusLine: the current account's state and the last notice or error;
//   - helpPage: keys and commands, generated from the tables that bind them
//     (keyActions in keys.go, commandTable in commands.go).
//
// Update never does I/O. Everything that touches the store (Store) or an
// account (Account) runs in a tea.Cmd built by a method of Model in
// cmds.go, which captures what it needs and answers with a message. Sends
// are serialized per account, shown at once as a local echo and replaced by
// the stored row when Account.SendMessage returns.
//
// The program forwards every session.Event with Program.Send; Update takes
// the event structs by value (session.StateEvent, RosterEvent,
// PresenceEvent, MessageEvent, MessageStateEvent, SubscriptionRequestEvent,
// NoticeEvent).
//
// # History
//
// Opening a conversation loads its newest page (Store.Latest). PgUp at the
// top of what is loaded fetches the page before it (Store.Before). A pane
// keeps at most maxLoaded messages: beyond that, paging up drops the newest
// ones and the pane is detached from the live end; paging back down to the
// bottom reloads the newest page. Scrolling is counted from the bottom, so
// neither a prepended page nor a live message moves what is being read.
//
// # Safety
//
// Every string that came from the network (bodies, JIDs, names, status
// messages, notices, error texts) goes through internal/sanitize before it
// is measured or drawn. Widths are measured in terminal cells with
// charmbracelet/x/ansi, so wide characters and emoji line up.
//
// # Colour
//
// All styles live in styles.go. A non-empty NO_COLOR drops every colour and
// keeps bold, faint and reverse video, whatever value it has.
package ui
