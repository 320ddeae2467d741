package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// indexPending adds the messages above the index's watermark to the
// full-text index: one statement, so FTS5 writes one segment for the lot.
func indexPending(ctx context.Context, q Querier) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO messages_fts (rowid, body)
		SELECT id, body FROM messages WHERE id > (SELECT indexed_upto FROM messages_fts_state)`); err != nil {
		return fmt.Errorf("store: index messages: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE messages_fts_state SET indexed_upto = (SELECT coalesce(max(id), 0) FROM messages)`); err != nil {
		return fmt.Errorf("store: index messages: %w", err)
	}
	return nil
}

// FlushIndex brings the full-text index up to date. The background indexer
// calls it once writes go quiet, and Search before it searches.
func (s *Store) FlushIndex(ctx context.Context) error {
	var pending bool
	if err := s.Q(ctx).QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE id > (SELECT indexed_upto FROM messages_fts_state))`).Scan(&pending); err != nil {
		return fmt.Errorf("store: index messages: %w", err)
	}
	if !pending {
		return nil
	}
	return s.WithTx(ctx, func(ctx context.Context) error { return indexPending(ctx, s.Q(ctx)) })
}

// ftsWords cuts user text into the words FTS5 can match. It returns none
// when text has no such word, or has a script that calls for a substring
// search.
func ftsWords(text string) []string {
	var words []string
	start := -1
	for i, r := range text {
		if isWordRune(r, start >= 0) {
			if unbroken(r) {
				return nil // unicode61 does not split these scripts into words
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
	return words
}

// quote makes s an FTS5 string: whatever it spells, it is a word to look
// for, never an operator ("" stands for a quote inside).
func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ftsQuery turns words into a safe FTS5 query: every word quoted and
// required, the last one also matching as a prefix (so results come while
// a word is being typed). The prefix is given as the indexed words it
// starts (terms), or left to FTS5 when terms is nil.
func ftsQuery(words, terms []string) string {
	parts := make([]string, 0, len(words))
	for _, w := range words[:len(words)-1] {
		parts = append(parts, quote(w))
	}
	last := words[len(words)-1]
	if terms == nil {
		parts = append(parts, quote(last)+"*")
	} else {
		alts := make([]string, len(terms))
		for i, t := range terms {
			alts[i] = quote(t)
		}
		parts = append(parts, "("+strings.Join(alts, " OR ")+")")
	}
	return strings.Join(parts, " AND ")
}

// maxPrefixTerms bounds the expansion of the last word; a shorter prefix
// (say "a") is left to FTS5.
const maxPrefixTerms = 32

// prefixTerms returns the indexed words that start with word, or nil if
// they are too many or word is not ASCII (whose folding only unicode61
// knows; ASCII folding is lowering).
func prefixTerms(ctx context.Context, q Querier, word string) ([]string, error) {
	if !isASCII(word) {
		return nil, nil
	}
	word = strings.ToLower(word)
	rows, err := q.QueryContext(ctx, `SELECT term FROM messages_fts_vocab
		WHERE term >= ? AND term < ? LIMIT ?`, word, word+string(rune(utf8.MaxRune)), maxPrefixTerms+1)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	defer rows.Close()
	terms := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		terms = append(terms, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	if len(terms) > maxPrefixTerms {
		return nil, nil
	}
	return terms, nil
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

// searchScope is where a search looks: one conversation or all of an
// account's.
type searchScope struct {
	conv, acct int64 // one of them is set
}

// where returns the SQL condition on messages m for the scope.
func (sc searchScope) where() (string, any) {
	if sc.conv != 0 {
		return "m.conversation_id = ?", sc.conv
	}
	return "m.account_id = ?", sc.acct
}

func (s *Store) search(ctx context.Context, acct, peer, text string, limit int, snippets bool) ([]Hit, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	if limit <= 0 {
		limit = -1
	}
	var sc searchScope
	if peer == "" {
		id, err := s.accountID(ctx, acct)
		if err != nil || id == 0 {
			return nil, err
		}
		sc.acct = id
	} else {
		c, err := s.conv(ctx, acct, peer)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		sc.conv = c.id
	}
	words := ftsWords(text)
	if len(words) == 0 {
		return s.searchSubstring(ctx, sc, text, limit, snippets)
	}
	if err := s.FlushIndex(ctx); err != nil {
		return nil, err
	}
	db := s.Q(ctx)
	terms, err := prefixTerms(ctx, db, words[len(words)-1])
	if err != nil {
		return nil, err
	}
	if terms != nil && len(terms) == 0 {
		return nil, nil // no indexed word starts with the last one
	}
	q := ftsQuery(words, terms)
	ids, err := s.ftsNewest(ctx, db, sc, q, limit)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	ms, err := queryMessages(ctx, db, nil, "SELECT "+joinedCols+joinedFrom+
		"WHERE m.id IN (SELECT value FROM json_each(?)) ORDER BY m.ts DESC, m.id DESC", idList(ids))
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

// match is a message matching a search, with its place in time order.
type match struct{ id, ts int64 }

// newer orders matches newest first: by time, then by row id.
func newer(a, b match) int {
	if a.ts != b.ts {
		return cmp.Compare(b.ts, a.ts)
	}
	return cmp.Compare(b.id, a.id)
}

// ftsNewest falls back to sorting every match when more than maxLate
// messages are out of order, or the matches among them lie spread over
// more than maxLateMatches.
const (
	maxLate        = 5000
	maxLateMatches = 50000
)

// ftsNewest returns the ids of the newest limit messages in scope matching
// the FTS5 query q, in no particular order.
//
// Sorting every match by time costs in proportion to the matches, and a
// common word matches a good part of the history. FTS5 reads matches in
// row id order cheaply, and row ids follow time closely (messages are
// mostly stored as they arrive), so: take the limit matches with the
// highest ids (set C, the smallest id m, the limit-th newest time T among
// them); a message with a lower id can only be among the newest limit if
// it is newer than T. Those are few — messages stored out of order, such as
// delayed ones — found with the (conversation, ts) index and checked
// against the matches in their id range.
func (s *Store) ftsNewest(ctx context.Context, db Querier, sc searchScope, q string, limit int) ([]int64, error) {
	where, arg := sc.where()
	rows, err := db.QueryContext(ctx, `SELECT m.id, m.ts FROM messages_fts f
		CROSS JOIN messages m ON m.id = f.rowid
		WHERE messages_fts MATCH ? AND `+where+` ORDER BY f.rowid DESC LIMIT ?`, q, arg, limit)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	found, err := scanMatches(rows)
	if err != nil {
		return nil, err
	}
	if limit < 0 || len(found) < limit {
		return matchIDs(found), nil // every match is in
	}
	minID := found[len(found)-1].id
	slices.SortFunc(found, newer)
	threshold := found[limit-1].ts

	late := "SELECT id, ts FROM messages m WHERE conversation_id = ? AND ts > ? AND id < ? LIMIT ?"
	if sc.conv == 0 {
		late = `SELECT id, ts FROM messages m WHERE conversation_id IN
			(SELECT id FROM conversations WHERE account_id = ?) AND ts > ? AND id < ? LIMIT ?`
	}
	rows, err = db.QueryContext(ctx, late, max(sc.conv, sc.acct), threshold, minID, maxLate+1)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	cands, err := scanMatches(rows)
	if err != nil {
		return nil, err
	}
	if len(cands) > maxLate {
		return s.ftsSorted(ctx, db, sc, q, limit)
	}
	if len(cands) > 0 {
		// Which of them match: one pass over the matches in their id range.
		lo := cands[0].id
		for _, c := range cands {
			lo = min(lo, c.id)
		}
		rows, err := db.QueryContext(ctx, `SELECT rowid FROM messages_fts
			WHERE messages_fts MATCH ? AND rowid >= ? AND rowid < ? LIMIT ?`, q, lo, minID, maxLateMatches+1)
		if err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		matched, err := scanIDs(rows)
		if err != nil {
			return nil, err
		}
		if len(matched) > maxLateMatches {
			return s.ftsSorted(ctx, db, sc, q, limit)
		}
		for _, c := range cands {
			if matched[c.id] {
				found = append(found, c)
			}
		}
	}
	slices.SortFunc(found, newer)
	return matchIDs(found[:limit]), nil
}

// ftsSorted is ftsNewest the straightforward way: every match, sorted.
func (s *Store) ftsSorted(ctx context.Context, db Querier, sc searchScope, q string, limit int) ([]int64, error) {
	where, arg := sc.where()
	rows, err := db.QueryContext(ctx, `SELECT m.id, m.ts FROM messages m
		WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?) AND `+where+`
		ORDER BY m.ts DESC, m.id DESC LIMIT ?`, q, arg, limit)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	found, err := scanMatches(rows)
	return matchIDs(found), err
}

func scanMatches(rows *sql.Rows) ([]match, error) {
	defer rows.Close()
	var out []match
	for rows.Next() {
		var m match
		if err := rows.Scan(&m.id, &m.ts); err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return out, nil
}

func scanIDs(rows *sql.Rows) (map[int64]bool, error) {
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return ids, nil
}

func matchIDs(ms []match) []int64 {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	return ids
}

// idList encodes ids as a JSON array, for json_each.
func idList(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
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
func (s *Store) searchSubstring(ctx context.Context, sc searchScope, text string, limit int, snippets bool) ([]Hit, error) {
	where, arg := sc.where()
	args := []any{arg}
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

// Oldest returns the oldest n messages with peer, oldest first: with After,
// a way to walk a whole conversation page by page (an export). The error
// wraps ErrNotFound if there is no conversation with peer.
func (s *Store) Oldest(ctx context.Context, acct, peer string, n int) ([]Message, error) {
	c, err := s.conv(ctx, acct, peer)
	if err != nil || n <= 0 {
		return nil, err
	}
	return queryMessages(ctx, s.Q(ctx), c,
		"SELECT "+msgCols+" FROM messages WHERE conversation_id = ? ORDER BY ts, id LIMIT ?", c.id, n)
}
