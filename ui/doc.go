// Package ui is the terminal user interface of xchat, built on Bubble Tea v2.
//
// # Architecture
//
// Model is the one tea.Model. Its parts are plain structs that the model
// sizes, feeds and draws; none has an Update of its own:
//
//   - roster: the left column (F2 hides it), per account a header with the
//     connection state, the contacts grouped by roster group ("Contacts"
//     for none, F3 or /offline hides the offline ones), the peers of
//     conversations outside the roster, then pending subscription
//     requests; unread counts follow the names;
//   - windowList: the open conversations, numbered per account in the
//     order they opened (Alt+1…9/Alt+0, Ctrl+N/Ctrl+P, Alt+A for the next
//     with unread messages, /close); each keeps its draft and input
//     history, only the current one has messages loaded;
//   - chatPane: the open conversation, a bounded window of stored messages
//     (see below) with the wrapped lines of each message cached per width;
//   - inputLine: a bubbles textarea that grows to a few rows; Enter sends;
//     readline keys come from the textarea, Up/Down on the first/last line
//     walk the conversation's history (inputHistory), Tab completes
//     (completer);
//   - switcher: the Ctrl+K overlay that fuzzy-matches (fuzzy.go) contacts
//     and open conversations of every account;
//   - searchPane: the results of /search; Enter loads the conversation
//     around the hit (Store.Before and Store.After) and selects it;
//   - selection mode (selection.go): Esc in an empty input, then j/k over
//     the messages, y to copy (OSC 52, tea.SetClipboard), o to open the
//     first link with Options.OpenCommand, run in a Cmd; in chats and
//     rooms r replies, e corrects and d retracts our own message, + reacts
//     (features.go);
//   - statusLine: the current account's state, the window list and the
//     last notice or error;
//   - helpPage: keys and commands, generated from the tables that bind them
//     (keyActions in keys.go, commandTable in commands.go).
//
// Keys go to the bindings of the current scope first (the switcher, the
// search results and selection mode are modal: only quit stays global),
// then to the global ones, then to the focused area.
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
// NoticeEvent, and for group chats RoomStateEvent, RoomEvent, InviteEvent,
// BookmarksEvent and SyncEvent).
//
// # Group chats
//
// Rooms (rooms.go) are windows like conversations, listed per account
// under "Group chats" in the sidebar with their unread count and, apart,
// the messages naming our nick ("@N"); only those notify. A
// session.RoomStateEvent is the authoritative snapshot of a room (state,
// our nick, subject, occupants); session.RoomEvent becomes a "-- ..." line
// in the room's pane (joins and leaves rate-limited to presenceBurst per
// presenceWindow, the initial roster never announced), kept in memory per
// room and merged by time with the stored messages when the room is
// opened again. The occupant list (occupants.go; F4 or /names) groups the
// occupants by role and draws only its visible rows, so a room of
// thousands costs a screenful per frame. Senders take the XEP-0392 colour
// of their real JID when the room shows it, else of their nick. The room
// commands (roomcmds.go, in the command table) check their arguments in
// Update and call the account in a Cmd; /config opens the room's form as
// a modal overlay (roomform.go); /destroy waits for "y". /msg NICK in a
// room opens a private window keyed by room/nick.
//
// # History
//
// Opening a conversation loads its newest page (Store.Latest), with a "new
// messages" line above the first unread message. PgUp at the top of what
// is loaded fetches the page before it (Store.Before); Home keeps doing so
// up to the first message. A pane keeps at most maxLoaded messages: beyond
// that, paging up drops the newest ones and the pane is "detached" from
// the live end; paging down at its bottom fetches the page after it
// (Store.After) until the live end is reached, End reloads the newest page
// at once. Scrolling is counted from the bottom, so neither a prepended
// page nor a live message moves what is being read. Memory stays bounded
// however long the history (BenchmarkScroll1MMemory).
//
// Past the first stored message (older.go), the account fetches the
// archive page before it (HistoryFetcher, "loading older messages…"
// meanwhile) into the store, and the pane reads it like any older page;
// once the archive's start is reached nothing more is asked. A gap a
// catch-up left is drawn as "— gap in history —" and filled when it comes
// into view. The status line shows "syncing N messages…" while a
// catch-up runs.
//
// # Rendering
//
// Bodies are parsed for XEP-0393 styling and links (styling.go) when first
// drawn. Senders take their XEP-0392 consistent colour (color.go: SHA-1 →
// hue → HSLuv, lighter on dark backgrounds). Our messages carry their
// delivery state (… ✓ ✓✓ ✗), encrypted ones a lock.
//
// # Message features
//
// features.go draws and drives what chats have beyond plain messages:
// "(edited)" after corrected messages (XEP-0308), a dim tombstone for
// retracted ones (XEP-0424), the reactions under a message with their
// counts, ours highlighted (XEP-0444, loaded with Store.Reactions once per
// page; selecting the message says who reacted, reactors.go), and a one-line "↪ sender: text" quote above a reply (XEP-0461,
// matched against the loaded messages' origin ids). A
// session.MessageUpdatedEvent reloads the one message (Store.Message). The
// input has a reply and a correct mode (Esc leaves them); /correct and
// /retract act on our last message. Typing sends "composing" at most every
// composingEvery and "paused" after pausedAfter without keys (timers are
// Cmds from Model.after); a contact's session.ChatStateEvent shows "X is
// typing…" in the status line. While the conversation is on screen and
// the terminal has focus, the newest incoming message gets a read marker
// (Account.MarkDisplayed); focus changes set the XEP-0352 client state of
// every account that has SetActive. All of this works in rooms too (the
// session refers to room messages by the room's stanza-ids; an occupant's
// typing shows with their nick); private messages through a room have
// none of it. A session.ReadEvent (another of our devices displayed the
// conversation) clears its unread count.
//
// # Notifications
//
// Options.Bell and Options.DesktopNotify (notify-send, run in a Cmd) signal
// incoming messages, except for the conversation on screen while the
// terminal has focus (focus reporting is on) and at most once per two
// seconds; the window title counts unread messages.
//
// # Encryption
//
// OMEMO (omemo.go) goes through the OMEMO methods of Account. The header
// of a conversation says how the next message will go (🔒 OMEMO → n
// devices, the undecided ones, or plain), asked with Encryption when the
// window opens, after each session.OMEMOEvent and after /omemo on|off|
// default; a private group's header says the same (other rooms say
// nothing, and /omemo on is refused there by the session). Messages from a
// device that was not trusted when they arrived carry "⚠ untrusted device
// N". A plain message in a conversation that was encrypted (or was
// just switched off) waits for y/n in the status line. /omemo fingerprint,
// devices, verify and qr open an overlay (omemopane.go) in place of the
// conversation; keys other than Esc and paging still reach the input, so
// /omemo trust can be typed with the fingerprints in view. QR codes
// (qr.go, rsc.io/qr) are drawn with half blocks, dark on light whatever
// the background; one too tall for the pane takes the whole screen when
// that allows a wider quiet zone. OMEMO events become lines in the
// contact's conversation, or status notices when it is not on screen.
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
// All styles live in styles.go, built from a palette: the defaults for a
// dark or light background (asked of the terminal at start, or fixed by
// Theme.Background) overridden by Options.Theme. A non-empty NO_COLOR
// drops every colour and keeps bold, faint and reverse video, whatever
// value it has.
package ui
