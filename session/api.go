package session

// This file documents the Client methods the UI and the command line use.
// Every method is safe to call from any goroutine; methods that talk to the
// network or the store block until the account goroutine answers or ctx ends,
// so the UI must call them from a tea.Cmd, never from Update.
//
//	func New(cfg Config, st *store.Store, log *slog.Logger) *Client
//	func (c *Client) Account() string                       // bare JID
//	func (c *Client) Events() <-chan Event                  // closed when Run returns
//	func (c *Client) Run(ctx context.Context) error         // connects, reconnects; returns when ctx ends or on a fatal error
//	func (c *Client) SendMessage(ctx context.Context, to, body string) (store.Message, error)
//	     // stores the message (Pending), sends it when online, returns the stored row
//	func (c *Client) AddContact(ctx context.Context, jid, name string) error  // roster set + subscribe
//	func (c *Client) RemoveContact(ctx context.Context, jid string) error     // roster remove
//	func (c *Client) Approve(ctx context.Context, jid string) error            // subscribed (+ subscribe back)
//	func (c *Client) Deny(ctx context.Context, jid string) error               // unsubscribed
//	func (c *Client) SetPresence(ctx context.Context, show Show, status string) error
//	func (c *Client) Roster(ctx context.Context) ([]store.Contact, error)
//	func (c *Client) Presence(ctx context.Context, bare string) []PresenceEvent // current resources
//	func (c *Client) State() ConnState
//	func (c *Client) UploadService(ctx context.Context) (media.Service, error) // found at login (XEP-0363)
//	func (c *Client) SendFile(ctx context.Context, to, path string, progress FileProgress) (SentFile, error)
//	     // checks, uploads (encrypted when the chat is), then sends the link; cancellable
//	func (c *Client) FetchFile(ctx context.Context, url string, max int64) (*media.Downloaded, error)
