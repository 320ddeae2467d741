package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Full-text search (migration 0004): message bodies are indexed by the FTS5
// table messages_fts. User text never reaches FTS5's query syntax: it is cut
// into words here and every word becomes a quoted string, so quotes,
// asterisks, parentheses, column filters and the operators AND, OR, NOT and
// NEAR typed by the user are plain text. Text with no word to index (only
// punctuation) or in scripts written without spaces (Chinese, Japanese,
// Korean, Thai), which unicode61 cannot split into words, is searched as a
// substring instead.

// Hit is a message found by SearchHits, with the part of its body around
// the match.
type Hit struct {
	Message
	// Snippet is an excerpt of the body, one line, with "…" where it was
	// cut; the whole body when short enough.
	Snippet string
}

// snippetWords is how many words SearchHits' excerpts hold.
const snippetWords = 12

// indexPending adds the messages queued by the insert trigger to the
// full-text index: one statement, so FTS5 writes one segment for the lot.
func indexPending(ctx context.Context, q Querier) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO messages_fts (rowid, body)
		SELECT m.id, m.body FROM messages_fts_pending p JOIN messages m ON m.id = p.id`); err != nil {
		return fmt.Errorf("store: index messages: %w", err)
	}
	if _, err := q.ExecContext(ctx, "DELETE FROM messages_fts_pending"); err != nil {
		return fmt.Errorf("store: index messages: %w", err)
	}
	return nil
}

// FlushIndex adds to the full-text index the messages inserted into the
// messages table by other means than AddMessages (test fixtures write rows
// with their own SQL). Search calls it too, so this only moves the work
// ahead of the first search.
func (s *Store) FlushIndex(ctx context.Context) error {
	var pending bool
	if err := s.Q(ctx).QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM messages_fts_pending)").Scan(&pending); err != nil {
		return fmt.Errorf("store: index messages: %w", err)
	}
	if !pending {
		return nil
	}
	return s.WithTx(ctx, func(ctx context.Context) error { return indexPending(ctx, s.Q(ctx)) })
}

// ftsQuery turns user text into a safe FTS5 query: every word quoted, all
// required, the last one also matching as a prefix (so results come while
// a word is being typed). It returns "" when text has no word FTS5 can
// match, which then calls for a substring search.
func ftsQuery(text string) string {
	var words []string
	start := -1
	for i, r := range text {
		if isWordRune(r, start >= 0) {
			if unbroken(r) {
				return "" // unicode61 does not split these scripts into words
			}
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			words = append(words, text[start:i])
			start = -1
		}
	}
	if start >= 0 {
		words = append(words, text[start:])
	}
	if len(words) == 0 {
		return ""
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		// A word holds letters, digits and marks only, never a '"'; quoting
		// makes FTS5 read it as a string, whatever it spells.
		b.WriteByte('"')
		b.WriteString(w)
		b.WriteByte('"')
	}
	b.WriteByte('*')
	return b.String()
}

// isWordRune reports whether r belongs to a word, as unicode61 sees it:
// letters, digits and private-use characters; combining marks only inside
// a word (they are what remove_diacritics strips).
func isWordRune(r rune, inWord bool) bool {
	if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r) {
		return true
	}
	return inWord && unicode.Is(unicode.M, r)
}

// unbroken reports whether r belongs to a script written without spaces
// between words.
func unbroken(r rune) bool {
	return r >= 0x0E00 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana,
		unicode.Hangul, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// Search returns up to limit messages of acct whose body contains the
// words of text, newest first; peer "" searches all conversations. Case and
// accents are ignored ("uber" finds "Über"), the last word may be the
// start of a longer one, and the words may come in any order. Text without
// letters or digits, or in a script written without spaces, is matched as
// a substring instead, ignoring case. limit <= 0 means no limit.
func (s *Store) Search(ctx context.Context, acct, peer, text string, limit int) ([]Message, error) {
	hits, err := s.search(ctx, acct, peer, text, limit, false)
	if err != nil || hits == nil {
		return nil, err
	}
	out := make([]Message, len(hits))
	for i := range hits {
		out[i] = hits[i].Message
	}
	return out, nil
}

// SearchHits is Search returning each message with an excerpt of its body
// around the matched words.
func (s *Store) SearchHits(ctx context.Context, acct, peer, text string, limit int) ([]Hit, error) {
	return s.search(ctx, acct, peer, text, limit, true)
}

func (s *Store) search(ctx context.Context, acct, peer, text string, limit int, snippets bool) ([]Hit, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = -1
	}
	var where string
	var args []any
	if peer == "" {
		id, err := s.accountID(ctx, acct)
		if err != nil || id == 0 {
			return nil, err
		}
		where, args = "m.account_id = ?", []any{id}
	} else {
		c, err := s.conv(ctx, acct, peer)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		where, args = "m.conversation_id = ?", []any{c.id}
	}
	q := ftsQuery(text)
	if q == "" {
		return s.searchSubstring(ctx, where, args, text, limit, snippets)
	}
	if err := s.FlushIndex(ctx); err != nil {
		return nil, err
	}
	args = append([]any{q}, args...)
	args = append(args, limit)
	ms, err := queryMessages(ctx, s.Q(ctx), nil, "SELECT "+joinedCols+joinedFrom+
		"WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?) AND "+where+
		" ORDER BY m.ts DESC, m.id DESC LIMIT ?", args...)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(ms))
	for i := range ms {
		hits[i].Message = ms[i]
	}
	if snippets {
		if err := s.ftsSnippets(ctx, q, hits); err != nil {
			return nil, err
		}
	}
	return hits, nil
}

// ftsSnippets fills the hits' excerpts with FTS5's snippet(), one lookup by
// rowid per hit: asking for them in the search query itself would compute
// one for every match before sorting, not only for the hits kept.
func (s *Store) ftsSnippets(ctx context.Context, q string, hits []Hit) error {
	if len(hits) == 0 {
		return nil
	}
	db := s.Q(ctx)
	const query = `SELECT snippet(messages_fts, 0, '', '', '…', ?) FROM messages_fts
		WHERE messages_fts MATCH ? AND rowid = ?`
	for i := range hits {
		err := db.QueryRowContext(ctx, query, snippetWords, q, hits[i].ID).Scan(&hits[i].Snippet)
		if err != nil {
			return fmt.Errorf("store: search snippet: %w", err)
		}
		hits[i].Snippet = oneLine(hits[i].Snippet)
	}
	return nil
}

// searchSubstring finds messages whose body contains text, ignoring case.
func (s *Store) searchSubstring(ctx context.Context, where string, args []any, text string, limit int, snippets bool) ([]Hit, error) {
	if isASCII(text) {
		// LIKE folds ASCII case natively, which is fast.
		where += ` AND m.body LIKE ? ESCAPE '\'`
		args = append(args, "%"+escapeLike(text)+"%")
	} else {
		where += " AND instr(" + foldFunc + "(m.body), ?) > 0"
		args = append(args, fold(text))
	}
	args = append(args, limit)
	ms, err := queryMessages(ctx, s.Q(ctx), nil, "SELECT "+joinedCols+joinedFrom+"WHERE "+where+
		" ORDER BY m.ts DESC, m.id DESC LIMIT ?", args...)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(ms))
	for i := range ms {
		hits[i].Message = ms[i]
		if snippets {
			hits[i].Snippet = substringSnippet(ms[i].Body, text, snippetWords*6)
		}
	}
	return hits, nil
}

// substringSnippet cuts body to about n runes around the first occurrence
// of text (ignoring case), on one line.
func substringSnippet(body, text string, n int) string {
	body = oneLine(body)
	if utf8.RuneCountInString(body) <= n {
		return body
	}
	runes := []rune(body)
	folded := []rune(fold(body))
	at := 0
	if len(folded) == len(runes) { // folding kept positions: find the match
		if k := strings.Index(string(folded), fold(text)); k >= 0 {
			at = utf8.RuneCountInString(string(folded)[:k])
		}
	}
	from := max(0, at-n/3)
	to := min(len(runes), from+n)
	from = max(0, to-n)
	out := string(runes[from:to])
	if from > 0 {
		out = "…" + out
	}
	if to < len(runes) {
		out += "…"
	}
	return out
}

// oneLine turns line breaks and tabs into spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '\t':
			return ' '
		}
		return r
	}, s)
}

// SearchContext returns message id of acct with up to before messages
// that precede it and up to after that follow it in its conversation,
// oldest first: a search hit shown in its context. The error wraps
// ErrNotFound if acct has no message id.
func (s *Store) SearchContext(ctx context.Context, acct string, id int64, before, after int) ([]Message, error) {
	m, err := s.Message(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Account != acct {
		return nil, notFound("message %d of %s", id, acct)
	}
	out, err := s.Before(ctx, acct, m.Peer, id, before)
	if err != nil {
		return nil, err
	}
	out = append(out, m)
	next, err := s.After(ctx, acct, m.Peer, id, after)
	if err != nil {
		return nil, err
	}
	return append(out, next...), nil
}
